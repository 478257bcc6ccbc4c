// Live tails over a real listening server, on every backend: a matching write arrives within a second, filters hold,
// Last-Event-ID resumes without loss or repeat, another process's writes arrive by polling, and a client that does
// not read is cut off with a `reconnect` event instead of growing the server's memory.

import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { generateSigningKey } from '@logbook/protocol';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { SYSTEM_PRINCIPAL } from '../src/auth/principal.ts';
import { createServices } from '../src/services/index.ts';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { connectSse, type SseClient } from './support-sse.ts';

describe.each(BACKENDS)('live tail on %s', (backend) => {
  let t: TestApp;
  let base: string;
  const open: SseClient[] = [];
  const tail = async (path: string, headers: Record<string, string> = {}) => {
    const client = await connectSse(`${base}${path}`, { ...t.auth, ...headers });
    open.push(client);
    return client;
  };
  const postLogs = async (entries: unknown[]) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/logs',
      headers: t.auth,
      payload: entries as object,
    });
    expect(res.statusCode, res.body).toBe(201);
    return Date.now();
  };

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await t.close();
  });

  it('logs: a matching entry arrives within 1 s; non-matching ones never do', async () => {
    const client = await tail('/api/v1/logs/tail?service=tail-a&minLevel=WARN');
    expect(client.status).toBe(200);
    expect(client.headers['content-type']).toMatch(/^text\/event-stream/);
    await postLogs([
      { service: 'tail-a', level: 'INFO', message: 'too quiet' },
      { service: 'tail-b', level: 'ERROR', message: 'other service' },
    ]);
    const sent = await postLogs([
      { service: 'tail-a', level: 'ERROR', message: 'the one', details: { n: 1 } },
    ]);
    const [event] = await client.waitFor(1, 2000);
    expect(event!.receivedAt - sent).toBeLessThan(1000);
    expect(JSON.parse(event!.data)).toMatchObject({ service: 'tail-a', level: 'ERROR', message: 'the one' });
    expect(event!.id).toMatch(/^\d+$/);
    await new Promise((r) => setTimeout(r, 700)); // a poll interval: nothing else may come
    expect(client.events).toHaveLength(1);
    client.close();
  });

  it('logs: full-text and trace filters hold on the tail as on the list', async () => {
    const trace = 'aaaabbbbccccddddeeeeffff00001111';
    const client = await tail(`/api/v1/logs/tail?q=${encodeURIComponent('"disk full"')}&level=ERROR,FATAL`);
    const traced = await tail(`/api/v1/logs/tail?traceId=${trace}`);
    await postLogs([
      { level: 'ERROR', message: 'the disk is almost full' },
      { level: 'ERROR', message: 'Disk full on /var', traceId: trace },
      { level: 'WARN', message: 'disk full soon' },
    ]);
    const [hit] = await client.waitFor(1);
    expect(JSON.parse(hit!.data).message).toBe('Disk full on /var');
    const [other] = await traced.waitFor(1);
    expect(JSON.parse(other!.data).traceId).toBe(trace);
    await new Promise((r) => setTimeout(r, 600));
    expect(client.events).toHaveLength(1);
    expect(traced.events).toHaveLength(1);
  });

  it('logs: disconnect, write, reconnect with Last-Event-ID: exactly what was missed, in order', async () => {
    const first = await tail('/api/v1/logs/tail?service=resume');
    await postLogs([{ service: 'resume', message: 'r0' }]);
    const [seen] = await first.waitFor(1);
    first.close();
    await first.ended;
    await postLogs([
      { service: 'resume', message: 'r1' },
      { service: 'other', message: 'not for us' },
    ]);
    await postLogs([
      { service: 'resume', message: 'r2' },
      { service: 'resume', message: 'r3' },
    ]);
    const second = await tail('/api/v1/logs/tail?service=resume', { 'last-event-id': seen!.id! });
    const missed = await second.waitFor(3);
    expect(missed.map((e) => JSON.parse(e.data).message)).toEqual(['r1', 'r2', 'r3']);
    expect(missed.map((e) => Number(e.id))).toEqual(
      [...missed.map((e) => Number(e.id))].sort((a, b) => a - b),
    );
    // Live again after the catch-up.
    await postLogs([{ service: 'resume', message: 'r4' }]);
    const all = await second.waitFor(4);
    expect(JSON.parse(all[3]!.data).message).toBe('r4');
    // The query parameter works too (EventSource cannot set headers on its first connection).
    const third = await tail(`/api/v1/logs/tail?service=resume&follow=false&lastEventId=${all[0]!.id}`);
    await third.ended;
    expect(third.events.map((e) => JSON.parse(e.data).message)).toEqual(['r2', 'r3', 'r4']);
  });

  it('events: a matching event arrives within 1 s; resume with Last-Event-ID', async () => {
    const client = await tail('/api/v1/events/tail?action=tail.*&outcome=failure');
    const post = async (action: string, outcome: string) => {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: t.auth,
        payload: sampleEvent({ action, outcome }),
      });
      expect(res.statusCode).toBe(201);
      return Date.now();
    };
    await post('tail.login', 'success');
    await post('other.login', 'failure');
    const sent = await post('tail.login', 'failure');
    const [event] = await client.waitFor(1, 2000);
    expect(event!.receivedAt - sent).toBeLessThan(1000);
    const data = JSON.parse(event!.data);
    expect(data).toMatchObject({ action: 'tail.login', outcome: 'failure' });
    expect(event!.id).toBe(String(data.seq));
    client.close();
    await post('tail.pay', 'failure');
    await post('tail.refund', 'failure');
    const again = await tail('/api/v1/events/tail?action=tail.*&outcome=failure', {
      'last-event-id': event!.id!,
    });
    expect((await again.waitFor(2)).map((e) => JSON.parse(e.data).action)).toEqual([
      'tail.pay',
      'tail.refund',
    ]);
  });

  it("another process's writes (no in-process notification) arrive by polling within 1 s", async () => {
    // A second set of services over the same store: its commits notify its own hub, never this app's.
    const other = createServices(t.store, { signer: generateSigningKey('logbook.other') });
    const client = await tail('/api/v1/logs/tail?service=elsewhere');
    await new Promise((r) => setTimeout(r, 100));
    await other.logs.append(SYSTEM_PRINCIPAL, [
      { input: { service: 'elsewhere', message: 'from another process' }, field: 'body' },
    ]);
    const sent = Date.now();
    const [event] = await client.waitFor(1, 2000);
    expect(event!.receivedAt - sent).toBeLessThan(1000);
    await other.logs.queue.drain();
  });

  it('bad resume ids and filters are 400s before any stream starts', async () => {
    for (const [path, headers, code] of [
      ['/api/v1/logs/tail', { 'last-event-id': 'abc' }, 'INVALID_CURSOR'],
      ['/api/v1/events/tail', { 'last-event-id': '-5' }, 'INVALID_CURSOR'],
      ['/api/v1/logs/tail?minLevel=LOUD', {}, 'VALIDATION_FAILED'],
      ['/api/v1/logs/tail?limit=5', {}, 'VALIDATION_FAILED'],
      ['/api/v1/events/tail?from=nope', {}, 'INVALID_DATE'],
    ] as const) {
      const client = await tail(path, headers);
      expect(client.status, path).toBe(400);
      expect(JSON.parse(await client.body()).error.code, path).toBe(code);
    }
  });

  describe('a client that does not read', () => {
    let slowApp: FastifyInstance;
    let port: number;
    beforeAll(async () => {
      slowApp = await buildApp({
        store: t.store,
        services: t.services,
        logLevel: 'silent',
        tail: { maxBufferedBytes: 64 * 1024, stallTimeoutMs: 300, heartbeatMs: 100 },
      });
      await slowApp.listen({ port: 0, host: '127.0.0.1' });
      port = (slowApp.server.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await slowApp.close();
    });

    it('is disconnected with a reconnect event naming where to resume, and a reconnect resumes there', async () => {
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      socket.write(
        `GET /api/v1/logs/tail?service=flood HTTP/1.1\r\nHost: x\r\nAuthorization: ${t.auth.authorization}\r\n\r\n`,
      );
      // Read the headers, then stop reading: the kernel buffers fill, then the server's.
      await new Promise((r) => socket.once('data', r));
      socket.pause();
      const big = 'x'.repeat(32 * 1024);
      for (let i = 0; i < 8; i++) {
        await postLogs(
          Array.from({ length: 100 }, (_, j) => ({ service: 'flood', message: `${i * 100 + j} ${big}` })),
        );
      }
      // The server gives up after stallTimeoutMs and closes; then read what it sent.
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      const closed = new Promise((r) => socket.once('close', r));
      await new Promise((r) => setTimeout(r, 1500));
      socket.resume();
      await closed;
      const text = Buffer.concat(chunks).toString('utf8');
      const match = /event: reconnect\r?\ndata: (\{[^\n]*\})/.exec(text);
      expect(match, 'a reconnect event').not.toBeNull();
      const { reason, lastEventId } = JSON.parse(match![1]!);
      expect(reason).toBe('slow-consumer');
      // Fewer than all 800 were sent: the server stopped reading for this client instead of buffering them.
      const sentIds = [...text.matchAll(/\nid: (\d+)\n/g)].map((m) => m[1]);
      expect(sentIds.length).toBeLessThan(800);
      expect(sentIds.at(-1)).toBe(lastEventId);
      // Resuming from there delivers the rest, nothing lost.
      const rest = await tail(`/api/v1/logs/tail?service=flood&follow=false&lastEventId=${lastEventId}`);
      await rest.ended;
      expect(sentIds.length + rest.events.length).toBe(800);
      expect(JSON.parse(rest.events.at(-1)!.data).message).toMatch(/^799 /);
    });
  });
});
