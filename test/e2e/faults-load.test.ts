// Overload and misbehaving clients against a real `logbook serve` (SQLite; the queue is the same on both backends):
// back-pressure (a bounded ingest queue answers 503 + Retry-After and the process's memory stays bounded, measured
// from /proc), stalled clients that send half a body and stop (they must not block anyone), and requests exactly at
// and just past each size limit over real HTTP. Nothing refused may be stored; everything acknowledged must be.
import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, postEvents, readAll, type ServeProcess, Storage, sleep } from './support-serve.ts';

/** Resident memory of a process in MiB (Linux /proc), or null elsewhere. */
function rssMiB(pid: number): number | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status);
    return kb ? Number(kb[1]) / 1024 : null;
  } catch {
    return null;
  }
}

const QUEUE_MAX = 2000;
const MAX_BODY = 1024 * 1024;

describe('overload and misbehaving clients (sqlite)', () => {
  it('a full ingest queue answers 503 + Retry-After, memory stays bounded, stalled clients block nobody, size limits are exact', async () => {
    const storage = await Storage.create('sqlite');
    let server: ServeProcess | null = null;
    const stalled: net.Socket[] = [];
    try {
      server = await storage.start({
        LOGBOOK_INGEST_QUEUE_MAX_EVENTS: String(QUEUE_MAX),
        LOGBOOK_MAX_BODY_BYTES: String(MAX_BODY),
      });
      const url = server.url;
      const pid = server.child.pid!;

      // --- Stalled clients: 50 connections each send headers and half a body, then nothing.
      const port = Number(new URL(url).port);
      for (let i = 0; i < 50; i++) {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => {});
        socket.write(
          `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nX-API-Key: ${ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n{"action":"half","actor":{"id":"sl`,
        );
        stalled.push(socket);
      }
      await sleep(200);
      const quick = Date.now();
      const res = await postEvents(url, { id: 'beside-the-stalled', action: 'ok', actor: { id: 'a' } });
      expect(res.status).toBe(201);
      expect(Date.now() - quick, 'a normal write beside 50 stalled uploads').toBeLessThan(5000);

      // --- Back-pressure: 48 clients post 400-event batches as fast as they can for a few seconds.
      await sleep(500);
      const baseline = rssMiB(pid);
      let peak = baseline ?? 0;
      const sampler = setInterval(() => {
        peak = Math.max(peak, rssMiB(pid) ?? 0);
      }, 100);
      let ackedEvents = 0;
      const statuses = new Map<number, number>();
      const refusals: { retryAfter: string | null; code: string }[] = [];
      const until = Date.now() + 6000;
      const client = async (c: number) => {
        for (let n = 0; Date.now() < until; n++) {
          const events = Array.from({ length: 400 }, (_, j) => ({
            action: 'load.test',
            actor: { id: `client-${c}` },
            description: `client ${c} batch ${n} event ${j}`,
            details: { c, n, j, pad: 'x'.repeat(200) },
          }));
          const answer = await postEvents(url, { events });
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 201) {
            ackedEvents += ((await answer.json()) as { events: unknown[] }).events.length;
          } else {
            const body = (await answer.json()) as { error: { code: string } };
            refusals.push({ retryAfter: answer.headers.get('retry-after'), code: body.error.code });
          }
        }
      };
      await Promise.all(Array.from({ length: 48 }, (_, c) => client(c)));
      clearInterval(sampler);
      expect([...statuses.keys()].sort()).toEqual([201, 503]);
      for (const r of refusals) {
        expect(r.code).toBe('SERVICE_UNAVAILABLE');
        expect(r.retryAfter).toBe('1');
      }
      if (baseline !== null) {
        // The queue holds at most QUEUE_MAX events (+ one request); what grows is parsing of in-flight bodies.
        expect(peak - baseline, `RSS grew from ${baseline} to ${peak} MiB`).toBeLessThan(400);
      }

      // Refused batches stored nothing; acknowledged ones are all there (the log was empty but for one event).
      const stored = await readAll(url);
      expect(stored.filter((e) => e.id !== 'beside-the-stalled')).toHaveLength(ackedEvents);
      expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i));

      // --- Size limits over real HTTP: a body of exactly LOGBOOK_MAX_BODY_BYTES is read, one byte more is 413.
      const exact = (size: number) => {
        const head = '{"action":"limit","actor":{"id":"a"},"description":"';
        const tail = '"}';
        return head + 'd'.repeat(size - head.length - tail.length) + tail;
      };
      const post = (body: string) =>
        fetch(`${url}/api/v1/events`, {
          method: 'POST',
          headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
          body,
        });
      const atLimit = await post(exact(MAX_BODY));
      // Read and validated (the description is longer than its own limit): a 400, not a 413.
      expect(atLimit.status).toBe(400);
      expect(((await atLimit.json()) as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
      const over = await post(exact(MAX_BODY + 1));
      expect(over.status).toBe(413);
      expect(((await over.json()) as { error: { message: string } }).error.message).toContain(
        String(MAX_BODY),
      );
      // The largest batch (10 000 events) is one request; 10 001 is a 400 that stores nothing.
      const many = (n: number) => ({
        events: Array.from({ length: n }, () => ({ action: 'b', actor: { id: 'a' } })),
      });
      const sizeBefore = (await readAll(url)).length;
      const big = await fetch(`${url}/api/v1/events`, {
        method: 'POST',
        headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
        body: JSON.stringify(many(10_000)),
      });
      expect(big.status).toBe(201);
      const tooMany = await postEvents(url, many(10_001));
      expect(tooMany.status).toBe(400);
      expect(await tooMany.text()).toContain('10000');
      expect((await readAll(url)).length).toBe(sizeBefore + 10_000);

      // The stalled clients are still open, and the server still serves.
      expect(stalled.filter((s) => !s.destroyed).length).toBeGreaterThan(0);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      console.info(
        `faults-load: queue bound ${QUEUE_MAX} events, 48 clients x 400-event batches for 6 s: ` +
          `${statuses.get(201) ?? 0} accepted (${ackedEvents} events), ${statuses.get(503) ?? 0} refused with 503; ` +
          `RSS ${baseline?.toFixed(0)} -> peak ${peak.toFixed(0)} MiB`,
      );
    } finally {
      for (const s of stalled) s.destroy();
      await server?.kill();
      await storage.cleanup();
    }
  }, 120_000);
});
