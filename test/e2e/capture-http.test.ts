// Change capture through `logbook capture run` (the HTTP worker, via the SDK) under a concurrent write load on a real
// PostgreSQL application database, with both sides cut mid-load: the worker SIGKILLed and restarted, and Logbook
// SIGKILLed and restarted on the same address. The events read back over HTTP must match exactly what committed.
// Also the CLI's install/status/uninstall exit codes and messages.
import { spawn } from 'node:child_process';
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
import {
  ADMIN_KEY,
  cleanEnv,
  freePort,
  REPO_ROOT,
  type ServeProcess,
  Storage,
  sleep,
} from './support-serve.ts';

const TENANT = 'shop';

/** A `logbook capture run` child process. */
function startWorker(source: string, url: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'packages/cli/src/main.ts',
      'capture',
      'run',
      '--source',
      source,
      '--url',
      url,
      '--key',
      ADMIN_KEY,
      '--tenant',
      TENANT,
      '--poll-ms',
      '50',
      '--batch-size',
      '300',
    ],
    { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe.skipIf(!POSTGRES_AVAILABLE)('change capture over HTTP (logbook capture run)', () => {
  it('install/status/uninstall speak clearly; every committed change arrives exactly once with both sides killed', async () => {
    const app = await createAppDatabase();
    const storage = await Storage.create('sqlite');
    let server: ServeProcess | null = null;
    let worker: ReturnType<typeof startWorker> | null = null;
    const load = new AppLoad(app.url, 5, 10);
    try {
      const installArgs = [
        'capture',
        'install',
        '--source',
        app.url,
        '--tables',
        CAPTURED_TABLES,
        '--exclude-columns',
        EXCLUDED_COLUMNS,
      ];
      const first = await runCli(installArgs);
      expect(first.status, first.output).toBe(0);
      expect(first.output).toMatch(/Capturing public\.accounts, public\.orders, public\.line_items/);
      const again = await runCli(installArgs);
      expect(again.status, again.output).toBe(0);
      const bad = await runCli(['capture', 'install', '--source', app.url, '--tables', 'accounts,nope']);
      expect(bad.status).toBe(2);
      expect(bad.output).toMatch(/there is no table "nope"/);
      const noTables = await runCli(['capture', 'install', '--source', app.url]);
      expect(noTables.status).toBe(2);
      expect(noTables.output).toMatch(/--tables is required/);

      const port = await freePort();
      server = await storage.start({ LOGBOOK_PORT: String(port) });
      const url = server.url;
      // Changes pile up in the outbox before any worker runs; uninstall refuses to throw them away.
      load.start();
      await sleep(1000);
      const pendingRefused = await runCli(['capture', 'uninstall', '--source', app.url]);
      expect(pendingRefused.status, pendingRefused.output).toBe(2);
      expect(pendingRefused.output).toMatch(/holds \d+ change\(s\) not yet delivered.*--force/);
      worker = startWorker(app.url, url);
      await sleep(2000);
      // The worker dies mid-batch (no shutdown at all) and comes back.
      worker.child.kill('SIGKILL');
      await worker.exited;
      worker = startWorker(app.url, url);
      await sleep(2000);
      // Logbook dies; the worker keeps retrying with backoff until it is back on the same address.
      await server.kill();
      await sleep(1000);
      server = await storage.start({ LOGBOOK_PORT: String(port) });
      await sleep(2000);
      await load.stop();
      expect(load.transactions.committed).toBeGreaterThan(50);
      expect(load.transactions.rolledBack).toBeGreaterThan(5);

      const { events, report } = await settledCapture(url, app.url, TENANT, load.committed);
      expect(report, `committed ${load.committed.length} changes, captured ${events.length}`).toEqual(
        EXACT_CAPTURE,
      );
      expect(events.length).toBe(load.committed.length);

      // SIGTERM: the worker finishes its batch and exits 0 with a summary.
      worker.child.kill('SIGTERM');
      expect(await worker.exited).toBe(0);
      expect(worker.output()).toMatch(/event\(s\) delivered/);
      worker = null;

      const status = await runCli(['capture', 'status', '--source', app.url]);
      expect(status.status, status.output).toBe(0);
      expect(status.output).toMatch(/public\.accounts\s+id\s+all but secret\s+recorded\s+no\s+yes/);
      expect(status.output).toMatch(/Outbox: 0 pending; 0 rejected/);
      const removed = await runCli(['capture', 'uninstall', '--source', app.url]);
      expect(removed.status, removed.output).toBe(0);
      expect(removed.output).toMatch(/schema logbook_capture dropped/);
      const after = await runCli(['capture', 'status', '--source', app.url, '--json']);
      expect(JSON.parse(after.output)).toEqual({ installed: false });
      console.log(
        `capture http test: ${load.transactions.committed} transactions committed (${load.committed.length} row changes), ${load.transactions.rolledBack} rolled back`,
      );
    } finally {
      await load.stop();
      worker?.child.kill('SIGKILL');
      if (server) await server.kill();
      await storage.cleanup();
      await app.drop();
    }
  }, 300_000);
});
