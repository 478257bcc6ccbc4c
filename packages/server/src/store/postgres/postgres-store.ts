// The PostgreSQL adapter of the store port: a pg pool shared by any number of Logbook processes. Appends lock their
// tenants' log rows, so each tenant log stays one unforked, gap-free Merkle log whoever writes; payloads live in
// monthly partitions; full text is tsvector + GIN; stats come from rollups. Design notes: docs/postgres.md.
// It never acknowledges an append before COMMIT returned with synchronous_commit on.
import { appendLeaf, type CompactRange, type NodeId, nodeKey } from '@logbook/protocol';
import pg from 'pg';
import type { PreparedEvent } from '../../domain/event.ts';
import { ORDER_KEY_COUNTER_BITS, orderKeyFloor } from '../../domain/time.ts';
import { decodeRange, encodeRange } from '../../log/tree-state.ts';
import {
  BUCKET_MS,
  type EventFilter,
  type EventPageRequest,
  type StatsRequest,
} from '../../query/event-filter.ts';
import { ClosedRollups, last24hParts, statsFromHourly } from '../closed-rollups.ts';
import { storeFailure } from '../failures.ts';
import type {
  ApiKeyRecord,
  AppendedRow,
  AppendRequest,
  AppendResult,
  EventPage,
  IdentityFilter,
  LogBounds,
  LogEntryRow,
  LoginFailureDecision,
  LoginFailureRecord,
  PrunedRange,
  PruneOutcome,
  PruneRequest,
  RedactionTarget,
  StatsResult,
  Store,
  StoreCapabilities,
  StoredCheckpoint,
  StoredEventRow,
  TreeHead,
  UserRecord,
} from '../store.ts';
import { BatchQuery, BinaryRows, copyFrom, HAND_OFF_MIN_ROWS } from './copy-binary.ts';
import { lexemePositions, tsqueryText } from './full-text.ts';
import { PostgresIdentity } from './identity.ts';
import { PostgresLogs } from './logs.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';
import { ensureEventPartitions, msOfKey } from './partitions.ts';
import { listPrunedRanges, pruneEventPartitions } from './pruning.ts';
import { PostgresRetention } from './retention.ts';
import { postgresRollupSource } from './rollup-source.ts';
import { big, bytes, fromPgText, int, int8Param, toPgText } from './values.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const COUNTER_SPAN = 1n << ORDER_KEY_COUNTER_BITS;
/** pg_advisory_lock key that serialises migrations of several processes starting at once ("lbmigr"). */
const MIGRATION_LOCK = 0x6c62_6d69_6772n;
/** Newest rows a full-text page first looks through before it asks the GIN index for every match. */
const SEARCH_WINDOW = 2000;
/** The most rows a second, wider look may walk when the first one found some matches but not a page. */
const SEARCH_WINDOW_MAX = 60_000;
const CHECKPOINT_COLUMNS = 'SELECT tenant, tree_size, root_hash, created_ms, note FROM checkpoints';
/**
 * The payload row of a log-index row `l`, as a LATERAL subquery with LIMIT 1: it cannot be flattened into a join, so
 * it is always one primary-key probe per index row (pruned to one partition at run time). As a plain join on three
 * columns the planner estimated one row and chose a hash join over every partition: 4 s per 10,000 rows at 1M events.
 * A payload whose key or seq no longer matches its leaf is not found, so readers see the gap.
 */
const PAYLOAD_OF_LEAF = (columns: string) =>
  `CROSS JOIN LATERAL (SELECT ${columns} FROM events e
     WHERE e.tenant = l.tenant AND e.order_key = l.order_key AND e.seq = l.seq LIMIT 1) e`;
/** Whether the log-index row `l` lies in a partition retention dropped whole (pruned_ranges, pruning.ts). */
const PRUNED_LEAF = (l: string) =>
  `EXISTS (SELECT 1 FROM pruned_ranges p WHERE p.tenant = ${l}.tenant AND ${l}.order_key >= p.from_key
             AND ${l}.order_key < p.to_key AND ${l}.seq < p.below_seq)`;
/**
 * Leaf hash of a listed row: its copy in the row (0011_event_leaf_hash), or for a row written before that copy existed,
 * looked up in the log index (coalesce evaluates the lookup only then).
 */
const LEAF_OF_ROW = `coalesce(e.leaf_hash, (SELECT l.leaf_hash FROM log_leaves l WHERE l.tenant = e.tenant AND l.seq = e.seq), '\\x'::bytea)`;

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database?… */
  url: string;
  /** Read-only sessions (the verifier): nothing is created or changed. */
  readonly?: boolean;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How often the monthly partitions ahead are checked after migrate(); 0 = only at migrate (default 1 hour). */
  partitionCheckMs?: number;
  /** A connection attempt that gets no answer fails after this long (default 5000): a request never hangs on it. */
  connectTimeoutMs?: number;
  /**
   * A query with no answer fails after this long on the client side (a dead network path never closes the socket),
   * and the server cancels statements running longer (statement_timeout); default 60000, 0 = no limit.
   */
  queryTimeoutMs?: number;
  clock?: () => number;
}

interface CheckpointRowRaw {
  tenant: string;
  tree_size: string;
  root_hash: Buffer;
  created_ms: string;
  note: string;
}

interface EventRowRaw {
  order_key: string;
  seq: string;
  body: string;
  leaf_hash: Buffer;
}

interface LeafRowRaw {
  tenant: string;
  id: string;
  seq: string;
  leaf_hash: Buffer;
  input_digest: Buffer | null;
  occurred_ms: string;
  received_ms: string;
}

/** What a retry of an id must match, and the answer it gets. */
interface KnownId {
  seq: number;
  leafHash: Uint8Array;
  inputDigest: Uint8Array | null;
  occurredMs: number;
  receivedMs: number;
}

const checkpointRow = (raw: CheckpointRowRaw): StoredCheckpoint => ({
  tenant: raw.tenant,
  treeSize: int(raw.tree_size),
  rootHash: raw.root_hash,
  createdMs: int(raw.created_ms),
  note: raw.note,
});

const eventRow = (raw: EventRowRaw): StoredEventRow => ({
  orderKey: big(raw.order_key),
  seq: int(raw.seq),
  body: raw.body,
  leafHash: raw.leaf_hash,
});

const bytesEqual = (a: Uint8Array | null, b: Uint8Array | null): boolean =>
  a !== null && b !== null && Buffer.compare(bytes(a), bytes(b)) === 0;

/** Deadlocks and serialisation failures roll the whole group back; nothing was acknowledged, so it is retried. */
const RETRYABLE = new Set(['40P01', '40001']);
/** "Prepared statement does not exist": the append path stops naming its statements and retries (see appendEvents). */
const STATEMENT_GONE = '26000';
/** The longest timer Node supports (~24.8 days): "no client-side timeout" for one query (0 means the default). */
const MAX_TIMER_MS = 2_147_483_647;

/** Builds numbered parameters ($1, $2, …) next to the SQL text that uses them. */
class Params {
  readonly values: unknown[] = [];
  add(value: unknown, cast = ''): string {
    this.values.push(value);
    return `$${this.values.length}${cast}`;
  }
}

/** Columns the append path COPYs, in the order the rows are encoded (copy-binary.ts). */
const EVENT_COLUMNS = [
  'tenant',
  'order_key',
  'seq',
  'occurred_ms',
  'received_ms',
  'action',
  'actor_id',
  'target_type',
  'target_id',
  'outcome',
  'ip',
  'body',
  'search',
  'leaf_hash',
] as const;
const LEAF_COLUMNS = [
  'tenant',
  'seq',
  'id',
  'order_key',
  'occurred_ms',
  'received_ms',
  'leaf_hash',
  'input_digest',
] as const;
const NODE_COLUMNS = ['tenant', 'level', 'idx', 'hash'] as const;

/** The highest order key of tenant `u.tenant` in millisecond `u.ms` (NULL if none): one primary-key probe. */
const MAX_KEY_IN_MS = `(SELECT max(e.order_key) FROM events e WHERE e.tenant = u.tenant
  AND e.order_key >= u.ms * ${COUNTER_SPAN} AND e.order_key < (u.ms + 1) * ${COUNTER_SPAN})`;

/** An event a group writes, with the seq and order key decided under the tenant lock. */
interface WrittenEvent {
  event: PreparedEvent;
  seq: number;
  orderKey: bigint;
}

export class PostgresStore implements Store {
  readonly capabilities: StoreCapabilities = { name: 'postgres', multiProcess: true, pipelinedCommits: 2 };
  /** The pool, for tests and tools that need SQL the port does not offer (partition maintenance, benchmarks). */
  readonly pool: pg.Pool;
  private readonly identity: PostgresIdentity;
  /** Stats' closed-day sums, kept per process; every call reads the tenant's counters, so other processes' writes count. */
  private readonly rollups: ClosedRollups;
  private readonly clock: () => number;
  /** Append statements are named prepared statements until one turns out gone (appendEvents). */
  private namedStatements = true;
  private partitionTimer: NodeJS.Timeout | null = null;
  private closed: Promise<void> | null = null;

  constructor(private readonly options: PostgresStoreOptions) {
    this.clock = options.clock ?? Date.now;
    // The verifier reads whole logs in long queries: no statement limit there.
    const queryTimeoutMs = options.queryTimeoutMs ?? (options.readonly ? 0 : 60_000);
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      // Acknowledged means durable, whatever the server's default; the verifier's sessions cannot write at all.
      // No JIT: Logbook's queries are short, and a rare search word's row estimate is high enough that PostgreSQL
      // spent 20-80 ms compiling a query that then ran in 13 (docs/postgres.md, "No JIT").
      options: `-c synchronous_commit=on -c jit=off${options.readonly ? ' -c default_transaction_read_only=on' : ''}`,
      application_name: options.readonly ? 'logbook-verify' : 'logbook',
      // Without these a PostgreSQL that stops answering (not refusing) holds every request open indefinitely; with
      // them the caller gets 503 + Retry-After (store/failures.ts) and the pool replaces the connection.
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(queryTimeoutMs > 0
        ? { query_timeout: queryTimeoutMs + 2000, statement_timeout: queryTimeoutMs }
        : {}),
    });
    // An idle connection the server closed (restart, failover) must not crash the process; the next query reports it.
    this.pool.on('error', () => {});
    // A connection that dies while checked out emits 'error' on its client, which the pool does not listen to then:
    // unhandled, it killed the whole process (found by test/e2e/faults-postgres.test.ts). The query in flight
    // rejects with the same error, so the request still gets its 503.
    this.pool.on('connect', (client) => client.on('error', () => {}));
    this.identity = new PostgresIdentity(this.pool);
    this.rollups = new ClosedRollups(postgresRollupSource(this.pool));
  }

  async migrate(): Promise<string[]> {
    const client = await this.pool.connect();
    const applied: string[] = [];
    try {
      // A migration (or waiting for another process's) may take longer than the statement timeout meant for
      // requests: no limit on this session, restored before the connection goes back to the pool.
      await client.query('SET statement_timeout = 0');
      const unbounded = { query_timeout: MAX_TIMER_MS };
      // Several processes may start at once on a fresh database: one migrates, the others wait and find it done.
      await client.query({
        text: 'SELECT pg_advisory_lock($1)',
        values: [int8Param(MIGRATION_LOCK)],
        ...unbounded,
      });
      try {
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_ms bigint NOT NULL)',
        );
        const done = new Set(
          (await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map(
            (r) => r.name,
          ),
        );
        for (const migration of POSTGRES_MIGRATIONS) {
          if (done.has(migration.name)) continue;
          await client.query('BEGIN');
          try {
            await client.query({ text: migration.sql, ...unbounded });
            await client.query('INSERT INTO schema_migrations (name, applied_ms) VALUES ($1, $2)', [
              migration.name,
              this.clock(),
            ]);
            await client.query('COMMIT');
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          }
          applied.push(migration.name);
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [int8Param(MIGRATION_LOCK)]);
      }
    } finally {
      // Back to the pool with the request timeouts again; a connection that cannot even do that is dropped.
      await client.query('RESET statement_timeout').then(
        () => client.release(),
        (error: Error) => client.release(error),
      );
    }
    await ensureEventPartitions(this.pool, this.clock());
    await ensureEventPartitions(this.pool, this.clock(), 'logs');
    this.startPartitionChecks();
    return applied;
  }

  private startPartitionChecks(): void {
    const every = this.options.partitionCheckMs ?? HOUR_MS;
    if (this.partitionTimer || every <= 0 || this.options.readonly) return;
    // A failed check (e.g. a lock timeout behind a long query) is retried at the next tick; until then new rows of
    // a missing month go to the default partition, never fail.
    this.partitionTimer = setInterval(() => {
      ensureEventPartitions(this.pool, this.clock()).catch(() => {});
      ensureEventPartitions(this.pool, this.clock(), 'logs').catch(() => {});
    }, every);
    this.partitionTimer.unref();
  }

  /**
   * Runs `work` in a transaction on one pooled connection; a connection that failed mid-way is discarded. Work that
   * `brackets` itself sends BEGIN and COMMIT with its own statements (one round trip fewer each).
   */
  private async transaction<T>(
    work: (client: pg.PoolClient) => Promise<T>,
    options: { brackets?: boolean } = {},
  ): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      if (!options.brackets) await client.query('BEGIN');
      const result = await work(client);
      if (!options.brackets) await client.query('COMMIT');
      return result;
    } catch (error) {
      // A cut or timed-out connection would make ROLLBACK wait a second timeout: drop the connection instead,
      // which aborts the transaction. Server errors (a SQLSTATE) and our own errors leave a session to roll back.
      const code = (error as { code?: unknown }).code;
      const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code);
      if (sqlState || storeFailure(error) === null) {
        await client.query('ROLLBACK').catch((rollbackError: Error) => {
          broken = rollbackError;
        });
      } else {
        broken = error instanceof Error ? error : new Error(String(error));
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async appendEvents(requests: AppendRequest[], handOff?: () => void): Promise<AppendResult[]> {
    if (requests.every((r) => r.events.length === 0)) return requests.map(() => ({ ok: true, rows: [] }));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction((client) => this.appendInTransaction(client, requests, handOff), {
          brackets: true,
        });
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        // A named statement this connection had prepared is gone: something deallocated it, or a transaction-mode
        // pooler (PgBouncer before 1.21) moved the session to another server connection. Unnamed from here on.
        if (code === STATEMENT_GONE && this.namedStatements) this.namedStatements = false;
        else if (attempt >= 3 || !RETRYABLE.has(code)) throw error;
      }
    }
  }

  /** Name for an append statement (a prepared statement per connection), unless names failed once (appendEvents). */
  private named(name: string): { name?: string } {
    return this.namedStatements ? { name } : {};
  }

  private async appendInTransaction(
    client: pg.PoolClient,
    requests: AppendRequest[],
    handOff?: () => void,
  ): Promise<AppendResult[]> {
    // Two round trips per group, each one query (BatchQuery): steps 1-2 open the transaction, lock and read; 3
    // decides in memory; 4 writes and commits. The event loop also parses HTTP requests and every round trip waits
    // for it, with the tenant rows locked: measured, a round trip cost more than the statements it carried.
    const events = requests.flatMap((r) => r.events);
    const slot = (tenant: string, ms: number) => `${tenant}\u0000${ms}`;
    const idKey = (tenant: string, id: string) => `${tenant}\u0000${id}`;

    // 1. Lock the tenant logs (creating missing ones), always in tenant order so that two processes whose groups
    //    share tenants cannot deadlock. The upsert returns the row as it is after every earlier commit: READ
    //    COMMITTED re-reads a row it had to wait for. From here to COMMIT no other transaction appends to them.
    // 2. In the same query, but as statements of their own (each takes a snapshot after the lock was granted):
    //    - ids that retries may repeat: what is stored under them decides duplicate or conflict;
    //    - what order keys need to know: each tenant's highest key, and for the group's milliseconds at or before
    //      it the highest key used in that millisecond (one index probe each). A millisecond after the tenant's
    //      highest key has none, so events arriving in time order need no probe at all.
    const tenants = [...new Set(events.map((e) => e.tenant))].sort();
    const probes = new Map<string, { t: string; ms: number }>();
    for (const e of events) probes.set(slot(e.tenant, e.occurredMs), { t: e.tenant, ms: e.occurredMs });
    const clientIds = events.filter((e) => e.inputDigest !== null);
    const reading = new BatchQuery([
      'BEGIN',
      {
        ...this.named('logbook_append_lock'),
        text: `INSERT INTO tenant_logs AS t (tenant, size, range_hashes)
               SELECT u, 0, '\\x'::bytea FROM json_array_elements_text($1::json) AS u ORDER BY u COLLATE "C"
               ON CONFLICT (tenant) DO UPDATE SET size = t.size
               RETURNING t.tenant, t.size, t.range_hashes`,
        values: [JSON.stringify(tenants)],
      },
      // A leaf whose partition retention dropped keeps its row untouched (no update, no dead tuple), digest
      // included; like a redacted one (whose digest is cleared) it must not match a retry: the id is taken (409).
      ...(clientIds.length > 0
        ? [
            {
              ...this.named('logbook_append_ids'),
              text: `SELECT l.tenant, l.id, l.seq, l.leaf_hash, l.occurred_ms, l.received_ms,
                            CASE WHEN ${PRUNED_LEAF('l')} THEN NULL ELSE l.input_digest END AS input_digest
                       FROM json_to_recordset($1::json) AS u(t text, i text)
                       JOIN log_leaves l ON l.tenant = u.t AND l.id = u.i`,
              values: [JSON.stringify(clientIds.map((e) => ({ t: e.tenant, i: toPgText(e.id) })))],
            },
          ]
        : []),
      {
        ...this.named('logbook_append_maxima'),
        text: `WITH top AS (
                 SELECT t AS tenant, (SELECT max(e.order_key) FROM events e WHERE e.tenant = t) AS k
                   FROM json_array_elements_text($1::json) AS t
               )
               SELECT tenant, NULL::int8 AS ms, k FROM top
               UNION ALL
               SELECT u.tenant, u.ms, ${MAX_KEY_IN_MS}
                 FROM (SELECT p.t AS tenant, p.ms FROM json_to_recordset($2::json) AS p(t text, ms int8)
                         JOIN top ON top.tenant = p.t WHERE p.ms * ${COUNTER_SPAN} <= top.k) u`,
        values: [JSON.stringify(tenants), JSON.stringify([...probes.values()])],
      },
    ]).start(client);
    const answers = await reading;
    const locked = answers[0] as { tenant: string; size: string; range_hashes: Buffer }[];
    const found = (clientIds.length > 0 ? answers[1] : []) as unknown as LeafRowRaw[];
    const maxima = answers[answers.length - 1] as { tenant: string; ms: string | null; k: string | null }[];

    const ranges = new Map<string, CompactRange>();
    for (const row of locked) ranges.set(row.tenant, decodeRange(int(row.size), row.range_hashes));
    const known = new Map<string, KnownId>();
    for (const row of found) {
      known.set(idKey(row.tenant, fromPgText(row.id)), {
        seq: int(row.seq),
        leafHash: row.leaf_hash,
        inputDigest: row.input_digest,
        occurredMs: int(row.occurred_ms),
        receivedMs: int(row.received_ms),
      });
    }
    const nextKeys = new Map<string, bigint>();
    const topMs = new Map<string, number>();
    const setMaxima = (rows: { tenant: string; ms: string | null; k: string | null }[]) => {
      for (const row of rows) {
        if (row.ms === null) {
          if (row.k !== null) topMs.set(row.tenant, msOfKey(big(row.k)));
        } else {
          const ms = int(row.ms);
          nextKeys.set(slot(row.tenant, ms), row.k === null ? orderKeyFloor(ms) : big(row.k) + 1n);
        }
      }
    };
    setMaxima(maxima);
    /** The next free key of a tenant at or after a millisecond; a full millisecond spills into the next. */
    const allocate = async (tenant: string, occurredMs: number): Promise<bigint> => {
      for (let ms = occurredMs; ; ms++) {
        const key = slot(tenant, ms);
        if (!nextKeys.has(key)) {
          const top = topMs.get(tenant);
          if (top === undefined || ms > top) nextKeys.set(key, orderKeyFloor(ms));
          else {
            const { rows } = await client.query<{ tenant: string; ms: string; k: string | null }>(
              `SELECT u.tenant, u.ms, ${MAX_KEY_IN_MS} AS k FROM (SELECT $1::text AS tenant, $2::int8 AS ms) u`,
              [tenant, ms],
            );
            setMaxima(rows);
          }
        }
        const next = nextKeys.get(key)!;
        if (next < orderKeyFloor(ms + 1)) {
          nextKeys.set(key, next + 1n);
          return next;
        }
      }
    };

    // 3. Decide every request in memory, in order. A request whose id conflicts is dropped whole (its tentative
    //    leaves undone) before anything is written, so it cannot affect the others: the effect of a savepoint
    //    per request, without a round trip per request.
    const written: WrittenEvent[] = [];
    const nodes = new BinaryRows();
    const hourCounts = new Map<string, { t: string; h: number; a: string; tt: string; n: number }>();
    const actorCounts = new Map<string, { t: string; d: number; ac: string; n: number }>();
    // Tenants written into a day stats may hold kept sums for (store/closed-rollups.ts): their counter moves.
    const lateTenants = new Set<string>();
    const results: AppendResult[] = [];
    for (const request of requests) {
      const rangesBefore = new Map(ranges);
      const added: string[] = [];
      const mine: WrittenEvent[] = [];
      const myNodes: { tenant: string; level: number; index: number; hash: Uint8Array }[] = [];
      const rows: AppendedRow[] = [];
      let conflict: { conflictIndex: number; id: string } | null = null;
      for (const [index, event] of request.events.entries()) {
        // Only a client-chosen id can repeat (a server-made one is a fresh UUIDv7): only those are looked up and
        // remembered for later requests of the group.
        const key = event.inputDigest ? idKey(event.tenant, event.id) : null;
        if (key !== null) {
          const existing = known.get(key);
          if (existing) {
            if (!bytesEqual(existing.inputDigest, event.inputDigest)) {
              conflict = { conflictIndex: index, id: event.id };
              break;
            }
            rows.push({
              id: event.id,
              tenant: event.tenant,
              seq: existing.seq,
              leafHash: existing.leafHash,
              occurredMs: existing.occurredMs,
              receivedMs: existing.receivedMs,
              duplicate: true,
            });
            continue;
          }
        }
        const appended = appendLeaf(ranges.get(event.tenant)!, event.leafHash);
        ranges.set(event.tenant, appended.range);
        const seq = appended.range.size - 1;
        for (const node of appended.nodes) {
          if (node.level > 0) myNodes.push({ tenant: event.tenant, ...node });
        }
        mine.push({ event, seq, orderKey: await allocate(event.tenant, event.occurredMs) });
        if (key !== null) {
          known.set(key, {
            seq,
            leafHash: event.leafHash,
            inputDigest: event.inputDigest,
            occurredMs: event.occurredMs,
            receivedMs: event.receivedMs,
          });
          added.push(key);
        }
        rows.push({
          id: event.id,
          tenant: event.tenant,
          seq,
          leafHash: event.leafHash,
          occurredMs: event.occurredMs,
          receivedMs: event.receivedMs,
          duplicate: false,
        });
      }
      if (conflict) {
        ranges.clear();
        for (const [tenant, range] of rangesBefore) ranges.set(tenant, range);
        for (const key of added) known.delete(key);
        results.push({ ok: false, ...conflict });
        continue;
      }
      for (const w of mine) written.push(w);
      for (const n of myNodes) nodes.row(4).text(n.tenant).int2(n.level).int8(n.index).bytea(n.hash);
      for (const { event } of mine) {
        const action = toPgText(event.action);
        const hour = Math.floor(event.occurredMs / HOUR_MS);
        const targetType = toPgText(event.targetType) ?? '';
        const h = `${event.tenant}\u0000${hour}\u0000${action}\u0000${targetType}`;
        const hc = hourCounts.get(h);
        if (hc) hc.n += 1;
        else hourCounts.set(h, { t: event.tenant, h: hour, a: action, tt: targetType, n: 1 });
        const actorId = toPgText(event.actorId);
        const day = Math.floor(event.occurredMs / DAY_MS);
        if (day < Math.floor(event.receivedMs / DAY_MS)) lateTenants.add(event.tenant);
        const a = `${event.tenant}\u0000${day}\u0000${actorId}`;
        const ac = actorCounts.get(a);
        if (ac) ac.n += 1;
        else actorCounts.set(a, { t: event.tenant, d: day, ac: actorId, n: 1 });
      }
      results.push({ ok: true, rows });
    }
    if (written.length === 0) {
      await client.query('COMMIT');
      return results;
    }

    const writtenTenants = new Set(written.map((w) => w.event.tenant));

    // 4. Rollups and tenant log heads (one statement, JSON parameters: a row per hour/action and per day/actor),
    //    the payloads, the log index and the Merkle nodes as binary COPY (no SQL text or JSON for PostgreSQL to
    //    parse, the tsvector in its binary form), and COMMIT: one round trip. Rows leave as they are encoded, so
    //    PostgreSQL inserts the first ones while Node encodes the rest.
    const heads = [...ranges]
      .filter(([tenant]) => writtenTenants.has(tenant))
      .map(([t, range]) => ({
        t,
        s: range.size,
        r: encodeRange(range).toString('hex'),
        l: lateTenants.has(t) ? 1 : 0,
      }));
    const write = new BatchQuery([
      {
        ...this.named('logbook_append_write'),
        text: `WITH hc AS (
                 INSERT INTO event_counts_hour AS x (tenant, hour, action, target_type, count)
                 SELECT t, h, a, tt, n FROM json_to_recordset($1::json) AS c(t text, h int4, a text, tt text, n int8)
                 ON CONFLICT (tenant, hour, action, target_type) DO UPDATE SET count = x.count + excluded.count
               ), ac AS (
                 INSERT INTO actor_counts_day AS x (tenant, day, actor_id, count)
                 SELECT t, d, ac, n FROM json_to_recordset($2::json) AS c(t text, d int4, ac text, n int8)
                 ON CONFLICT (tenant, day, actor_id) DO UPDATE SET count = x.count + excluded.count
               )
               UPDATE tenant_logs l SET size = u.s, range_hashes = decode(u.r, 'hex'), late_appends = l.late_appends + u.l
                 FROM json_to_recordset($3::json) AS u(t text, s int8, r text, l int8)
                WHERE l.tenant = u.t`,
        values: [
          JSON.stringify([...hourCounts.values()]),
          JSON.stringify([...actorCounts.values()]),
          JSON.stringify(heads),
        ],
      },
      copyFrom('events', EVENT_COLUMNS),
      copyFrom('log_leaves', LEAF_COLUMNS),
      ...(nodes.count > 0 ? [copyFrom('merkle_nodes', NODE_COLUMNS)] : []),
      'COMMIT',
    ]);
    const committed = write.stream(client, (send) => {
      const payloads = new BinaryRows(send);
      for (const { event: e, seq, orderKey } of written) {
        payloads
          .row(EVENT_COLUMNS.length)
          .text(e.tenant)
          .int8(orderKey)
          .int8(seq)
          .int8(e.occurredMs)
          .int8(e.receivedMs)
          .text(toPgText(e.action))
          .text(toPgText(e.actorId))
          .text(toPgText(e.targetType))
          .text(toPgText(e.targetId))
          .text(e.outcome)
          .text(toPgText(e.ip))
          .text(e.body)
          .tsvector(lexemePositions(e.searchText))
          .bytea(e.leafHash);
      }
      payloads.end();
      const leaves = new BinaryRows(send);
      for (const { event: e, seq, orderKey } of written) {
        leaves
          .row(LEAF_COLUMNS.length)
          .text(e.tenant)
          .int8(seq)
          .text(toPgText(e.id))
          .int8(orderKey)
          .int8(e.occurredMs)
          .int8(e.receivedMs)
          .bytea(e.leafHash)
          .bytea(e.inputDigest);
      }
      leaves.end();
      if (nodes.count > 0) for (const message of nodes.end()) send(message);
    });
    // Everything up to COMMIT is sent and the tenant rows stay locked until it. The next group may form now: its
    // lock waits inside PostgreSQL and is granted the moment this one commits, instead of after the event loop has
    // read this commit, answered its requests and gathered the next group (~60 ms per group of 2,000 measured).
    // Small groups keep waiting: what fills them is the requests answered by this commit, and splitting them only
    // adds transactions (each with its fixed cost and fsync).
    if (written.length >= HAND_OFF_MIN_ROWS) handOff?.();
    await committed;
    return results;
  }

  async pendingMigrations(): Promise<string[]> {
    const { rows } = await this.pool
      .query<{ name: string }>('SELECT name FROM schema_migrations')
      .catch((error: { code?: string }) => {
        if (error.code === '42P01') return { rows: [] }; // no schema_migrations: nothing applied
        throw error;
      });
    const applied = new Set(rows.map((r) => r.name));
    return POSTGRES_MIGRATIONS.map((m) => m.name).filter((name) => !applied.has(name));
  }

  async getEvent(tenant: string, id: string): Promise<StoredEventRow | null> {
    const { rows } = await this.pool.query<EventRowRaw>(
      `SELECT l.order_key, l.seq, e.body, l.leaf_hash FROM log_leaves l ${PAYLOAD_OF_LEAF('e.body')}
        WHERE l.tenant = $1 AND l.id = $2`,
      [tenant, toPgText(id)],
    );
    return rows[0] ? eventRow(rows[0]) : null;
  }

  /** WHERE conditions on `events e` for a filter (without full text), the time bounds and the cursor. */
  private conditions(
    p: Params,
    filter: EventFilter,
    order: 'asc' | 'desc',
    after: bigint | undefined,
  ): string {
    const sql = [`e.tenant = ${p.add(filter.tenant)}`];
    if (filter.actorId !== undefined) sql.push(`e.actor_id = ${p.add(toPgText(filter.actorId))}`);
    if (filter.actions) {
      const alternatives: string[] = [];
      if (filter.actions.exact.length > 0) {
        alternatives.push(
          `e.action = ANY(${p.add(
            filter.actions.exact.map((a) => toPgText(a)),
            '::text[]',
          )})`,
        );
      }
      for (const prefix of filter.actions.prefixes) {
        // Under COLLATE "C", "starts with p" is the index range [p, p + U+10FFFF).
        const low = toPgText(prefix);
        alternatives.push(`(e.action >= ${p.add(low)} AND e.action < ${p.add(`${low}\u{10FFFF}`)})`);
      }
      sql.push(`(${alternatives.join(' OR ')})`);
    }
    for (const [column, value] of [
      ['e.target_type', filter.targetType],
      ['e.target_id', filter.targetId],
      ['e.outcome', filter.outcome],
      ['e.ip', filter.ip],
    ] as const) {
      if (value !== undefined) sql.push(`${column} = ${p.add(toPgText(value))}`);
    }
    if (filter.fromMs !== undefined)
      sql.push(`e.order_key >= ${p.add(int8Param(orderKeyFloor(filter.fromMs)))}::int8`);
    if (filter.toMs !== undefined)
      sql.push(`e.order_key < ${p.add(int8Param(orderKeyFloor(filter.toMs)))}::int8`);
    if (after !== undefined)
      sql.push(`e.order_key ${order === 'desc' ? '<' : '>'} ${p.add(int8Param(after))}::int8`);
    return sql.join(' AND ');
  }

  async listEvents(page: EventPageRequest): Promise<EventPage> {
    const { filter, order, after } = page;
    const limit = page.limit + 1;
    let raws: EventRowRaw[];
    if (filter.search) {
      const query = tsqueryText(filter.search);
      raws = query === null ? [] : await this.searchPage(filter, order, after, query, limit);
    } else {
      const p = new Params();
      const where = this.conditions(p, filter, order, after);
      raws = (
        await this.pool.query<EventRowRaw>(
          `SELECT e.order_key, e.seq, e.body, ${LEAF_OF_ROW} AS leaf_hash
             FROM (SELECT tenant, order_key, seq, body, leaf_hash FROM events e WHERE ${where}
                   ORDER BY e.order_key ${order} LIMIT ${p.add(limit)}) e
            ORDER BY e.order_key ${order}`,
          p.values,
        )
      ).rows;
    }
    const more = raws.length > page.limit;
    const rows = raws.slice(0, page.limit).map(eventRow);
    return {
      rows,
      lastOrderKey: more ? rows[rows.length - 1]!.orderKey : null,
      ...(page.includeTotal ? { total: await this.countEvents(filter) } : {}),
    };
  }

  /**
   * A page of full-text matches in time order. No single plan is good for every word: walking the newest rows and
   * testing each is fast when matches are common, and reads the whole table when they are rare (docs/postgres.md:
   * "rare term, newest 50" took seconds); asking the GIN index for every match first is fast when they are rare and
   * slow when they are common (a phrase of two common words rechecks every row holding both). So: look through the
   * newest SEARCH_WINDOW rows; if that fills the page, done. If it found some matches, their density says how far a
   * second walk must go: walk that far (up to SEARCH_WINDOW_MAX). Otherwise the matches are rare: the GIN index finds
   * them all first (a MATERIALIZED CTE the planner cannot turn back into a walk) and only those are sorted.
   */
  private async searchPage(
    filter: EventFilter,
    order: 'asc' | 'desc',
    after: bigint | undefined,
    query: string,
    limit: number,
  ): Promise<EventRowRaw[]> {
    const walk = async (window: number) => {
      const w = new Params();
      const where = this.conditions(w, filter, order, after);
      const { rows } = await this.pool.query<EventRowRaw>(
        `SELECT e.order_key, e.seq, e.body, ${LEAF_OF_ROW} AS leaf_hash
           FROM (SELECT tenant, order_key, seq, body, leaf_hash, search FROM events e WHERE ${where}
                 ORDER BY e.order_key ${order} LIMIT ${w.add(window)}) e
          WHERE e.search @@ ${w.add(query)}::tsquery
          ORDER BY e.order_key ${order} LIMIT ${w.add(limit)}`,
        w.values,
      );
      return rows;
    };
    // A walk that fills the page is the answer; one that does not may simply have reached the end of the rows, and
    // then the GIN step below returns the same rows (cheaply: few rows).
    const first = await walk(SEARCH_WINDOW);
    if (first.length >= limit) return first;
    if (first.length >= 3) {
      const needed = Math.ceil(((SEARCH_WINDOW * limit) / first.length) * 1.5);
      if (needed <= SEARCH_WINDOW_MAX) {
        const second = await walk(needed);
        if (second.length >= limit) return second;
      }
    }
    const p = new Params();
    const where = this.conditions(p, filter, order, after);
    return (
      await this.pool.query<EventRowRaw>(
        `WITH matches AS MATERIALIZED (
           SELECT e.order_key FROM events e WHERE ${where} AND e.search @@ ${p.add(query)}::tsquery
         ), page AS MATERIALIZED (
           SELECT order_key FROM matches ORDER BY order_key ${order} LIMIT ${p.add(limit)}
         )
         SELECT page.order_key, e.seq, e.body, ${LEAF_OF_ROW} AS leaf_hash
           FROM page CROSS JOIN LATERAL (
             SELECT tenant, seq, body, leaf_hash FROM events e WHERE e.tenant = $1 AND e.order_key = page.order_key LIMIT 1
           ) e
          ORDER BY page.order_key ${order}`,
        p.values,
      )
    ).rows;
  }

  async countEvents(filter: EventFilter): Promise<number> {
    if (Object.keys(filter).length === 1) return this.logSize(filter.tenant);
    const p = new Params();
    let where = this.conditions(p, filter, 'desc', undefined);
    if (filter.search) {
      const query = tsqueryText(filter.search);
      if (query === null) return 0;
      where += ` AND e.search @@ ${p.add(query)}::tsquery`;
    }
    const { rows } = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM events e WHERE ${where}`,
      p.values,
    );
    return int(rows[0]!.n);
  }

  /** Live (not redacted) events of a tenant, from its log row. */
  private async logSize(tenant: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: string }>(
      'SELECT size - redacted AS n FROM tenant_logs WHERE tenant = $1',
      [tenant],
    );
    return rows[0] ? int(rows[0].n) : 0;
  }

  async eventStats(request: StatsRequest): Promise<StatsResult> {
    const { tenant } = request;
    // last24h: rollup hours and the events of the partial hours' shorter sides (last24hParts), in one statement so
    // that both are read from one snapshot (a rollup read before an append and a count after it would disagree).
    const parts = last24hParts(request.nowMs);
    const p = new Params();
    const tenantParam = p.add(tenant);
    const eventsIn = ([fromMs, toMs]: [number, number]) =>
      `(SELECT count(*) FROM events WHERE tenant = ${tenantParam}
          AND order_key >= ${p.add(int8Param(orderKeyFloor(fromMs)))}::int8
          AND order_key < ${p.add(int8Param(orderKeyFloor(toMs)))}::int8)`;
    const last24hSql = `SELECT (SELECT coalesce(sum(count), 0) FROM event_counts_hour
        WHERE tenant = ${tenantParam} AND hour >= ${p.add(parts.fromHour)} AND hour < ${p.add(parts.toHour)})
      ${parts.add.map((range) => `+ ${eventsIn(range)}`).join(' ')}
      ${parts.subtract.map((range) => `- ${eventsIn(range)}`).join(' ')} AS n`;

    // By action, by target type, the histogram and top actors: closed days' sums kept between calls, today's read
    // (store/closed-rollups.ts). Summed from scratch, 30 days of 10,000 daily actors are 300,000 rollup rows per call.
    const [total, last24h, { hourly, topActors }] = await Promise.all([
      this.logSize(tenant),
      this.pool.query<{ n: string }>(last24hSql, p.values).then((r) => int(r.rows[0]!.n)),
      this.rollups.window(tenant, request.fromMs, request.toMs, request.nowMs, request.top),
    ]);
    return {
      total,
      last24h,
      ...statsFromHourly(hourly, BUCKET_MS[request.bucket]),
      // Ranked as stored (the "C" order of the escaped text, like the SQL this replaced), shown as written.
      topActors: topActors.map(({ id, count }) => ({ id: fromPgText(id), count })),
    };
  }

  async listTenantLogs(): Promise<{ tenant: string; size: number }[]> {
    const { rows } = await this.pool.query<{ tenant: string; size: string }>(
      'SELECT tenant, size FROM tenant_logs ORDER BY tenant',
    );
    return rows.map((r) => ({ tenant: r.tenant, size: int(r.size) }));
  }

  async listEventTenants(): Promise<string[]> {
    // DISTINCT over a large table scans it; this walks the (tenant, …) primary keys one tenant at a time instead.
    const distinct = (table: string) => `
      WITH RECURSIVE t AS (
        (SELECT tenant FROM ${table} ORDER BY tenant LIMIT 1)
        UNION ALL
        SELECT (SELECT tenant FROM ${table} WHERE tenant > t.tenant ORDER BY tenant LIMIT 1) FROM t WHERE t.tenant IS NOT NULL
      ) SELECT tenant FROM t WHERE tenant IS NOT NULL`;
    const { rows } = await this.pool.query<{ tenant: string }>(
      `SELECT tenant FROM (${distinct('events')}) a UNION SELECT tenant FROM (${distinct('log_leaves')}) b ORDER BY tenant`,
    );
    return rows.map((r) => r.tenant);
  }

  async getTreeHead(tenant: string): Promise<TreeHead> {
    const { rows } = await this.pool.query<{ size: string; range_hashes: Buffer }>(
      'SELECT size, range_hashes FROM tenant_logs WHERE tenant = $1',
      [tenant],
    );
    const row = rows[0];
    return { tenant, range: row ? decodeRange(int(row.size), row.range_hashes) : { size: 0, hashes: [] } };
  }

  async getMerkleNodes(tenant: string, ids: NodeId[]): Promise<Map<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    const leaves = ids.filter((id) => id.level === 0).map((id) => id.index);
    const inner = ids.filter((id) => id.level > 0);
    const [leafRows, nodeRows] = await Promise.all([
      leaves.length === 0
        ? null
        : this.pool.query<{ seq: string; leaf_hash: Buffer }>(
            'SELECT seq, leaf_hash FROM log_leaves WHERE tenant = $1 AND seq = ANY($2::int8[])',
            [tenant, leaves],
          ),
      inner.length === 0
        ? null
        : this.pool.query<{ level: number; idx: string; hash: Buffer }>(
            `SELECT n.level, n.idx, n.hash FROM merkle_nodes n
               JOIN unnest($2::int2[], $3::int8[]) AS u(level, idx) ON n.level = u.level AND n.idx = u.idx
              WHERE n.tenant = $1`,
            [tenant, inner.map((id) => id.level), inner.map((id) => id.index)],
          ),
    ]);
    for (const row of leafRows?.rows ?? []) found.set(nodeKey(0, int(row.seq)), row.leaf_hash);
    for (const row of nodeRows?.rows ?? []) found.set(nodeKey(row.level, int(row.idx)), row.hash);
    return found;
  }

  async getMerkleLevel(
    tenant: string,
    level: number,
    fromIndex: number,
    toIndex: number,
  ): Promise<{ index: number; hash: Uint8Array }[]> {
    const { rows } = await this.pool.query<{ idx: string; hash: Buffer }>(
      `SELECT idx, hash FROM merkle_nodes WHERE tenant = $1 AND level = $2 AND idx >= $3 AND idx <= $4 ORDER BY idx`,
      [tenant, level, fromIndex, toIndex],
    );
    return rows.map((r) => ({ index: int(r.idx), hash: r.hash }));
  }

  async getEventBySeq(tenant: string, seq: number): Promise<StoredEventRow | null> {
    const { rows } = await this.pool.query<EventRowRaw>(
      `SELECT l.order_key, l.seq, e.body, l.leaf_hash FROM log_leaves l ${PAYLOAD_OF_LEAF('e.body')}
        WHERE l.tenant = $1 AND l.seq = $2`,
      [tenant, seq],
    );
    return rows[0] ? eventRow(rows[0]) : null;
  }

  async readLog(tenant: string, fromSeq: number, limit: number): Promise<LogEntryRow[]> {
    // The log index drives (seq order); a payload row that is missing or no longer matches its leaf's key is left
    // out, so the verifier sees the gap — unless the leaf records that a deletion removed it (redacted_by).
    const { rows } = await this.pool.query<{
      seq: string;
      id: string;
      tenant: string;
      occurred_ms: string;
      action: string | null;
      actor_id: string | null;
      target_type: string | null;
      target_id: string | null;
      outcome: string | null;
      ip: string | null;
      body: string | null;
      leaf_hash: Buffer;
      listed_leaf_hash: Buffer | null;
      redacted_by: string | null;
      pruned_from: string | null;
      pruned_below: string | null;
      pruned_by: string | null;
    }>(
      // A leaf without payload and without redacted_by may lie in a dropped partition: the pruned range covering it
      // (the earliest, if a month was dropped twice) stands in for the per-row mark.
      `SELECT l.seq, l.id, l.tenant, coalesce(e.occurred_ms, l.occurred_ms) AS occurred_ms, e.action, e.actor_id,
              e.target_type, e.target_id, e.outcome, e.ip, e.body, l.leaf_hash, e.leaf_hash AS listed_leaf_hash,
              l.redacted_by,
              p.from_key AS pruned_from, p.below_seq AS pruned_below, p.record_seq AS pruned_by
         FROM (SELECT * FROM log_leaves WHERE tenant = $1 AND seq >= $2 ORDER BY seq LIMIT $3) l
         LEFT JOIN LATERAL (SELECT e.tenant, e.occurred_ms, e.action, e.actor_id, e.target_type, e.target_id, e.outcome,
                                   e.ip, e.body, e.leaf_hash
                              FROM events e
                             WHERE e.tenant = l.tenant AND e.order_key = l.order_key AND e.seq = l.seq LIMIT 1) e ON true
         LEFT JOIN LATERAL (SELECT p.from_key, p.below_seq, p.record_seq FROM pruned_ranges p
                             WHERE e.body IS NULL AND l.redacted_by IS NULL AND p.tenant = l.tenant
                               AND l.order_key >= p.from_key AND l.order_key < p.to_key AND l.seq < p.below_seq
                             ORDER BY p.below_seq LIMIT 1) p ON true
        WHERE e.body IS NOT NULL OR l.redacted_by IS NOT NULL OR p.record_seq IS NOT NULL
        ORDER BY l.seq`,
      [tenant, fromSeq, limit],
    );
    return rows.map((r) => ({
      seq: int(r.seq),
      id: fromPgText(r.id),
      tenant: r.tenant,
      occurredMs: int(r.occurred_ms),
      action: fromPgText(r.action) ?? '',
      actorId: fromPgText(r.actor_id) ?? '',
      targetType: fromPgText(r.target_type),
      targetId: fromPgText(r.target_id),
      outcome: r.outcome ?? '',
      ip: fromPgText(r.ip),
      body: r.body ?? '',
      leafHash: r.leaf_hash,
      ...(r.listed_leaf_hash !== null ? { listedLeafHash: r.listed_leaf_hash } : {}),
      redactedBy:
        r.redacted_by !== null ? int(r.redacted_by) : r.pruned_by !== null ? int(r.pruned_by) : null,
      ...(r.pruned_by !== null
        ? { pruned: { fromMs: msOfKey(big(r.pruned_from!)), belowSeq: int(r.pruned_below!) } }
        : {}),
    }));
  }

  async logBounds(tenant: string): Promise<LogBounds> {
    // One statement, one snapshot: a concurrent append (another process) is either wholly in it or wholly not.
    // Entries of dropped partitions count as redacted by what pruned_ranges states (the verifier counts them too).
    const { rows } = await this.pool.query<{
      size: string | null;
      entries: string;
      min_seq: string | null;
      max_seq: string | null;
      redacted: string;
      payloads: string;
    }>(
      `SELECT (SELECT size FROM tenant_logs WHERE tenant = $1) AS size, count(*) AS entries, min(seq) AS min_seq,
              max(seq) AS max_seq,
              count(redacted_by) + (SELECT coalesce(sum(count), 0) FROM pruned_ranges WHERE tenant = $1) AS redacted,
              (SELECT count(*) FROM events WHERE tenant = $1) AS payloads
         FROM log_leaves WHERE tenant = $1`,
      [tenant],
    );
    const row = rows[0]!;
    return {
      size: row.size === null ? 0 : int(row.size),
      entries: int(row.entries),
      minSeq: row.min_seq === null ? null : int(row.min_seq),
      maxSeq: row.max_seq === null ? null : int(row.max_seq),
      redacted: int(row.redacted),
      payloads: int(row.payloads),
    };
  }

  async redactEvents(target: RedactionTarget): Promise<string[]> {
    const { tenant, recordSeq, limit } = target;
    const below = Math.min(recordSeq, target.belowSeq ?? recordSeq);
    const keep = target.keepActions.map((a) => toPgText(a));
    return this.transaction(async (client) => {
      // Driven from the payload table (redacted rows leave it), so repeated calls never rescan what is done.
      const { rows } = target.ids
        ? await client.query<{
            order_key: string;
            seq: string;
            id: string;
            occurred_ms: string;
            action: string;
            actor_id: string;
            target_type: string | null;
          }>(
            `SELECT e.order_key, e.seq, l.id, e.occurred_ms, e.action, e.actor_id, e.target_type
               FROM log_leaves l JOIN events e ON e.tenant = l.tenant AND e.order_key = l.order_key AND e.seq = l.seq
              WHERE l.tenant = $1 AND l.id = ANY($2::text[]) AND l.seq < $3 AND l.redacted_by IS NULL
                AND NOT e.action = ANY($5::text[])
              ORDER BY l.seq LIMIT $4 FOR UPDATE OF e`,
            [tenant, target.ids.map((id) => toPgText(id)), below, limit, keep],
          )
        : await client.query<{
            order_key: string;
            seq: string;
            id: string;
            occurred_ms: string;
            action: string;
            actor_id: string;
            target_type: string | null;
          }>(
            `SELECT e.order_key, e.seq, l.id, e.occurred_ms, e.action, e.actor_id, e.target_type
               FROM (SELECT order_key, seq, occurred_ms, action, actor_id, target_type FROM events
                      WHERE tenant = $1 AND order_key < $2::int8 AND seq < $3 AND NOT action = ANY($5::text[])
                      ORDER BY order_key LIMIT $4 FOR UPDATE) e
               JOIN log_leaves l ON l.tenant = $1 AND l.seq = e.seq AND l.order_key = e.order_key
              WHERE l.redacted_by IS NULL`,
            [tenant, int8Param(orderKeyFloor(target.beforeMs ?? 0)), below, limit, keep],
          );
      if (rows.length === 0) return [];
      const hours = new Map<string, { h: number; a: string; tt: string; n: number }>();
      const actors = new Map<string, { d: number; ac: string; n: number }>();
      for (const row of rows) {
        const occurredMs = int(row.occurred_ms);
        const h = Math.floor(occurredMs / HOUR_MS);
        const tt = row.target_type ?? '';
        const hk = JSON.stringify([h, row.action, tt]);
        const hc = hours.get(hk);
        if (hc) hc.n += 1;
        else hours.set(hk, { h, a: row.action, tt, n: 1 });
        const d = Math.floor(occurredMs / DAY_MS);
        const ak = JSON.stringify([d, row.actor_id]);
        const ac = actors.get(ak);
        if (ac) ac.n += 1;
        else actors.set(ak, { d, ac: row.actor_id, n: 1 });
      }
      const keys = rows.map((r) => r.order_key);
      const seqs = rows.map((r) => r.seq);
      await client.query(
        `WITH del AS (
           DELETE FROM events WHERE tenant = $1 AND order_key = ANY($2::int8[])
         ), lv AS (
           UPDATE log_leaves SET redacted_by = $4, input_digest = NULL WHERE tenant = $1 AND seq = ANY($3::int8[])
         ), hc AS (
           UPDATE event_counts_hour x SET count = x.count - c.n
             FROM json_to_recordset($5::json) AS c(h int4, a text, tt text, n int8)
            WHERE x.tenant = $1 AND x.hour = c.h AND x.action = c.a AND x.target_type = c.tt
         ), ac AS (
           UPDATE actor_counts_day x SET count = x.count - c.n
             FROM json_to_recordset($6::json) AS c(d int4, ac text, n int8)
            WHERE x.tenant = $1 AND x.day = c.d AND x.actor_id = c.ac
         )
         UPDATE tenant_logs SET redacted = redacted + $7 WHERE tenant = $1`,
        [
          tenant,
          keys,
          seqs,
          recordSeq,
          JSON.stringify([...hours.values()]),
          JSON.stringify([...actors.values()]),
          rows.length,
        ],
      );
      // Statements of one WITH see the same snapshot, so the emptied rollup rows are removed afterwards.
      await client.query(
        `WITH h AS (DELETE FROM event_counts_hour WHERE tenant = $1 AND count <= 0)
         DELETE FROM actor_counts_day WHERE tenant = $1 AND count <= 0`,
        [tenant],
      );
      return rows.map((r) => fromPgText(r.id));
    });
  }

  pruneEventPartitions(request: PruneRequest): Promise<PruneOutcome> {
    return pruneEventPartitions(this.pool, request);
  }

  listPrunedRanges(tenant: string): Promise<PrunedRange[]> {
    return listPrunedRanges(this.pool, tenant);
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    // Processes that sign the same tree size produce the same note (Ed25519 is deterministic): the first row stands.
    await this.pool.query(
      `INSERT INTO checkpoints (tenant, tree_size, root_hash, created_ms, note) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant, tree_size) DO NOTHING`,
      [
        checkpoint.tenant,
        checkpoint.treeSize,
        bytes(checkpoint.rootHash),
        checkpoint.createdMs,
        checkpoint.note,
      ],
    );
  }

  async getCheckpoint(tenant: string, treeSize?: number): Promise<StoredCheckpoint | null> {
    const { rows } =
      treeSize === undefined
        ? await this.pool.query<CheckpointRowRaw>(
            `${CHECKPOINT_COLUMNS} WHERE tenant = $1 ORDER BY tree_size DESC LIMIT 1`,
            [tenant],
          )
        : await this.pool.query<CheckpointRowRaw>(
            `${CHECKPOINT_COLUMNS} WHERE tenant = $1 AND tree_size = $2`,
            [tenant, treeSize],
          );
    return rows[0] ? checkpointRow(rows[0]) : null;
  }

  async getCheckpointCovering(tenant: string, minSize: number): Promise<StoredCheckpoint | null> {
    const { rows } = await this.pool.query<CheckpointRowRaw>(
      `${CHECKPOINT_COLUMNS} WHERE tenant = $1 AND tree_size >= $2 ORDER BY tree_size LIMIT 1`,
      [tenant, minSize],
    );
    return rows[0] ? checkpointRow(rows[0]) : null;
  }

  async listCheckpoints(tenant: string): Promise<StoredCheckpoint[]> {
    const { rows } = await this.pool.query<CheckpointRowRaw>(
      `${CHECKPOINT_COLUMNS} WHERE tenant = $1 ORDER BY tree_size`,
      [tenant],
    );
    return rows.map(checkpointRow);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.partitionTimer) clearInterval(this.partitionTimer);
    this.partitionTimer = null;
    this.closed ??= this.pool.end();
    return this.closed;
  }

  // --- identity --- (API keys and users; the SQL lives in ./identity.ts)

  insertApiKey(key: ApiKeyRecord): Promise<void> {
    return this.identity.insertApiKey(key);
  }

  findApiKeyByHash(secretHash: Uint8Array): Promise<ApiKeyRecord | null> {
    return this.identity.findApiKeyByHash(secretHash);
  }

  findApiKeyById(id: string): Promise<ApiKeyRecord | null> {
    return this.identity.findApiKeyById(id);
  }

  listApiKeys(filter?: IdentityFilter): Promise<ApiKeyRecord[]> {
    return this.identity.listApiKeys(filter);
  }

  countApiKeys(): Promise<number> {
    return this.identity.countApiKeys();
  }

  touchApiKey(id: string, usedMs: number): Promise<void> {
    return this.identity.touchApiKey(id, usedMs);
  }

  revokeApiKey(id: string, revokedMs: number): Promise<ApiKeyRecord | null> {
    return this.identity.revokeApiKey(id, revokedMs);
  }

  insertUser(user: UserRecord): Promise<boolean> {
    return this.identity.insertUser(user);
  }

  findUserById(id: string): Promise<UserRecord | null> {
    return this.identity.findUserById(id);
  }

  findUserByUsernameKey(usernameKey: string): Promise<UserRecord | null> {
    return this.identity.findUserByUsernameKey(usernameKey);
  }

  listUsers(filter?: IdentityFilter): Promise<UserRecord[]> {
    return this.identity.listUsers(filter);
  }

  setUserDisabled(id: string, disabledMs: number | null, nowMs: number): Promise<UserRecord | null> {
    return this.identity.setUserDisabled(id, disabledMs, nowMs);
  }

  recordUserLogin(id: string, loginMs: number): Promise<void> {
    return this.identity.recordUserLogin(id, loginMs);
  }

  updateLoginFailures<T>(
    keys: string[],
    decide: (records: Map<string, LoginFailureRecord>) => LoginFailureDecision<T>,
  ): Promise<T> {
    return this.transaction((client) => this.identity.updateLoginFailures(client, keys, decide));
  }

  pruneLoginFailures(nowMs: number): Promise<number> {
    return this.identity.pruneLoginFailures(nowMs);
  }

  // --- retention policies --- (the SQL lives in ./retention.ts)

  private retentionTable?: PostgresRetention;
  private get retention(): PostgresRetention {
    this.retentionTable ??= new PostgresRetention(this.pool);
    return this.retentionTable;
  }

  getRetentionPolicy(
    tenant: string,
    stream: string,
  ): Promise<import('../store.ts').RetentionPolicyRecord | null> {
    return this.retention.get(tenant, stream);
  }

  listRetentionPolicies(): Promise<import('../store.ts').RetentionPolicyRecord[]> {
    return this.retention.list();
  }

  putRetentionPolicy(policy: import('../store.ts').RetentionPolicyRecord): Promise<void> {
    return this.retention.put(policy);
  }

  // --- system logs --- (the SQL lives in ./logs.ts)
  private logTables?: PostgresLogs;
  private get logs(): PostgresLogs {
    this.logTables ??= new PostgresLogs(this.pool, (work, options) => this.transaction(work, options));
    return this.logTables;
  }

  async appendLogs(
    entries: import('../../domain/log-entry.ts').PreparedLogEntry[],
    handOff?: () => void,
  ): Promise<void> {
    return this.logs.append(entries, handOff);
  }

  async getLog(tenant: string, id: string): Promise<import('../store.ts').StoredLogRow | null> {
    return this.logs.get(tenant, id);
  }

  async listLogs(
    page: import('../../query/log-filter.ts').LogPageRequest,
  ): Promise<import('../store.ts').LogPage> {
    return this.logs.list(page);
  }

  async countLogs(filter: import('../../query/log-filter.ts').LogFilter): Promise<number> {
    return this.logs.count(filter);
  }

  async deleteLog(tenant: string, id: string): Promise<boolean> {
    return this.logs.deleteOne(tenant, id);
  }

  async logStats(
    request: import('../../query/log-filter.ts').LogStatsRequest,
  ): Promise<import('../store.ts').LogStatsResult> {
    return this.logs.stats(request);
  }

  async readLogsAfter(
    tenant: string,
    afterSeq: number,
    limit: number,
  ): Promise<import('../store.ts').StoredLogRow[]> {
    return this.logs.readAfter(tenant, afterSeq, limit);
  }

  async logHeadSeq(tenant: string): Promise<number> {
    return this.logs.headSeq(tenant);
  }

  async listLogTenants(): Promise<string[]> {
    return this.logs.tenants();
  }

  async deleteLogsBefore(tenant: string, beforeMs: number, limit: number): Promise<number> {
    return this.logs.deleteBefore(tenant, beforeMs, limit);
  }
}

/** A PostgreSQL URL without its password, for messages. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres://…';
  }
}
