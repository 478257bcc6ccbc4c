// Change capture inside a real `logbook serve` (LOGBOOK_CAPTURE_SOURCE) while a PostgreSQL application database is
// under concurrent write load, with Logbook killed (SIGKILL) and restarted several times mid-load. Afterwards the
// captured events, read back over HTTP, must match the transactions the load saw commit exactly: none missing, none
// duplicated, none from rolled-back transactions, every row's history unbroken; and `logbook verify` passes.
import { describe, expect, it } from 'vitest';
import { POSTGRES_AVAILABLE } from '../../packages/server/test/support-backends.ts';
import {
  AppLoad,
  CAPTURED_TABLES,
  createAppDatabase,
  EXACT_CAPTURE,
  EXCLUDED_COLUMNS,
  runCli,
  settledCapture,
} from './support-capture.ts';
import { type ServeProcess, Storage, sleep } from './support-serve.ts';

const KILLS = Number(process.env.LOGBOOK_CAPTURE_KILLS ?? 3);
const TENANT = 'appdb';

describe.skipIf(!POSTGRES_AVAILABLE)('change capture: Logbook killed mid-load', () => {
  it(`captures every committed change exactly once across ${KILLS} SIGKILLs of logbook serve`, async () => {
    const app = await createAppDatabase();
    const storage = await Storage.create('sqlite');
    let server: ServeProcess | null = null;
    const load = new AppLoad(app.url, 6, 10);
    try {
      const install = await runCli([
        'capture',
        'install',
        '--source',
        app.url,
        '--tables',
        CAPTURED_TABLES,
        '--exclude-columns',
        EXCLUDED_COLUMNS,
      ]);
      expect(install.status, install.output).toBe(0);
      const env = {
        LOGBOOK_CAPTURE_SOURCE: app.url,
        LOGBOOK_CAPTURE_TENANT: TENANT,
        LOGBOOK_CAPTURE_POLL_MS: '50',
        LOGBOOK_CAPTURE_BATCH_SIZE: '200',
      };
      server = await storage.start(env);
      load.start();
      for (let kill = 0; kill < KILLS; kill++) {
        // Let changes flow (and batches be in flight), then cut Logbook off without any shutdown.
        await sleep(1500 + Math.random() * 1500);
        await server.kill();
        await sleep(300);
        server = await storage.start(env);
      }
      await sleep(1500);
      await load.stop();
      expect(load.transactions.committed).toBeGreaterThan(100);
      expect(load.transactions.rolledBack).toBeGreaterThan(10);

      const { events, report } = await settledCapture(server.url, app.url, TENANT, load.committed);
      expect(report, `committed ${load.committed.length} changes, captured ${events.length}`).toEqual(
        EXACT_CAPTURE,
      );
      expect(events.length).toBe(load.committed.length);
      // Both actor sources occur, and the excluded column never reached Logbook.
      expect(events.some((e) => e.actor.type === 'user')).toBe(true);
      expect(events.some((e) => e.actor.type === 'service')).toBe(true);
      expect(JSON.stringify(events)).not.toContain('hunter2');

      const status = await runCli(['capture', 'status', '--source', app.url, '--json']);
      expect(status.status, status.output).toBe(0);
      expect(JSON.parse(status.output)).toMatchObject({ pending: 0, rejected: 0 });
      const stopped = await server.stop();
      expect(stopped.code).toBe(0);
      server = null;
      const verify = await storage.verify();
      expect(verify.status, verify.output).toBe(0);
      console.log(
        `capture crash test: ${load.transactions.committed} transactions committed (${load.committed.length} row changes), ${load.transactions.rolledBack} rolled back, ${load.transactions.failed} failed; ${KILLS} SIGKILLs`,
      );
    } finally {
      await load.stop();
      if (server) await server.kill();
      await storage.cleanup();
      await app.drop();
    }
  }, 300_000);
});
