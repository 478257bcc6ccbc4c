// The system-log side of the store port, on every backend: seqs in arrival order per tenant (the tail's cursor),
// order keys unique even when a computed key is already taken, age-based deletion keeping the rollups right.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareLogEntry } from '../src/domain/log-entry.ts';
import { orderKeyFloor } from '../src/domain/time.ts';
import type { LogStatsRequest } from '../src/query/log-filter.ts';
import { LogService } from '../src/services/logs.ts';
import type { PostgresStore } from '../src/store/postgres/postgres-store.ts';
import { BACKENDS, makeStore, type TestStore } from './support-backends.ts';
import { watchInFlight } from './support-inflight.ts';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);
const entry = (tenant: string, message: string, timestampMs: number, level = 'INFO') =>
  prepareLogEntry(
    { tenant, message, level, service: 'store', timestamp: new Date(timestampMs).toISOString() },
    { receivedMs: Date.now(), field: 'body' },
  );
const stats = (tenant: string): LogStatsRequest => ({
  tenant,
  fromMs: T0 - 86_400_000,
  toMs: T0 + 86_400_000,
  bucket: 'hour',
  top: 10,
});

describe.each(BACKENDS)('log store on %s', (backend) => {
  let s: TestStore;
  beforeAll(async () => {
    s = await makeStore(backend);
  });
  afterAll(async () => {
    await s.cleanup();
  });

  it('seqs count arrivals per tenant from 0, whatever the timestamps; readLogsAfter follows them', async () => {
    const { store } = s;
    expect(await store.logHeadSeq('seqs')).toBe(-1);
    await store.appendLogs([entry('seqs', 'b', T0 + 5000), entry('other', 'x', T0), entry('seqs', 'a', T0)]);
    await store.appendLogs([entry('seqs', 'c', T0 - 3_600_000)]);
    expect(await store.logHeadSeq('seqs')).toBe(2);
    expect(await store.logHeadSeq('other')).toBe(0);
    const after = await store.readLogsAfter('seqs', -1, 10);
    expect(after.map((r) => [r.seq, JSON.parse(r.body).message])).toEqual([
      [0, 'b'],
      [1, 'a'],
      [2, 'c'],
    ]);
    expect((await store.readLogsAfter('seqs', 1, 10)).map((r) => r.seq)).toEqual([2]);
    expect(await store.listLogTenants()).toEqual(expect.arrayContaining(['seqs', 'other']));
  });

  it('many entries in one millisecond keep distinct order keys and list in arrival order', async () => {
    const { store } = s;
    await store.appendLogs(Array.from({ length: 300 }, (_, i) => entry('same-ms', `m${i}`, T0)));
    const page = await store.listLogs({ filter: { tenant: 'same-ms' }, limit: 1000, order: 'asc' });
    expect(page.rows.map((r) => JSON.parse(r.body).message)).toEqual(
      Array.from({ length: 300 }, (_, i) => `m${i}`),
    );
    expect(new Set(page.rows.map((r) => r.orderKey)).size).toBe(300);
  });

  it('two tenants writing in the same millisecond with the same seqs both keep every entry', async () => {
    const { store } = s;
    // On SQLite the order key is one rowid for all tenants: the second tenant's computed keys are taken.
    await store.appendLogs([entry('twin-a', 'a0', T0), entry('twin-a', 'a1', T0)]);
    await store.appendLogs([entry('twin-b', 'b0', T0), entry('twin-b', 'b1', T0), entry('twin-a', 'a2', T0)]);
    for (const [tenant, expected] of [
      ['twin-a', ['a0', 'a1', 'a2']],
      ['twin-b', ['b0', 'b1']],
    ] as const) {
      const page = await store.listLogs({ filter: { tenant }, limit: 10, order: 'asc' });
      expect(page.rows.map((r) => JSON.parse(r.body).message).sort()).toEqual(expected);
      const text = await store.listLogs({
        filter: { tenant, search: [{ phrase: expected[0], prefix: false }] },
        limit: 10,
        order: 'asc',
      });
      expect(text.rows).toHaveLength(1);
    }
  });

  if (backend === 'postgres') {
    it('a computed order key that is taken (same ms, seqs 2^20 apart) falls back to a probed key', async () => {
      const store = s.store as PostgresStore;
      await store.appendLogs([entry('wrap', 'first', T0)]);
      // Jump the tenant's seq so that the next one is 2^20 after the first: the fast key would repeat.
      await store.pool.query("UPDATE log_heads SET seq = 1048575 WHERE tenant = 'wrap'");
      await store.appendLogs([entry('wrap', 'second', T0), entry('wrap', 'third', T0 + 1)]);
      const page = await store.listLogs({ filter: { tenant: 'wrap' }, limit: 10, order: 'asc' });
      expect(page.rows.map((r) => [r.seq, JSON.parse(r.body).message])).toEqual([
        [0, 'first'],
        [1048576, 'second'],
        [1048577, 'third'],
      ]);
    });
  }

  if (backend === 'postgres') {
    it('a large group whose order key is taken is redone after the next group started; both land, seqs gap-free', async () => {
      const store = s.store as PostgresStore;
      await store.appendLogs([entry('wrap-queue', 'first', T0)]);
      await store.pool.query("UPDATE log_heads SET seq = 1048575 WHERE tenant = 'wrap-queue'");
      const appends = watchInFlight(store, 'appendLogs');
      const { queue } = new LogService(appends.watched);
      // The first chunk's first key repeats 'first''s and fails at COPY, after it handed off to the second chunk
      // (whose milliseconds are free, so only the first is redone).
      const first = queue.submit(Array.from({ length: 300 }, (_, i) => entry('wrap-queue', `a${i}`, T0 + i)));
      await new Promise((resolve) => setImmediate(resolve));
      const second = queue.submit(
        Array.from({ length: 300 }, (_, i) => entry('wrap-queue', `b${i}`, T0 + 1000 + i)),
      );
      await Promise.all([first, second]);
      expect(appends.most).toBe(2);
      const rows = await store.readLogsAfter('wrap-queue', -1, 10_000);
      expect(rows.map((r) => r.seq)).toEqual([0, ...Array.from({ length: 600 }, (_, i) => 1_048_576 + i)]);
      const messages = rows.map((r) => JSON.parse(r.body).message as string);
      // Each chunk is one transaction: its entries are contiguous in seq order, whichever committed first.
      const a = Array.from({ length: 300 }, (_, i) => `a${i}`);
      const b = Array.from({ length: 300 }, (_, i) => `b${i}`);
      expect([
        [...a, ...b],
        [...b, ...a],
      ]).toContainEqual(messages.slice(1));
      // The first chunk was redone with a probed key: the one after 'first''s in its millisecond.
      expect(rows.find((r) => JSON.parse(r.body).message === 'a0')!.orderKey).toBe(orderKeyFloor(T0) + 1n);
    });

    it('the log queue starts the next large group once the first has sent its rows; seqs keep submission order', async () => {
      const appends = watchInFlight(s.store as PostgresStore, 'appendLogs');
      const store = s.store as PostgresStore;
      for (const [tenant, perChunk, overlapping] of [
        ['handoff-large', 300, 2],
        ['handoff-small', 20, 1],
      ] as const) {
        appends.reset();
        const { queue } = new LogService(appends.watched);
        const chunks: Promise<void>[] = [];
        for (let c = 0; c < 8; c++) {
          chunks.push(
            queue.submit(Array.from({ length: perChunk }, (_, i) => entry(tenant, `c${c} e${i}`, T0 + i))),
          );
          await new Promise((resolve) => setImmediate(resolve)); // one chunk per turn, as from separate sockets
        }
        await Promise.all(chunks);
        await queue.drain();
        expect(appends.most).toBe(overlapping);
        const rows = await store.readLogsAfter(tenant, -1, 10_000);
        expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 8 * perChunk }, (_, i) => i));
        expect(rows.map((r) => JSON.parse(r.body).message)).toEqual(
          Array.from({ length: 8 }, (_, c) =>
            Array.from({ length: perChunk }, (_, i) => `c${c} e${i}`),
          ).flat(),
        );
      }
    });
  }

  it('deleteLogsBefore removes old entries in bounded steps and keeps stats consistent', async () => {
    const { store } = s;
    const old = Array.from({ length: 7 }, (_, i) => entry('aged', `old ${i}`, T0 - 7_200_000 + i, 'ERROR'));
    await store.appendLogs([
      ...old,
      entry('aged', 'new', T0, 'WARN'),
      entry('keep', 'other tenant', T0 - 7_200_000),
    ]);
    expect((await store.logStats(stats('aged'))).byLevel.get(4)).toBe(7);
    expect(await store.deleteLogsBefore('aged', T0 - 3_600_000, 5)).toBe(5);
    expect(await store.deleteLogsBefore('aged', T0 - 3_600_000, 5)).toBe(2);
    expect(await store.deleteLogsBefore('aged', T0 - 3_600_000, 5)).toBe(0);
    const left = await store.listLogs({ filter: { tenant: 'aged' }, limit: 100, order: 'desc' });
    expect(left.rows.map((r) => JSON.parse(r.body).message)).toEqual(['new']);
    const after = await store.logStats(stats('aged'));
    expect([...after.byLevel]).toEqual([[3, 1]]);
    expect(after.byService).toEqual([{ service: 'store', count: 1 }]);
    // Full text no longer finds them either, and the other tenant is untouched.
    const found = await store.listLogs({
      filter: { tenant: 'aged', search: [{ phrase: 'old', prefix: false }] },
      limit: 10,
      order: 'desc',
    });
    expect(found.rows).toEqual([]);
    expect(
      (await store.listLogs({ filter: { tenant: 'keep' }, limit: 10, order: 'desc' })).rows,
    ).toHaveLength(1);
  });
});
