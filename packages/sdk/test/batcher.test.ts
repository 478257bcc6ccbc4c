// The background batcher against a real server: flush by size and by time, the full-queue policy, retries after a
// lost answer and across a real server restart without duplicates, and the Node exit hook.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, freePort, REPO_ROOT, Storage } from '../../../test/e2e/support-serve.ts';
import { BACKENDS } from '../../server/test/support-backends.ts';
import { createClient, type EventInput, type LogbookClient, LogbookQueueFullError } from '../src/index.ts';
import { eventually, lossyProxy, type RunningServer, startServer } from './support.ts';

const count = async (client: LogbookClient, actor: string) =>
  (await client.events.page({ actor, includeTotal: true, limit: 1 })).total ?? 0;

describe.each(BACKENDS)('event batcher (%s)', (backend) => {
  let server: RunningServer;
  let client: LogbookClient;

  beforeAll(async () => {
    server = await startServer(backend);
    client = createClient({ url: server.url, apiKey: server.adminKey });
  });
  afterAll(() => server?.close());

  it('sends a full batch at once, and a partial one only when its time comes (or on flush)', async () => {
    const batcher = client.events.batcher({ maxBatchSize: 10, flushIntervalMs: 60_000 });
    for (let i = 0; i < 10; i++) batcher.add({ action: 'size.flush', actor: { id: 'size' } });
    expect(await eventually(async () => (await count(client, 'size')) === 10)).toBe(true);
    for (let i = 0; i < 3; i++) batcher.add({ action: 'size.flush', actor: { id: 'size' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await count(client, 'size')).toBe(10);
    expect(batcher.pending).toBe(3);
    await batcher.flush();
    expect(await count(client, 'size')).toBe(13);

    const timed = client.events.batcher({ maxBatchSize: 100, flushIntervalMs: 200 });
    const started = Date.now();
    for (let i = 0; i < 4; i++) timed.add({ action: 'time.flush', actor: { id: 'timed' } });
    expect(await eventually(async () => (await count(client, 'timed')) === 4)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    await Promise.all([batcher.close(), timed.close()]);
    expect(timed.stats).toMatchObject({ sent: 4, failed: 0, duplicates: 0 });
  });

  it('refuses new events when full (never drops accepted ones), and reports what it gives up', async () => {
    const given: { error: unknown; events: EventInput[] }[] = [];
    const down = createClient({ url: `http://127.0.0.1:${await freePort()}`, apiKey: 'x' }).events.batcher({
      maxBatchSize: 5,
      maxQueueSize: 12,
      flushIntervalMs: 10,
      retry: { retries: 2, baseDelayMs: 5 },
      onError: (error, events) => given.push({ error, events }),
    });
    for (let i = 0; i < 12; i++) down.add({ action: 'full', actor: { id: 'q' } });
    expect(() => down.add({ action: 'full', actor: { id: 'q' } })).toThrow(LogbookQueueFullError);
    expect(down.stats.rejected).toBe(1);
    await down.close();
    expect(given.reduce((n, g) => n + g.events.length, 0)).toBe(12);
    expect(down.stats.failed).toBe(12);
    expect(() => down.add({ action: 'late', actor: { id: 'q' } })).toThrow(/closed/);
  });

  it('gives up only the events the server refuses, and sends the rest of the batch', async () => {
    const given: EventInput[] = [];
    const batcher = client.events.batcher({
      flushIntervalMs: 60_000,
      onError: (_e, events) => given.push(...events),
    });
    batcher.add({ action: 'partial.ok', actor: { id: 'partial' } });
    // Valid for the schema, refused by the server: details over the byte limit.
    batcher.add({ action: 'partial.bad', actor: { id: 'partial' }, details: { blob: 'x'.repeat(70_000) } });
    batcher.add({ action: 'partial.ok', actor: { id: 'partial' } });
    await batcher.close();
    expect(given.map((e) => e.action)).toEqual(['partial.bad']);
    expect(await count(client, 'partial')).toBe(2);
  });

  it('retries a batch whose answer was lost without storing anything twice', async () => {
    const proxy = await lossyProxy(server.url, {
      dropFirst: 2,
      match: (req) => req.method === 'POST' && req.url === '/api/v1/events',
    });
    try {
      const batcher = createClient({ url: proxy.url, apiKey: server.adminKey }).events.batcher({
        maxBatchSize: 25,
        flushIntervalMs: 20,
        retry: { baseDelayMs: 10 },
      });
      const ids = Array.from({ length: 25 }, () =>
        batcher.add({ action: 'lost.answer', actor: { id: 'lossy' } }),
      );
      await batcher.close();
      expect(proxy.dropped).toBe(2);
      expect(proxy.seen).toBe(3);
      expect(batcher.stats).toMatchObject({ sent: 25, duplicates: 25, retries: 2, failed: 0 });
      const stored = await client.events.list({ actor: 'lossy', limit: 1000 }).toArray();
      expect(stored.map((e) => e.id).sort()).toEqual([...ids].sort());
    } finally {
      await proxy.close();
    }
  });

  it('keeps events across a real server restart and delivers each exactly once', async () => {
    const storage = await Storage.create(backend);
    const port = await freePort();
    let serve = await storage.start({ LOGBOOK_PORT: String(port) });
    try {
      const remote = createClient({ url: serve.url, apiKey: ADMIN_KEY });
      const batcher = remote.events.batcher({
        maxBatchSize: 50,
        flushIntervalMs: 50,
        retry: { retries: 30, baseDelayMs: 50, maxDelayMs: 500 },
      });
      const ids = Array.from({ length: 40 }, () => batcher.add({ action: 'restart', actor: { id: 'r' } }));
      await batcher.flush();
      await serve.stop();
      // While the server is down the events wait in the queue; the batcher keeps retrying.
      for (let i = 0; i < 60; i++) ids.push(batcher.add({ action: 'restart', actor: { id: 'r' } }));
      await new Promise((r) => setTimeout(r, 400));
      expect(batcher.pending).toBe(60);
      serve = await storage.start({ LOGBOOK_PORT: String(port) });
      await batcher.close();
      expect(batcher.stats.failed).toBe(0);
      expect(batcher.stats.retries).toBeGreaterThan(0);
      const stored = await remote.events.list({ actor: 'r', limit: 1000 }).toArray();
      expect(stored.length).toBe(100);
      expect(new Set(stored.map((e) => e.id))).toEqual(new Set(ids));
    } finally {
      await serve.stop();
      await storage.cleanup();
    }
  }, 90_000);

  // The exit hook does not depend on the storage backend: once is enough.
  it.runIf(backend === BACKENDS[0]).each(['natural', 'signal'])(
    'flushOnExit sends queued events when the process ends (%s)',
    async (mode) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          path.join(import.meta.dirname, 'fixtures/exit-child.ts'),
          server.url,
          server.adminKey,
          '7',
          mode,
        ],
        { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        if (mode === 'signal' && out.includes('queued')) child.kill('SIGTERM');
      });
      child.stderr.on('data', (d) => {
        out += d;
      });
      const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      expect(await count(client, `exit-${mode}`), out).toBe(7);
      if (mode === 'signal') expect(exit.signal).toBe('SIGTERM');
      else expect(exit.code).toBe(0);
    },
    30_000,
  );
});
