// The audit-event append of the SQLite adapter: one group of requests in one write transaction (gap-free seqs, Merkle
// nodes, order keys, full-text and key index, rollups, idempotency). Runs on whichever connection owns the writes — the
// store's own, or the writer thread's (event-writer.ts). It never commits: the caller's transaction does.
import { appendLeaf, type CompactRange } from '@logbook/protocol';
import type Database from 'better-sqlite3';
import type { PreparedEvent } from '../../domain/event.ts';
import { ORDER_KEY_COUNTER_BITS, orderKeyFloor } from '../../domain/time.ts';
import { decodeRange, encodeRange } from '../../log/tree-state.ts';
import type { AppendedRow, AppendRequest, AppendResult } from '../store.ts';
import { eventKeyTokens } from './full-text.ts';
import { StatementCache } from './statements.ts';

type SqlParam = string | number | bigint | Buffer | null;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const COUNTER_SPAN = 1n << ORDER_KEY_COUNTER_BITS;

/** An appended row without the bookkeeping fields kept beside it. */
const rowOf = ({ inputDigest: _digest, ...row }: AppendedRow & { inputDigest: Uint8Array }): AppendedRow =>
  row;

/**
 * The first event of a request whose client-chosen id is already taken by different content — stored before, written
 * earlier in this transaction, or earlier in the same request — or null when the whole request can be written.
 */
function findConflict(
  events: PreparedEvent[],
  storedDigest: (event: PreparedEvent) => Uint8Array | null | undefined,
  sameDigest: (stored: Uint8Array | null, digest: Uint8Array) => boolean,
): { conflictIndex: number; id: string } | null {
  const inRequest = new Map<string, Uint8Array>();
  for (const [index, event] of events.entries()) {
    if (!event.inputDigest) continue;
    const key = `${event.tenant}\u0000${event.id}`;
    const earlier = inRequest.get(key);
    const stored = earlier ?? storedDigest(event);
    if (stored !== undefined && !sameDigest(stored, event.inputDigest))
      return { conflictIndex: index, id: event.id };
    if (!earlier) inRequest.set(key, event.inputDigest);
  }
  return null;
}

export class EventAppender {
  private readonly statements: StatementCache;
  /**
   * At least the highest order key in the table while `dataVersion` holds: a key above it needs no probe for the
   * millisecond's next free key, which is most events (they arrive roughly in time order). Only ever too high after
   * a rollback (then it costs probes, never a wrong key); re-read whenever another connection has committed.
   */
  private highestKey: bigint | null = null;
  private dataVersion: number | null = null;

  constructor(db: Database.Database) {
    this.statements = new StatementCache(db);
  }

  private stmt(sql: string, safe = false): Database.Statement {
    return this.statements.get(sql, safe);
  }

  /** Appends every request of a group in the caller's write transaction; nothing is committed here. */
  appendInTransaction(requests: AppendRequest[]): AppendResult[] {
    // Each touched tenant's compact range, advanced in memory and written back once per transaction.
    const ranges = new Map<string, CompactRange>();
    // Rollup rows this transaction adds to, by key: their statement parameters and the count to add.
    const hourCounts = new Map<string, { params: SqlParam[]; count: number }>();
    const actorCounts = new Map<string, { params: SqlParam[]; count: number }>();
    const count = (counts: Map<string, { params: SqlParam[]; count: number }>, params: SqlParam[]): void => {
      const key = JSON.stringify(params); // not a join: ids may hold any character
      const entry = counts.get(key);
      if (entry) entry.count++;
      else counts.set(key, { params, count: 1 });
    };
    const lateTenants = new Set<string>();
    const results: AppendResult[] = [];
    const findById = this.stmt(
      'SELECT seq, leaf_hash, input_digest, occurred_ms, received_ms FROM events WHERE tenant = ? AND id = ?',
    );
    const maxKey = this.stmt(
      'SELECT max(order_key) AS k FROM events WHERE order_key >= ? AND order_key < ?',
      true,
    );
    const highest = this.stmt('SELECT max(order_key) AS k FROM events', true);
    const insert = this.stmt(
      `INSERT INTO events (order_key, tenant, seq, id, occurred_ms, received_ms, action, actor_id, target_type, target_id,
         outcome, ip, body, leaf_hash, input_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertText = this.stmt('INSERT INTO events_fts (rowid, text) VALUES (?, ?)');
    const insertKeys = this.stmt('INSERT INTO events_keys (rowid, keys) VALUES (?, ?)');
    const insertNode = this.stmt('INSERT INTO merkle_nodes (tenant, level, idx, hash) VALUES (?, ?, ?, ?)');
    const tenantState = this.stmt('SELECT size, range_hashes FROM tenant_logs WHERE tenant = ?');

    const rangeOf = (tenant: string): CompactRange => {
      const cached = ranges.get(tenant);
      if (cached) return cached;
      const row = tenantState.get(tenant) as { size: number; range_hashes: Buffer } | undefined;
      return row ? decodeRange(row.size, row.range_hashes) : { size: 0, hashes: [] };
    };

    // PRAGMA data_version moves only when another connection commits; this one holds the write lock from here on.
    // A cached statement: db.pragma() prepares one per call, which a single-event group commit would pay each time.
    const dataVersion = (this.stmt('PRAGMA data_version').get() as { data_version: number }).data_version;
    if (this.highestKey === null || dataVersion !== this.dataVersion) {
      this.highestKey = (highest.get() as { k: bigint | null }).k ?? -1n;
      this.dataVersion = dataVersion;
    }
    // The next free key of each millisecond this transaction wrote to: one index probe per millisecond, not per event,
    // and none for a millisecond above every stored key.
    const nextKeys = new Map<bigint, bigint>();
    const nextOrderKey = (occurredMs: number): bigint => {
      let floor = orderKeyFloor(occurredMs);
      for (;;) {
        let next = nextKeys.get(floor);
        if (next === undefined) {
          const found =
            floor > this.highestKey!
              ? null
              : (maxKey.get(floor, floor + COUNTER_SPAN) as { k: bigint | null }).k;
          next = found === null ? floor : found + 1n;
        }
        if (next < floor + COUNTER_SPAN) {
          nextKeys.set(floor, next + 1n);
          if (next > this.highestKey!) this.highestKey = next;
          return next;
        }
        floor += COUNTER_SPAN; // this millisecond is full: spill into the next one
      }
    };

    // Rows with client-chosen ids: those stored before this transaction (as found) and those written in it.
    type StoredRow = {
      seq: number;
      leaf_hash: Buffer;
      input_digest: Buffer | null;
      occurred_ms: number;
      received_ms: number;
    };
    const found = new Map<string, StoredRow | null>();
    const written = new Map<string, AppendedRow & { inputDigest: Uint8Array }>();
    const keyOf = (event: PreparedEvent) => `${event.tenant}\u0000${event.id}`;
    const storedDigest = (event: PreparedEvent): Uint8Array | null | undefined => {
      const key = keyOf(event);
      const mine = written.get(key);
      if (mine) return mine.inputDigest;
      if (!found.has(key)) found.set(key, (findById.get(event.tenant, event.id) as StoredRow) ?? null);
      const row = found.get(key);
      return row === null ? undefined : (row?.input_digest ?? null);
    };
    const sameDigest = (a: Uint8Array | null, b: Uint8Array) => a !== null && Buffer.compare(a, b) === 0;

    for (const request of requests) {
      // Conflicts are found before anything of the request is written, so a conflicting request is skipped whole and
      // the others commit. No savepoint per request: FTS5 flushes a segment at every savepoint, which cost more than
      // the inserts (docs/storage.md).
      const conflict = findConflict(request.events, storedDigest, sameDigest);
      if (conflict) {
        results.push({ ok: false, ...conflict });
        continue;
      }
      const rows: AppendedRow[] = [];
      for (const event of request.events) {
        if (event.inputDigest) {
          const key = keyOf(event);
          const mine = written.get(key);
          const before = found.get(key);
          if (mine || before) {
            rows.push(
              mine
                ? { ...rowOf(mine), duplicate: true }
                : {
                    id: event.id,
                    tenant: event.tenant,
                    seq: before!.seq,
                    leafHash: before!.leaf_hash,
                    occurredMs: before!.occurred_ms,
                    receivedMs: before!.received_ms,
                    duplicate: true,
                  },
            );
            continue;
          }
        }
        const appended = appendLeaf(rangeOf(event.tenant), event.leafHash);
        ranges.set(event.tenant, appended.range);
        const seq = appended.range.size - 1;
        for (const node of appended.nodes) {
          if (node.level > 0) insertNode.run(event.tenant, node.level, node.index, node.hash);
        }
        const orderKey = nextOrderKey(event.occurredMs);
        insert.run(
          orderKey,
          event.tenant,
          seq,
          event.id,
          event.occurredMs,
          event.receivedMs,
          event.action,
          event.actorId,
          event.targetType,
          event.targetId,
          event.outcome,
          event.ip,
          event.body,
          event.leafHash,
          event.inputDigest,
        );
        insertText.run(orderKey, event.searchText);
        insertKeys.run(orderKey, eventKeyTokens(event));
        count(hourCounts, [
          event.tenant,
          Math.floor(event.occurredMs / HOUR_MS),
          event.action,
          event.targetType ?? '',
        ]);
        const day = Math.floor(event.occurredMs / DAY_MS);
        // Written into a day stats may hold kept sums for (closed-rollups.ts): tell it through the tenant's counter.
        if (day < Math.floor(event.receivedMs / DAY_MS)) lateTenants.add(event.tenant);
        count(actorCounts, [event.tenant, day, event.actorId]);
        const row: AppendedRow = {
          id: event.id,
          tenant: event.tenant,
          seq,
          leafHash: event.leafHash,
          occurredMs: event.occurredMs,
          receivedMs: event.receivedMs,
          duplicate: false,
        };
        if (event.inputDigest) written.set(keyOf(event), { ...row, inputDigest: event.inputDigest });
        rows.push(row);
      }
      results.push({ ok: true, rows });
    }

    const upsertHour = this.stmt(
      `INSERT INTO event_counts_hour (tenant, hour, action, target_type, count) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (tenant, hour, action, target_type) DO UPDATE SET count = count + excluded.count`,
    );
    for (const { params, count } of hourCounts.values()) upsertHour.run(...params, count);
    const upsertActor = this.stmt(
      `INSERT INTO actor_counts_day (tenant, day, actor_id, count) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant, day, actor_id) DO UPDATE SET count = count + excluded.count`,
    );
    for (const { params, count } of actorCounts.values()) upsertActor.run(...params, count);
    // Each tenant's distinct actions, for action prefixes (migration 0010): one row per action, written once.
    const actions = new Map<string, [string, string]>();
    for (const { params } of hourCounts.values()) {
      const [tenant, , action] = params as [string, number, string];
      actions.set(JSON.stringify([tenant, action]), [tenant, action]);
    }
    const noteAction = this.stmt('INSERT OR IGNORE INTO event_actions (tenant, action) VALUES (?, ?)');
    for (const [tenant, action] of actions.values()) noteAction.run(tenant, action);
    const saveState = this.stmt(
      `INSERT INTO tenant_logs (tenant, size, range_hashes, late_appends) VALUES (?, ?, ?, ?)
       ON CONFLICT (tenant) DO UPDATE SET size = excluded.size, range_hashes = excluded.range_hashes,
         late_appends = late_appends + excluded.late_appends`,
    );
    for (const [tenant, range] of ranges) {
      saveState.run(tenant, range.size, encodeRange(range), lateTenants.has(tenant) ? 1 : 0);
    }
    return results;
  }
}
