// A long export must not stall the server (issue 12, soak): over real HTTP on both backends, while a fast client
// downloads a full export, other requests are answered promptly and the event loop is never blocked for long; and a
// client that stops reading makes the server stop reading the store (back-pressure), not buffer the export.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_PAGE_ROWS } from '../src/http/export.ts';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const EVENTS = 30_000;
const BATCH = 1_000;

/** GET `path`; resolves status, newline count and when the response ended. `pause` stops reading after the first chunk. */
function get(
  base: string,
  path: string,
  key: string,
  options: { pause?: (resume: () => void) => void } = {},
): Promise<{ status: number; lines: number; endedAt: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { headers: { 'x-api-key': key } }, (res) => {
      let lines = 0;
      let paused = false;
      res.on('data', (chunk: Buffer) => {
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        if (options.pause && !paused) {
          paused = true;
          res.pause();
          options.pause(() => res.resume());
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, lines, endedAt: performance.now() }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe.each(BACKENDS)('a long export on %s', (backend) => {
  let t: TestApp;
  let base: string;
  let listCalls = 0;

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    for (let b = 0; b < EVENTS / BATCH; b++) {
      const events = Array.from({ length: BATCH }, (_, i) => ({
        action: 'invoice.pay',
        actor: { id: `user-${i % 97}`, name: 'A user with a name' },
        target: { type: 'invoice', id: `inv-${b}-${i}` },
        description: `export fairness event ${b}-${i}: a sentence of ordinary length for an audit event`,
        details: { b, i, note: 'x'.repeat(800) },
      }));
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: t.auth,
        payload: { events },
      });
      expect(res.statusCode).toBe(201);
    }
    // Counts the store reads the export makes; every call still goes to the real store.
    const listEvents = t.store.listEvents.bind(t.store);
    t.store.listEvents = (page) => {
      listCalls++;
      return listEvents(page);
    };
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  }, 180_000);
  afterAll(async () => t?.close());

  it('other requests are answered while it streams, and the event loop is never blocked for long', async () => {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    const exported = get(base, '/api/v1/events/export?format=ndjson&action=invoice.pay', t.adminKey);
    let done = false;
    void exported.finally(() => {
      done = true;
    });
    const probes: { ms: number; duringExport: boolean }[] = [];
    while (!done) {
      const sent = performance.now();
      const probe = await get(base, '/api/v1/events?limit=1', t.adminKey);
      expect(probe.status).toBe(200);
      probes.push({ ms: probe.endedAt - sent, duringExport: !done });
      await new Promise((r) => setTimeout(r, 20));
    }
    loop.disable();
    const result = await exported;
    expect(result.status).toBe(200);
    expect(result.lines).toBe(EVENTS);
    const exportMs = result.endedAt - started;
    const during = probes.filter((p) => p.duringExport);
    const slowest = Math.max(...during.map((p) => p.ms));
    const maxDelayMs = loop.max / 1e6;
    console.log(
      `${backend}: export of ${EVENTS} rows took ${exportMs.toFixed(0)} ms; ${during.length} list requests answered meanwhile, slowest ${slowest.toFixed(0)} ms; event-loop delay max ${maxDelayMs.toFixed(0)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(0)} ms`,
    );
    // A stalled loop answers nothing until the export ends: then there is one probe, as slow as the export.
    expect(during.length).toBeGreaterThanOrEqual(5);
    // Bounds with room for a shared, busy CI machine; a page takes a few ms here.
    expect(slowest).toBeLessThan(Math.max(1_000, exportMs / 4));
    expect(maxDelayMs).toBeLessThan(1_000);
  }, 120_000);

  it('a client that stops reading makes the server stop reading the store; it finishes once the client reads again', async () => {
    let resume: (() => void) | undefined;
    let pausedNow: () => void = () => {};
    const paused = new Promise<void>((r) => {
      pausedNow = r;
    });
    listCalls = 0;
    const finished = get(base, '/api/v1/events/export?format=ndjson&action=invoice.pay', t.adminKey, {
      pause: (go) => {
        resume = go;
        pausedNow();
      },
    });
    await paused;
    // The server reads on until the sockets' buffers (a few MiB on loopback, ~1 KiB a row here) are full, then stops.
    let readWhilePaused = -1;
    for (let waited = 0; waited < 10_000 && listCalls !== readWhilePaused; waited += 1_000) {
      readWhilePaused = listCalls;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(listCalls).toBe(readWhilePaused);
    expect(readWhilePaused * EXPORT_PAGE_ROWS).toBeLessThan(EVENTS / 2);
    resume!();
    expect((await finished).lines).toBe(EVENTS);
    expect(listCalls).toBeGreaterThanOrEqual(EVENTS / EXPORT_PAGE_ROWS);
  }, 120_000);
});
