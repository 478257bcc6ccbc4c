// The SQLite writer thread (store/sqlite/event-writer.ts), as `logbook serve` runs it: appends on a worker's own
// connection, reads on the store's. What was acknowledged is committed and visible to the reader at once; seqs stay
// gap-free under concurrent groups; idempotency and conflicts behave as in-process; driver errors keep their code
// (so a full disk is still a 507); close() finishes what was sent; and the Merkle state matches the leaves.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { appendLeaf, type EventInput, emptyCompactRange, LogbookError, rootOf } from '@logbook/protocol';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { type PreparedEvent, prepareEvent } from '../src/domain/event.ts';
import { prepareLogEntry } from '../src/domain/log-entry.ts';
import { AppendQueue } from '../src/services/append-queue.ts';
import { storeFailure } from '../src/store/failures.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { AppendResult } from '../src/store/store.ts';
import { watchInFlight } from './support-inflight.ts';
import { loopTurns } from './support-loop.ts';

const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

function event(fields: Partial<EventInput> = {}): PreparedEvent {
  return prepareEvent({ action: 'doc.edit', actor: { id: 'alice' }, ...fields } as EventInput, {
    receivedMs: T0,
  });
}

const rowsOf = (result: AppendResult | undefined) => {
  if (!result?.ok) throw new Error(`refused: ${JSON.stringify(result)}`);
  return result.rows;
};

const dirs: string[] = [];
const stores: SqliteStore[] = [];
async function openStore(): Promise<{ store: SqliteStore; file: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-writer-'));
  dirs.push(dir);
  const file = path.join(dir, 'logbook.db');
  const store = new SqliteStore({ file, writerThread: true });
  stores.push(store);
  await store.migrate();
  return { store, file };
}

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('SQLite writer thread', () => {
  it('commits before answering: every acknowledged event is readable at once, seqs gap-free under concurrency', async () => {
    const { store } = await openStore();
    const groups = await Promise.all(
      Array.from({ length: 20 }, (_, g) =>
        store.appendEvents([
          { events: Array.from({ length: 50 }, (_, i) => event({ description: `g${g} e${i}` })) },
          { events: [event({ tenant: 'other', description: `g${g}` })] },
        ]),
      ),
    );
    const seqs = groups.flatMap((results) => rowsOf(results[0]).map((r) => r.seq));
    expect(seqs.sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect((await store.getTreeHead('default')).range.size).toBe(1000);
    expect((await store.getTreeHead('other')).range.size).toBe(20);
    const newest = await store.listEvents({
      filter: { tenant: 'default', actorId: 'alice' },
      limit: 5,
      order: 'desc',
      includeTotal: true,
    });
    expect(newest.total).toBe(1000);
    // Hashes cross the thread boundary intact: what the reader stores is what the writer answered.
    const [first] = rowsOf(groups[0]![0]);
    const stored = await store.getEventBySeq('default', first!.seq);
    expect(Buffer.from(stored!.leafHash).equals(Buffer.from(first!.leafHash))).toBe(true);
  });

  it('keeps idempotency and per-request conflicts', async () => {
    const { store } = await openStore();
    const [a] = rowsOf((await store.appendEvents([{ events: [event({ id: 'client-1' })] }]))[0]);
    const results = await store.appendEvents([
      { events: [event({ id: 'client-1' })] },
      { events: [event({ id: 'client-1', description: 'changed' })] },
      { events: [event({ id: 'client-2' })] },
    ]);
    expect(rowsOf(results[0])[0]).toMatchObject({ seq: a!.seq, duplicate: true });
    expect(results[1]).toEqual({ ok: false, conflictIndex: 0, id: 'client-1' });
    expect(rowsOf(results[2])[0]).toMatchObject({ seq: 1, duplicate: false });
  });

  it('appends system logs on the same thread, readable at once', async () => {
    const { store } = await openStore();
    const entries = Array.from({ length: 30 }, (_, i) =>
      prepareLogEntry(
        { message: `line ${i}`, level: 'info', service: 'api', timestamp: new Date(T0 + i).toISOString() },
        { receivedMs: T0, field: `body/${i}` },
      ),
    );
    await store.appendLogs(entries);
    expect(await store.logHeadSeq('default')).toBe(29);
    expect(await store.countLogs({ tenant: 'default' })).toBe(30);
  });

  it('a driver error keeps its code across the thread, so the error catalog can classify it', async () => {
    const { store, file } = await openStore();
    await store.appendEvents([{ events: [event()] }]);
    // Break the schema under the writer from another connection: its next append fails inside SQLite.
    const other = new Database(file);
    other.exec('DROP TABLE actor_counts_day');
    other.close();
    const failure = await store.appendEvents([{ events: [event()] }]).then(
      () => null,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    expect((failure as { code?: string }).code).toBe('SQLITE_ERROR');
    expect((failure as Error).message).toMatch(/actor_counts_day/);
    // Nothing of the failed group was committed, and the thread keeps serving.
    expect((await store.getTreeHead('default')).range.size).toBe(1);
    const reader = new Database(file);
    reader.exec(
      'CREATE TABLE actor_counts_day (tenant TEXT NOT NULL, day INTEGER NOT NULL, actor_id TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (tenant, day, actor_id)) STRICT, WITHOUT ROWID',
    );
    reader.close();
    expect(rowsOf((await store.appendEvents([{ events: [event()] }]))[0])[0]!.seq).toBe(1);
  });

  it('rejects appends after close, and close finishes what was sent before it', async () => {
    const { store, file } = await openStore();
    const sent = store.appendEvents([{ events: Array.from({ length: 200 }, () => event()) }]);
    await store.close();
    stores.pop();
    expect(rowsOf((await sent)[0])).toHaveLength(200);
    await expect(store.appendEvents([{ events: [event()] }])).rejects.toThrow();
    const reopened = new SqliteStore({ file });
    expect((await reopened.getTreeHead('default')).range.size).toBe(200);
    await reopened.close();
  });

  it('keeps the Merkle state: the stored range is the RFC 9162 range of the leaves the reader sees', async () => {
    const { store } = await openStore();
    for (let g = 0; g < 5; g++) {
      await store.appendEvents([
        { events: Array.from({ length: 77 }, (_, i) => event({ description: `${i}` })) },
      ]);
    }
    const leaves = (await store.readLog('default', 0, 1000)).map((row) => row.leafHash);
    expect(leaves).toHaveLength(385);
    const expected = leaves.reduce((range, leaf) => appendLeaf(range, leaf).range, emptyCompactRange());
    const head = await store.getTreeHead('default');
    expect(Buffer.from(rootOf(head.range)).equals(Buffer.from(rootOf(expected)))).toBe(true);
  });

  it('the group-commit queue keeps a second group waiting at the thread while one commits, never a third', async () => {
    const { store, file } = await openStore();
    const inline = new SqliteStore({ file: `${file}-inline`, writerThread: false });
    stores.push(inline);
    await inline.migrate();
    for (const [subject, pipelined] of [
      [store, 2],
      [inline, 1],
    ] as const) {
      expect(subject.capabilities.pipelinedCommits).toBe(pipelined);
      // Watch the real store's appends: how many group commits the queue has handed over and not seen answered.
      const appends = watchInFlight(subject, 'appendEvents');
      const queue = new AppendQueue(appends.watched);
      const answers: Promise<AppendResult>[] = [];
      for (let r = 0; r < 12; r++) {
        answers.push(
          queue.submit({
            events: Array.from({ length: 300 }, (_, i) => event({ description: `r${r} e${i}` })),
          }),
        );
        await new Promise((resolve) => setImmediate(resolve)); // one request per turn, as from separate sockets
      }
      const results = await Promise.all(answers);
      await queue.drain();
      expect(appends.most).toBe(pipelined);
      // Submission order is commit order: seqs ascend request by request, without gaps.
      expect(results.flatMap((result) => rowsOf(result).map((row) => row.seq))).toEqual(
        Array.from({ length: 3600 }, (_, i) => i),
      );
    }
  });

  it('a group formed while one commits is as large as that one, and a third never starts even when handed off at once', async () => {
    const { store } = await openStore();
    // Each group the queue hands over: its size, and whether another was in flight when it started.
    const groups: { size: number; overlapping: boolean }[] = [];
    let inFlight = 0;
    const append = store.appendEvents.bind(store);
    store.appendEvents = async (requests, handOff) => {
      groups.push({ size: requests.reduce((n, r) => n + r.events.length, 0), overlapping: inFlight > 0 });
      inFlight++;
      try {
        expect(inFlight).toBeLessThanOrEqual(2);
        return await append(requests, handOff);
      } finally {
        inFlight--;
      }
    };
    const batch = (n: number, tag: string) => ({
      events: Array.from({ length: n }, (_, i) => event({ description: `${tag} e${i}` })),
    });
    const queue = new AppendQueue(store, { maxEventsPerCommit: 1000, maxPendingEvents: 100_000 });
    // Many full groups pending at once: the thread's store hands each off inside appendEvents.
    const answers = Array.from({ length: 8 }, (_, r) => queue.submit(batch(1000, `full ${r}`)));
    await Promise.all(answers);
    await queue.drain();
    // One large request, then small ones one per turn: the second group waits for 600 events' worth.
    groups.length = 0;
    const uneven = [queue.submit(batch(600, 'large'))];
    for (let r = 0; r < 12; r++) {
      await new Promise((resolve) => setImmediate(resolve));
      uneven.push(queue.submit(batch(100, `small ${r}`)));
    }
    await Promise.all(uneven);
    await queue.drain();
    expect(groups[0]).toEqual({ size: 600, overlapping: false });
    expect(groups.some((g) => g.overlapping)).toBe(true);
    for (const g of groups.filter((g) => g.overlapping)) expect(g.size).toBeGreaterThanOrEqual(600);
    expect(groups.reduce((n, g) => n + g.size, 0)).toBe(1800);
  });

  it('allots unique order keys in milliseconds another connection has written to since', async () => {
    const { store, file } = await openStore();
    const other = new SqliteStore({ file, writerThread: false });
    stores.push(other);
    const at = (ms: number) => event({ occurredAt: new Date(T0 + ms).toISOString() });
    await store.appendEvents([{ events: [at(0)] }]);
    await other.appendEvents([{ events: [at(5), at(5)] }]);
    // The thread's own highest key is in T0's millisecond: it must see the other connection's keys at T0 + 5 ms.
    const results = await store.appendEvents([{ events: [at(5), at(6), at(5)] }]);
    expect(rowsOf(results[0])).toHaveLength(3);
    const db = new Database(file, { readonly: true });
    const keys = db
      .prepare('SELECT count(*) AS n, count(DISTINCT order_key) AS distinctKeys FROM events')
      .get();
    db.close();
    expect(keys).toEqual({ n: 6, distinctKeys: 6 });
  });

  it('writes checkpoints and key use on the thread: while another connection holds the lock, the event loop runs on', async () => {
    const { store, file } = await openStore();
    await store.insertApiKey({
      id: 'key-1',
      name: 'ingest',
      prefix: 'lb_test',
      secretHash: new Uint8Array(32).fill(7),
      scopes: ['events:write'],
      tenant: null,
      createdMs: T0,
      expiresMs: null,
      lastUsedMs: null,
      revokedMs: null,
    });
    const [appended] = await store.appendEvents([{ events: [event()] }]);
    const rootHash = rowsOf(appended)[0]!.leafHash;
    // What a group commit on the writer thread does to the main connection: holds the write lock for a while.
    const holder = new Database(file);
    holder.exec('BEGIN IMMEDIATE');
    const turns = loopTurns();
    let settled = false;
    const writes = Promise.all([
      store.saveCheckpoint({
        tenant: 'default',
        treeSize: 1,
        rootHash,
        createdMs: T0,
        note: 'signed note\n',
      }),
      store.touchApiKey('key-1', T0 + 60_000),
    ]).finally(() => {
      settled = true;
    });
    // On the main connection both writes would sleep in SQLite's busy handler, and no turn of the loop would pass
    // until busy_timeout (5 s) ended them with SQLITE_BUSY.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(turns.count).toBeGreaterThan(10);
    expect(settled).toBe(false);
    holder.exec('COMMIT');
    holder.close();
    await writes;
    turns.stop();
    expect(await store.getCheckpoint('default', 1)).toMatchObject({ treeSize: 1, note: 'signed note\n' });
    expect(Buffer.from((await store.getCheckpoint('default', 1))!.rootHash)).toEqual(Buffer.from(rootHash));
    expect((await store.findApiKeyById('key-1'))?.lastUsedMs).toBe(T0 + 60_000);
  });

  it('maps a storage failure from the thread like one from the main thread', () => {
    const crossed = Object.assign(new Error('database or disk is full'), {
      name: 'SqliteError',
      code: 'SQLITE_FULL',
    });
    expect(storeFailure(crossed)).toBeInstanceOf(LogbookError);
    expect(storeFailure(crossed)?.status).toBe(507);
  });
});
