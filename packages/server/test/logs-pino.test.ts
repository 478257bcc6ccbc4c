// The SDK's pino transport end to end against a real listening server: in a separate process configured as a user
// would (pino.transport({ target: '@logbook/sdk/pino-transport' })) that exits right after logging (everything must
// still arrive), in-process, and through an outage (503s are retried; nothing is lost or doubled).
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import logbookTransport from '@logbook/sdk/pino-transport';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const run = promisify(execFile);
const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'pino-child.ts');

describe.each(BACKENDS)('pino transport on %s', (backend) => {
  let t: TestApp;
  let base: string;
  const search = async (query: string) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/logs?limit=1000&${query}`,
      headers: t.auth,
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().data as Record<string, unknown>[];
  };

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await t.close();
  });

  it('a process that logs through pino.transport and exits at once loses nothing', async () => {
    await run(process.execPath, ['--import', 'tsx', CHILD, base, t.adminKey, '40', 'exit'], {
      cwd: path.dirname(CHILD),
      timeout: 30_000,
    });
    const stored = await search('service=pino-child&order=asc');
    expect(stored).toHaveLength(41);
    expect(stored.filter((e) => e.level === 'INFO').map((e) => e.message)).toEqual(
      Array.from({ length: 40 }, (_, i) => `child line ${i}`),
    );
    const [first] = stored;
    expect(first).toMatchObject({ details: { i: 0, order: { id: 'o-0' }, pid: expect.any(Number) } });
    expect(typeof first!.host).toBe('string');
    const [error] = await search('service=pino-child&level=ERROR');
    expect(error).toMatchObject({
      message: 'child failed once',
      details: { err: { message: 'boom in child' } },
    });
    expect((await search('service=pino-child&q=boom')).map((e) => e.message)).toEqual(['child failed once']);
  });

  it('in-process: levels, trace ids, details; flushed when the logger ends', async () => {
    const stream = await logbookTransport({ url: base, apiKey: t.adminKey, flushIntervalMs: 60_000 });
    const logger = pino({ name: 'in-process', level: 'trace' }, stream);
    logger.trace('t');
    logger.debug('d');
    logger.info({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: 'b7ad6b7169203331' }, 'traced');
    logger.warn('w');
    logger.fatal('f');
    stream.end();
    await new Promise((resolve) => stream.once('close', resolve));
    const stored = await search('service=in-process&order=asc');
    expect(stored.map((e) => [e.level, e.message])).toEqual([
      ['DEBUG', 't'],
      ['DEBUG', 'd'],
      ['INFO', 'traced'],
      ['WARN', 'w'],
      ['FATAL', 'f'],
    ]);
    expect(stored[2]).toMatchObject({
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
    });
  });

  it('retries through an outage (503) without losing or doubling entries', async () => {
    let refused = 0;
    const flaky = http.createServer((req, res) => {
      if (refused < 2) {
        refused += 1;
        req.resume();
        res.writeHead(503, { 'retry-after': '0' }).end('{"error":"down"}');
        return;
      }
      const forward = http.request(
        `${base}${req.url}`,
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    const port = (flaky.address() as AddressInfo).port;
    try {
      const stream = await logbookTransport({
        url: `http://127.0.0.1:${port}`,
        apiKey: t.adminKey,
        service: 'flaky-path',
        batchSize: 10,
        baseDelayMs: 20,
      });
      const logger = pino(stream);
      for (let i = 0; i < 25; i++) logger.info(`flaky ${i}`);
      stream.end();
      await new Promise((resolve) => stream.once('close', resolve));
      expect(refused).toBe(2);
      const stored = await search('service=flaky-path&order=asc');
      expect(stored.map((e) => e.message)).toEqual(Array.from({ length: 25 }, (_, i) => `flaky ${i}`));
    } finally {
      await new Promise((resolve) => flaky.close(resolve));
    }
  });
});
