// The embedded SQLite adapter of the store port: one file, WAL, one writer, FTS5, rollups on write.
// It must never acknowledge an append before its transaction is committed with synchronous=FULL.
import fs from 'node:fs';
import path from 'node:path';
import { LogbookError, type NodeId, nodeKey } from '@logbook/protocol';
import Database from 'better-sqlite3';
import { orderKeyFloor } from '../../domain/time.ts';
import { decodeRange } from '../../log/tree-state.ts';
import {
  BUCKET_MS,
  type EventFilter,
  type EventPageRequest,
  type StatsRequest,
} from '../../query/event-filter.ts';
import { ClosedRollups, last24hParts, statsFromHourly } from '../closed-rollups.ts';
import type {
  ApiKeyRecord,
  AppendRequest,
  AppendResult,
  EventPage,
  IdentityFilter,
  LogBounds,
  LogEntryRow,
  LoginFailureDecision,
  LoginFailureRecord,
  PackedLogWindow,
  PackedLogWorker,
  RedactionTarget,
  StatsResult,
  Store,
  StoreCapabilities,
  StoredCheckpoint,
  StoredEventRow,
  TreeHead,
  UserRecord,
} from '../store.ts';
import { openConnection } from './connection.ts';
import { EventAppender } from './event-append.ts';
import { prefixUpperBound, selectEvents } from './event-select.ts';
import { EventWriterThread, type WriteStatement } from './event-writer.ts';
import { fts5Query } from './full-text.ts';
import { SqliteIdentity } from './identity.ts';
import { SqliteLogs } from './logs.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';
import { packedLogReader, packedLogWorker, parseIntegerList } from './packed-log.ts';
import { SqliteRetention } from './retention.ts';
import { sqliteRollupSource } from './rollup-source.ts';
import { StatementCache } from './statements.ts';

type Db = Database.Database;

/** Page cache of the writer thread's connection (the store's own uses LOGBOOK_SQLITE_CACHE_MIB). */
const WRITER_CACHE_MIB = 64;
type Statement = Database.Statement;

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** A prefix matching more actions than this stays a token-prefix query rather than an OR of that many doclists. */
const PREFIX_EXPANSION_LIMIT = 64;
const CHECKPOINT_COLUMNS =
  'SELECT tenant, tree_size AS treeSize, root_hash AS rootHash, created_ms AS createdMs, note FROM checkpoints';

export interface SqliteStoreOptions {
  /** Path of the database file; `:memory:` is refused because nothing acknowledged may be lost. */
  file: string;
  cacheMiB?: number;
  readonly?: boolean;
  /**
   * Run appends on a writer thread with its own connection (event-writer.ts), so SQLite's work leaves the event
   * loop. `logbook serve` turns it on (LOGBOOK_SQLITE_WRITER_THREAD); in-process callers (tests, the CLI) need not.
   */
  writerThread?: boolean;
}

interface EventRowRaw {
  order_key: bigint;
  seq: bigint;
  body: string;
  leaf_hash: Buffer;
}

export { fts5Query };

/** readLog's columns as better-sqlite3 returns them in raw mode. */
type LogEntryColumns = [
  number,
  string,
  string,
  number,
  string,
  string,
  string | null,
  string | null,
  string,
  string | null,
  string,
  Buffer,
  number | null,
];

function isAscending(values: Float64Array): boolean {
  for (let i = 1; i < values.length; i++) if (values[i]! <= values[i - 1]!) return false;
  return true;
}

function eventRow(raw: EventRowRaw): StoredEventRow {
  return { orderKey: raw.order_key, seq: Number(raw.seq), body: raw.body, leafHash: raw.leaf_hash };
}

export class SqliteStore implements Store {
  readonly capabilities: StoreCapabilities;
  private readonly db: Db;
  private readonly file: string;
  private readonly statements: StatementCache;
  private readonly appender: EventAppender;
  private readonly rollups: ClosedRollups;
  /** Appends run here when the writer thread is on: SQLite's work then leaves the event loop (event-writer.ts). */
  private readonly writer: EventWriterThread | null;
  private packedReader?: ReturnType<typeof packedLogReader>;

  constructor(options: SqliteStoreOptions) {
    if (options.file === ':memory:')
      throw new Error('SqliteStore needs a file: acknowledged writes must be durable');
    fs.mkdirSync(path.dirname(options.file), { recursive: true });
    this.file = path.resolve(options.file);
    const connection = { readonly: options.readonly ?? false, cacheMiB: options.cacheMiB ?? 256 };
    this.db = openConnection(options.file, connection);
    this.statements = new StatementCache(this.db);
    this.appender = new EventAppender(this.db);
    this.rollups = new ClosedRollups(sqliteRollupSource(this.statements));
    this.writer =
      options.writerThread && !connection.readonly
        ? // The writer touches the right edges of its B-trees and new FTS5 segments: it needs far less cache than the
          // readers, and each connection has its own (RSS).
          new EventWriterThread({
            file: this.file,
            connection: { ...connection, cacheMiB: Math.min(WRITER_CACHE_MIB, connection.cacheMiB) },
          })
        : null;
    // The writer thread takes jobs in order: a second group waits in its queue, so the thread starts it the moment the
    // first commits instead of idling until the event loop is free to answer and send the next (docs/storage.md).
    this.capabilities = { name: 'sqlite', multiProcess: false, pipelinedCommits: this.writer ? 2 : 1 };
  }

  /** A cached prepared statement; `safe` returns integers as BigInt (order keys exceed 2^53). */
  private stmt(sql: string, safe = false): Statement {
    return this.statements.get(sql, safe);
  }

  async migrate(): Promise<string[]> {
    this.db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_ms INTEGER NOT NULL)',
    );
    const applied = new Set(
      (this.db.prepare('SELECT name FROM schema_migrations').all() as { name: string }[]).map((r) => r.name),
    );
    const now: string[] = [];
    for (const migration of SQLITE_MIGRATIONS) {
      if (applied.has(migration.name)) continue;
      this.db.transaction(() => {
        this.db.exec(migration.sql);
        this.db
          .prepare('INSERT INTO schema_migrations (name, applied_ms) VALUES (?, ?)')
          .run(migration.name, Date.now());
      })();
      now.push(migration.name);
    }
    return now;
  }

  async pendingMigrations(): Promise<string[]> {
    const table = this.db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
      .get();
    const applied = new Set(
      table
        ? (this.db.prepare('SELECT name FROM schema_migrations').all() as { name: string }[]).map(
            (r) => r.name,
          )
        : [],
    );
    return SQLITE_MIGRATIONS.map((m) => m.name).filter((name) => !applied.has(name));
  }

  async appendEvents(requests: AppendRequest[], handOff?: () => void): Promise<AppendResult[]> {
    if (this.writer) {
      // The thread takes jobs in order and needs nothing more from the event loop: the next group may start now.
      const committed = this.writer.appendEvents(requests);
      handOff?.();
      return committed;
    }
    return this.db.transaction(() => this.appender.appendInTransaction(requests)).immediate();
  }

  async getEvent(tenant: string, id: string): Promise<StoredEventRow | null> {
    const raw = this.stmt(
      'SELECT order_key, seq, body, leaf_hash FROM events WHERE tenant = ? AND id = ? AND redacted_by IS NULL',
      true,
    ).get(tenant, id) as EventRowRaw | undefined;
    return raw ? eventRow(raw) : null;
  }

  async listEvents(page: EventPageRequest): Promise<EventPage> {
    const filter = this.withExactActions(page.filter);
    const query = selectEvents('e.order_key, e.seq, e.body, e.leaf_hash', filter, page.order, page.after);
    const raws = this.runSearch(() =>
      this.stmt(`${query.sql} LIMIT ?`, true).all(...query.params, page.limit + 1),
    ) as EventRowRaw[];
    const more = raws.length > page.limit;
    const rows = raws.slice(0, page.limit).map(eventRow);
    return {
      rows,
      lastOrderKey: more ? rows[rows.length - 1]!.orderKey : null,
      ...(page.includeTotal ? { total: await this.countEvents(filter) } : {}),
    };
  }

  async countEvents(filter: EventFilter): Promise<number> {
    const unfiltered = Object.keys(filter).length === 1;
    if (unfiltered) return this.liveCount(filter.tenant);
    const query = selectEvents('1', this.withExactActions(filter), 'desc', undefined);
    const row = this.runSearch(() =>
      this.stmt(`SELECT count(*) AS n FROM (${query.sql})`).get(...query.params),
    ) as {
      n: number;
    };
    return row.n;
  }

  /**
   * Action prefixes as the lists of the tenant's actions they match (event_actions, migration 0010): the key index
   * reads an OR of exact tokens lazily in time order, where a token-prefix query materialises every match first.
   * A prefix matching more than PREFIX_EXPANSION_LIMIT actions, or none, stays a prefix.
   */
  private withExactActions(filter: EventFilter): EventFilter {
    if (!filter.actions || filter.actions.prefixes.length === 0) return filter;
    const exact = [...filter.actions.exact];
    const prefixes: string[] = [];
    const listActions = this.stmt(
      'SELECT action FROM event_actions WHERE tenant = ? AND action >= ? AND action < ? LIMIT ?',
    );
    for (const prefix of filter.actions.prefixes) {
      const actions = (
        listActions.all(filter.tenant, prefix, prefixUpperBound(prefix), PREFIX_EXPANSION_LIMIT + 1) as {
          action: string;
        }[]
      ).map((row) => row.action);
      if (actions.length === 0 || actions.length > PREFIX_EXPANSION_LIMIT) prefixes.push(prefix);
      else exact.push(...actions);
    }
    return { ...filter, actions: { exact, prefixes } };
  }

  /** Live (not redacted) events of a tenant, from its log row. */
  private liveCount(tenant: string): number {
    return (
      (
        this.stmt('SELECT size - redacted AS n FROM tenant_logs WHERE tenant = ?').get(tenant) as
          | { n: number }
          | undefined
      )?.n ?? 0
    );
  }

  /** Full-text syntax is ours, but an engine limit can still refuse a query: that is the caller's 400, not a 500. */
  private runSearch<T>(run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof Database.SqliteError && /fts5|MATCH/i.test(error.message)) {
        throw new LogbookError(
          'INVALID_QUERY',
          `q cannot be searched: ${error.message.replace(/^fts5: /, '')}`,
        );
      }
      throw error;
    }
  }

  async eventStats(request: StatsRequest): Promise<StatsResult> {
    const { tenant } = request;
    const total = this.liveCount(tenant);

    // last24h: rollup hours, and the live events of the partial hours' shorter sides (last24hParts) in one statement.
    // Live events of a range: every row from the (tenant) index alone, minus the redacted ones from their small
    // partial index — never a look at each row.
    const parts = last24hParts(request.nowMs);
    const params: Record<string, string | number | bigint> = {
      tenant,
      fromHour: parts.fromHour,
      toHour: parts.toHour,
    };
    const liveIn = ([fromMs, toMs]: [number, number], name: string) => {
      params[`${name}From`] = orderKeyFloor(fromMs);
      params[`${name}To`] = orderKeyFloor(toMs);
      return `((SELECT count(*) FROM events INDEXED BY events_tenant
                 WHERE tenant = @tenant AND order_key >= @${name}From AND order_key < @${name}To)
             - (SELECT count(*) FROM events INDEXED BY events_redacted
                 WHERE tenant = @tenant AND order_key >= @${name}From AND order_key < @${name}To
                   AND redacted_by IS NOT NULL))`;
    };
    const last24h = (
      this.stmt(
        `SELECT (SELECT coalesce(sum(count), 0) FROM event_counts_hour
                  WHERE tenant = @tenant AND hour >= @fromHour AND hour < @toHour)
           ${parts.add.map((range, i) => `+ ${liveIn(range, `add${i}`)}`).join(' ')}
           ${parts.subtract.map((range, i) => `- ${liveIn(range, `subtract${i}`)}`).join(' ')} AS n`,
      ).get(params) as { n: number }
    ).n;

    // By action, by target type, the histogram and top actors: closed days' sums kept between calls, today's read
    // (store/closed-rollups.ts). Summed from scratch, 30 days of 10,000 daily actors are 300,000 rollup rows per call.
    const { hourly, topActors } = await this.rollups.window(
      tenant,
      request.fromMs,
      request.toMs,
      request.nowMs,
      request.top,
    );
    const { byAction, byTargetType, histogram } = statsFromHourly(hourly, BUCKET_MS[request.bucket]);
    return { total, last24h, byAction, byTargetType, topActors, histogram };
  }

  async listTenantLogs(): Promise<{ tenant: string; size: number }[]> {
    return this.stmt('SELECT tenant, size FROM tenant_logs ORDER BY tenant').all() as {
      tenant: string;
      size: number;
    }[];
  }

  async listEventTenants(): Promise<string[]> {
    return (
      this.stmt('SELECT DISTINCT tenant FROM events ORDER BY tenant').all() as { tenant: string }[]
    ).map((r) => r.tenant);
  }

  async getTreeHead(tenant: string): Promise<TreeHead> {
    const row = this.stmt('SELECT size, range_hashes FROM tenant_logs WHERE tenant = ?').get(tenant) as
      | { size: number; range_hashes: Buffer }
      | undefined;
    return { tenant, range: row ? decodeRange(row.size, row.range_hashes) : { size: 0, hashes: [] } };
  }

  async getMerkleNodes(tenant: string, ids: NodeId[]): Promise<Map<string, Uint8Array>> {
    const found = new Map<string, Uint8Array>();
    const leaf = this.stmt('SELECT leaf_hash AS hash FROM events WHERE tenant = ? AND seq = ?');
    const node = this.stmt('SELECT hash FROM merkle_nodes WHERE tenant = ? AND level = ? AND idx = ?');
    for (const { level, index } of ids) {
      const row = (level === 0 ? leaf.get(tenant, index) : node.get(tenant, level, index)) as
        | { hash: Buffer }
        | undefined;
      if (row) found.set(nodeKey(level, index), row.hash);
    }
    return found;
  }

  async getMerkleLevel(
    tenant: string,
    level: number,
    fromIndex: number,
    toIndex: number,
  ): Promise<{ index: number; hash: Uint8Array }[]> {
    // One aggregate row instead of one row (and one Buffer) per node: the verifier reads every node of a log.
    const [count, regular, indexes, hashes] = this.stmt(
      `SELECT count(*), sum(typeof(idx) = 'integer' AND typeof(hash) = 'blob' AND length(hash) = 32),
         group_concat(idx), CAST(group_concat(hash, '') AS BLOB)
       FROM (SELECT idx, hash FROM merkle_nodes WHERE tenant = ? AND level = ? AND idx >= ? AND idx <= ? ORDER BY idx)`,
    )
      .raw(true)
      .get(tenant, level, fromIndex, toIndex) as [number, number | null, string | null, Buffer | null];
    if (count === 0) return [];
    const index = regular === count && indexes !== null ? parseIntegerList(indexes, count) : null;
    if (index && hashes && hashes.length === count * 32 && isAscending(index)) {
      const nodes: { index: number; hash: Uint8Array }[] = new Array(count);
      for (let i = 0; i < count; i++)
        nodes[i] = { index: index[i]!, hash: hashes.subarray(i * 32, i * 32 + 32) };
      return nodes;
    }
    // Something unusual was stored (a hash of another length, a non-integer index): return it row by row, as is.
    const rows = this.stmt(
      'SELECT idx, hash FROM merkle_nodes WHERE tenant = ? AND level = ? AND idx >= ? AND idx <= ? ORDER BY idx',
    ).all(tenant, level, fromIndex, toIndex) as { idx: number; hash: Buffer }[];
    return rows.map((r) => ({ index: r.idx, hash: r.hash }));
  }

  async getEventBySeq(tenant: string, seq: number): Promise<StoredEventRow | null> {
    const raw = this.stmt(
      'SELECT order_key, seq, body, leaf_hash FROM events WHERE tenant = ? AND seq = ? AND redacted_by IS NULL',
      true,
    ).get(tenant, seq) as EventRowRaw | undefined;
    return raw ? eventRow(raw) : null;
  }

  async readLog(tenant: string, fromSeq: number, limit: number): Promise<LogEntryRow[]> {
    // Raw arrays: building the objects here is cheaper than better-sqlite3 naming every column of every row.
    const rows = this.stmt(
      `SELECT seq, id, tenant, occurred_ms, action, actor_id, target_type, target_id, outcome, ip, body, leaf_hash,
         redacted_by
       FROM events WHERE tenant = ? AND seq >= ? ORDER BY seq LIMIT ?`,
    )
      .raw(true)
      .all(tenant, fromSeq, limit) as LogEntryColumns[];
    const entries: LogEntryRow[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      entries[i] = {
        seq: r[0],
        id: r[1],
        tenant: r[2],
        occurredMs: r[3],
        action: r[4],
        actorId: r[5],
        targetType: r[6],
        targetId: r[7],
        outcome: r[8],
        ip: r[9],
        body: r[10],
        leafHash: r[11],
        redactedBy: r[12],
      };
    }
    return entries;
  }

  async readLogPacked(tenant: string, fromSeq: number, limit: number): Promise<PackedLogWindow | null> {
    this.packedReader ??= packedLogReader(this.db, Database.SqliteError, parseIntegerList);
    return this.packedReader(tenant, fromSeq, limit);
  }

  packedLogWorker(): PackedLogWorker {
    return packedLogWorker(this.file);
  }

  async logBounds(tenant: string): Promise<LogBounds> {
    // One statement, one snapshot, answered from the (tenant, seq) index alone. Payloads live in the same rows here,
    // so `payloads` is entries − redacted by construction; a row blanked outside Logbook is the verifier's
    // redaction-unrecorded finding instead.
    const row = this.stmt(
      `SELECT (SELECT size FROM tenant_logs WHERE tenant = ?) AS size,
              (SELECT redacted FROM tenant_logs WHERE tenant = ?) AS redacted,
              count(*) AS entries, min(seq) AS min_seq, max(seq) AS max_seq
         FROM events WHERE tenant = ?`,
    ).get(tenant, tenant, tenant) as {
      size: number | null;
      redacted: number | null;
      entries: number;
      min_seq: number | null;
      max_seq: number | null;
    };
    const redacted = row.redacted ?? 0;
    return {
      size: row.size ?? 0,
      entries: row.entries,
      minSeq: row.min_seq,
      maxSeq: row.max_seq,
      redacted,
      payloads: row.entries - redacted,
    };
  }

  async redactEvents(target: RedactionTarget): Promise<string[]> {
    const { tenant, recordSeq, limit } = target;
    const below = Math.min(recordSeq, target.belowSeq ?? recordSeq);
    const keep = JSON.stringify(target.keepActions);
    return this.db
      .transaction(() => {
        const rows = (
          target.ids
            ? this.stmt(
                `SELECT order_key, id, occurred_ms, action, actor_id, target_type FROM events
                  WHERE tenant = ? AND id IN (SELECT value FROM json_each(?)) AND seq < ? AND redacted_by IS NULL
                    AND action NOT IN (SELECT value FROM json_each(?))
                  LIMIT ?`,
                true,
              ).all(tenant, JSON.stringify(target.ids), below, keep, limit)
            : this.stmt(
                `SELECT order_key, id, occurred_ms, action, actor_id, target_type FROM events
                  WHERE tenant = ? AND order_key < ? AND seq < ? AND redacted_by IS NULL
                    AND action NOT IN (SELECT value FROM json_each(?))
                  ORDER BY order_key LIMIT ?`,
                true,
              ).all(tenant, orderKeyFloor(target.beforeMs ?? 0), below, keep, limit)
        ) as {
          order_key: bigint;
          id: string;
          occurred_ms: bigint;
          action: string;
          actor_id: string;
          target_type: string | null;
        }[];
        const blank = this.stmt(
          `UPDATE events SET body = '', action = '', actor_id = '', target_type = NULL, target_id = NULL, outcome = '',
             ip = NULL, input_digest = NULL, redacted_by = ? WHERE order_key = ?`,
        );
        const dropText = this.stmt('DELETE FROM events_fts WHERE rowid = ?');
        const dropKeys = this.stmt('DELETE FROM events_keys WHERE rowid = ?');
        const hour = this.stmt(
          'UPDATE event_counts_hour SET count = count - 1 WHERE tenant = ? AND hour = ? AND action = ? AND target_type = ?',
        );
        const actor = this.stmt(
          'UPDATE actor_counts_day SET count = count - 1 WHERE tenant = ? AND day = ? AND actor_id = ?',
        );
        for (const row of rows) {
          const occurredMs = Number(row.occurred_ms);
          blank.run(recordSeq, row.order_key);
          dropText.run(row.order_key);
          dropKeys.run(row.order_key);
          hour.run(tenant, Math.floor(occurredMs / HOUR_MS), row.action, row.target_type ?? '');
          actor.run(tenant, Math.floor(occurredMs / DAY_MS), row.actor_id);
        }
        if (rows.length > 0) {
          this.stmt('DELETE FROM event_counts_hour WHERE tenant = ? AND count <= 0').run(tenant);
          this.stmt('DELETE FROM actor_counts_day WHERE tenant = ? AND count <= 0').run(tenant);
          this.stmt('UPDATE tenant_logs SET redacted = redacted + ? WHERE tenant = ?').run(
            rows.length,
            tenant,
          );
        }
        return rows.map((r) => r.id);
      })
      .immediate();
  }

  async saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void> {
    await this.writeOne({
      sql: `INSERT INTO checkpoints (tenant, tree_size, root_hash, created_ms, note) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (tenant, tree_size) DO NOTHING`,
      params: [
        checkpoint.tenant,
        checkpoint.treeSize,
        Buffer.from(checkpoint.rootHash),
        checkpoint.createdMs,
        checkpoint.note,
      ],
    });
  }

  /** A write that recurs while events stream in: on the writer thread when it runs (EventWriterThread.write says why). */
  private async writeOne(statement: WriteStatement): Promise<void> {
    if (this.writer) await this.writer.write(statement);
    else this.stmt(statement.sql).run(...statement.params);
  }

  async getCheckpoint(tenant: string, treeSize?: number): Promise<StoredCheckpoint | null> {
    const row = (
      treeSize === undefined
        ? this.stmt(`${CHECKPOINT_COLUMNS} WHERE tenant = ? ORDER BY tree_size DESC LIMIT 1`).get(tenant)
        : this.stmt(`${CHECKPOINT_COLUMNS} WHERE tenant = ? AND tree_size = ?`).get(tenant, treeSize)
    ) as StoredCheckpoint | undefined;
    return row ?? null;
  }

  async getCheckpointCovering(tenant: string, minSize: number): Promise<StoredCheckpoint | null> {
    const row = this.stmt(
      `${CHECKPOINT_COLUMNS} WHERE tenant = ? AND tree_size >= ? ORDER BY tree_size LIMIT 1`,
    ).get(tenant, minSize) as StoredCheckpoint | undefined;
    return row ?? null;
  }

  async listCheckpoints(tenant: string): Promise<StoredCheckpoint[]> {
    return this.stmt(`${CHECKPOINT_COLUMNS} WHERE tenant = ? ORDER BY tree_size`).all(
      tenant,
    ) as StoredCheckpoint[];
  }

  async ping(): Promise<void> {
    this.stmt('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.writer?.close();
    if (this.db.open) {
      if (!this.db.readonly) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }

  // --- identity --- (API keys and users; the SQL lives in ./identity.ts)
  private identityTables?: SqliteIdentity;
  private get identity(): SqliteIdentity {
    this.identityTables ??= new SqliteIdentity(this.db);
    return this.identityTables;
  }

  async insertApiKey(key: ApiKeyRecord): Promise<void> {
    this.identity.insertApiKey(key);
  }

  async findApiKeyByHash(secretHash: Uint8Array): Promise<ApiKeyRecord | null> {
    return this.identity.findApiKeyByHash(secretHash);
  }

  async findApiKeyById(id: string): Promise<ApiKeyRecord | null> {
    return this.identity.findApiKeyById(id);
  }

  async listApiKeys(filter?: IdentityFilter): Promise<ApiKeyRecord[]> {
    return this.identity.listApiKeys(filter);
  }

  async countApiKeys(): Promise<number> {
    return this.identity.countApiKeys();
  }

  async touchApiKey(id: string, usedMs: number): Promise<void> {
    await this.writeOne(this.identity.touchApiKeyStatement(id, usedMs));
  }

  async revokeApiKey(id: string, revokedMs: number): Promise<ApiKeyRecord | null> {
    return this.identity.revokeApiKey(id, revokedMs);
  }

  async insertUser(user: UserRecord): Promise<boolean> {
    return this.identity.insertUser(user);
  }

  async findUserById(id: string): Promise<UserRecord | null> {
    return this.identity.findUserById(id);
  }

  async findUserByUsernameKey(usernameKey: string): Promise<UserRecord | null> {
    return this.identity.findUserByUsernameKey(usernameKey);
  }

  async listUsers(filter?: IdentityFilter): Promise<UserRecord[]> {
    return this.identity.listUsers(filter);
  }

  async setUserDisabled(id: string, disabledMs: number | null, nowMs: number): Promise<UserRecord | null> {
    return this.identity.setUserDisabled(id, disabledMs, nowMs);
  }

  async recordUserLogin(id: string, loginMs: number): Promise<void> {
    this.identity.recordUserLogin(id, loginMs);
  }

  async updateLoginFailures<T>(
    keys: string[],
    decide: (records: Map<string, LoginFailureRecord>) => LoginFailureDecision<T>,
  ): Promise<T> {
    return this.identity.updateLoginFailures(keys, decide);
  }

  async pruneLoginFailures(nowMs: number): Promise<number> {
    return this.identity.pruneLoginFailures(nowMs);
  }

  // --- retention policies --- (the SQL lives in ./retention.ts)

  private retentionTable?: SqliteRetention;
  private get retention(): SqliteRetention {
    this.retentionTable ??= new SqliteRetention(this.db);
    return this.retentionTable;
  }

  async getRetentionPolicy(
    tenant: string,
    stream: string,
  ): Promise<import('../store.ts').RetentionPolicyRecord | null> {
    return this.retention.get(tenant, stream);
  }

  async listRetentionPolicies(): Promise<import('../store.ts').RetentionPolicyRecord[]> {
    return this.retention.list();
  }

  async putRetentionPolicy(policy: import('../store.ts').RetentionPolicyRecord): Promise<void> {
    this.retention.put(policy);
  }

  // --- system logs --- (the SQL lives in ./logs.ts)
  private logTables?: SqliteLogs;
  private get logs(): SqliteLogs {
    this.logTables ??= new SqliteLogs(this.db);
    return this.logTables;
  }

  async appendLogs(
    entries: import('../../domain/log-entry.ts').PreparedLogEntry[],
    handOff?: () => void,
  ): Promise<void> {
    if (this.writer) {
      const committed = this.writer.appendLogs(entries);
      handOff?.();
      return committed;
    }
    this.logs.append(entries);
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

export const SQLITE_FILE = 'logbook.db';

export function openSqliteStore(
  dataDir: string,
  options: { cacheMiB?: number; readonly?: boolean; writerThread?: boolean } = {},
): SqliteStore {
  return new SqliteStore({ file: path.join(dataDir, SQLITE_FILE), ...options });
}
