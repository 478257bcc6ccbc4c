// `logbook serve`: starts the server and owns its lifecycle: SIGINT/SIGTERM stop it cleanly with exit 0.
import { loadConfig, startServer } from '@logbook/server';

export async function serveCommand(): Promise<number> {
  const config = loadConfig();
  const server = await startServer(config);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.log(`Received ${signal}: finishing in-flight requests and closing the database…`);
      server.close().then(
        () => resolve(0),
        (error: unknown) => {
          console.error('logbook: error while stopping:', error);
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}
