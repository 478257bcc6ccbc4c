// The store port: everything services need from a database, and nothing about which database it is.
// Adapters (sqlite/, postgres/) implement it; only start.ts and tests import an adapter.
import type { CompactRange, NodeId } from '@logbook/protocol';
import type { PreparedEvent } from '../domain/event.ts';
import type { PreparedLogEntry } from '../domain/log-entry.ts';
import type { EventFilter, EventPageRequest, StatsRequest } from '../query/event-filter.ts';
import type { LogFilter, LogPageRequest, LogStatsRequest } from '../query/log-filter.ts';

/** What differs between backends, stated as facts services may branch on (never `if (sqlite)`). */
export interface StoreCapabilities {
  /** Several Logbook processes may share this store. */
  readonly multiProcess: boolean;
  readonly name: string;
  /**
   * Group commits that may be in flight in appendEvents/appendLogs at once: the store commits them one after another,
   * in the order they were handed over (a group retried after handing off may commit after the next). The next is
   * handed over once the one before called its `handOff` (or settled), so a store that needs the event loop to send
   * its data keeps gathering requests until it has. 1 = one at a time.
   */
  readonly pipelinedCommits: number;
}

/** One client request's events, appended all-or-nothing. */
export interface AppendRequest {
  events: PreparedEvent[];
}

export type AppendedRow = {
  id: string;
  tenant: string;
  seq: number;
  leafHash: Uint8Array;
  occurredMs: number;
  receivedMs: number;
  duplicate: boolean;
};

/** Per request: its rows in input order, or the index of the first event whose id conflicts. */
export type AppendResult =
  | { ok: true; rows: AppendedRow[] }
  | { ok: false; conflictIndex: number; id: string };

export interface StoredEventRow {
  orderKey: bigint;
  seq: number;
  body: string;
  leafHash: Uint8Array;
}

export interface EventPage {
  rows: StoredEventRow[];
  /** Present when more rows may follow. */
  lastOrderKey: bigint | null;
  total?: number;
}

export interface StatsResult {
  total: number;
  last24h: number;
  byAction: Record<string, number>;
  byTargetType: Record<string, number>;
  topActors: { id: string; count: number }[];
  /** Bucket start (epoch ms) → count, only non-empty buckets. */
  histogram: Map<number, number>;
}

/** A tenant log's current size and Merkle compact range, read in one consistent snapshot. */
export interface TreeHead {
  tenant: string;
  range: CompactRange;
}

export interface StoredCheckpoint {
  tenant: string;
  treeSize: number;
  rootHash: Uint8Array;
  createdMs: number;
  /** The C2SP signed note, exactly as signed. */
  note: string;
}

/** One event as the verifier needs it: the raw stored columns, nothing derived. */
export interface LogEntryRow {
  seq: number;
  id: string;
  tenant: string;
  occurredMs: number;
  action: string;
  actorId: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  ip: string | null;
  body: string;
  leafHash: Uint8Array;
  /**
   * The copy of the leaf hash that listings show, where the store keeps one apart from the log's (PostgreSQL: in the
   * payload row); the verifier checks that it equals leafHash.
   */
  listedLeafHash?: Uint8Array;
  /**
   * Null for a live entry. For a redacted one: the seq of the audit event that recorded its deletion; its payload
   * is gone (body '', columns blank), its id, seq, time and leaf hash stay.
   */
  redactedBy: number | null;
  /**
   * Set when the payload went with a whole partition retention dropped (PostgreSQL): which pruned range covers the
   * entry (its tenant's range starting at fromMs, below belowSeq). redactedBy is then that range's deletion record.
   */
  pruned?: { fromMs: number; belowSeq: number };
}

/**
 * One tenant's share of a payload partition that retention dropped whole (PostgreSQL): the entries with occurrence
 * time in [fromMs, toMs) and seq below belowSeq lost their payload; their leaf hashes stay. Written in the same
 * transaction as the drop; the verifier checks it against the deletion record it names and counts its entries.
 */
export interface PrunedRange {
  tenant: string;
  fromMs: number;
  toMs: number;
  /** Only entries below this seq (what the deletion record and its archive covered; later arrivals stay live). */
  belowSeq: number;
  /** Seq of the deletion record (`logbook.events.redact`) the drop carried out. */
  recordSeq: number;
  /** Payloads of this tenant dropped with the partition. */
  count: number;
  /** The partition's table name. */
  partition: string;
  prunedMs: number;
}

/** What one tenant's retention may drop whole: its deletion record, cut-off and (archived) seq bound. */
export interface PruneTarget {
  tenant: string;
  beforeMs: number;
  /** Entries at or above this seq were not archived (or the record is older): their partition is not dropped. */
  belowSeq: number;
  recordSeq: number;
}

export interface PruneRequest {
  targets: PruneTarget[];
  /** Rows with these actions survive a drop (copied into the partition's fresh replacement). */
  keepActions: string[];
  nowMs: number;
}

export interface PruneOutcome {
  ranges: PrunedRange[];
  /** Partitions wholly before some cut-off that were not dropped (their rows are redacted one by one), and why. */
  skipped: { partition: string; reason: string }[];
}

/** Which events one redaction call removes the payloads of: by id, or all that occurred before an instant. */
export interface RedactionTarget {
  tenant: string;
  ids?: string[];
  beforeMs?: number;
  /** Seq of the audit event recording this deletion: only older entries are redacted, and each remembers it. */
  recordSeq: number;
  /** Also only entries with seq below this (retention archived exactly those before redacting; later ones wait). */
  belowSeq?: number;
  /** Entries with these actions are never redacted (the deletion records themselves: they are the proof). */
  keepActions: string[];
  /** At most this many per call, so that each call is one short transaction; the service calls again. */
  limit: number;
}

/** One tenant's log as stored, read in one snapshot (the verifier compares it with what it read window by window). */
export interface LogBounds {
  /** The size the tenant log records. */
  size: number;
  /** Log entries stored (live and redacted), and their lowest and highest seq. */
  entries: number;
  minSeq: number | null;
  maxSeq: number | null;
  /** Entries whose payload was deleted by a recorded redaction. */
  redacted: number;
  /** Payload rows stored (what lists can show): entries − redacted unless rows were added or removed outside. */
  payloads: number;
}

/**
 * A window of one tenant's log packed column-wise for bulk verification: the entries readLog(tenant, fromSeq, limit)
 * returns, in the same seq order, without one object or string per value. Plain bytes, so no adapter runs
 * verification logic: the verifier checks everything itself and re-reads any window it doubts through readLog.
 */
export interface PackedLogWindow {
  /** Number of entries (0: none at or after fromSeq). */
  count: number;
  /** Each entry's seq, in order. */
  seqs: Float64Array;
  /**
   * `count` segments: segment i is bodies[bodyOffsets[i], bodyOffsets[i + 1]) and holds one spare byte followed by
   * entry i's body exactly as stored (UTF-8). The spare byte lets a caller hash 0x00 ‖ body in place; it may
   * overwrite it.
   */
  bodies: Uint8Array;
  bodyOffsets: Uint32Array;
  /** The stored leaf hashes, 32 bytes each, concatenated in order. */
  leafHashes: Uint8Array;
  /**
   * The indexed columns of every entry as one JSON array each, concatenated with nothing between them (UTF-8):
   * [id, tenant, occurred_ms, action, actor_id, target_type, target_id, outcome, ip] — text as JSON strings,
   * occurred_ms as a JSON integer, NULL as null.
   */
  columns: Uint8Array;
  /**
   * Optional: the stored Merkle nodes the window's entries complete, level by level (getMerkleLevel's rows for
   * level L ≥ 1, indexes floor(fromSeq / 2^L) … floor((fromSeq + count) / 2^L) - 1, packed). A level absent here
   * is read with getMerkleLevel.
   */
  nodes?: PackedMerkleLevel[];
}

/** One level of stored Merkle nodes, packed: the rows getMerkleLevel returns, when each is an integer index and a 32-byte hash. */
export interface PackedMerkleLevel {
  level: number;
  /** The stored indexes, ascending. */
  indexes: Float64Array;
  /** Their hashes, 32 bytes each, in the same order. */
  hashes: Uint8Array;
}

/**
 * A readLogPacked for worker threads: `source` is CommonJS source of an expression `(data) => reader`, where
 * reader(tenant, fromSeq, limit) returns what readLogPacked would (synchronously); `data` is structured-cloneable.
 */
export interface PackedLogWorker {
  source: string;
  data: unknown;
}

export type ApiKeyScope = string;

export interface ApiKeyRecord {
  id: string;
  name: string;
  prefix: string;
  secretHash: Uint8Array;
  scopes: ApiKeyScope[];
  tenant: string | null;
  createdMs: number;
  expiresMs: number | null;
  lastUsedMs: number | null;
  revokedMs: number | null;
}

/** A local user (DESIGN.md §5). The password exists only as `passwordHash` (a self-describing scrypt string). */
export interface UserRecord {
  id: string;
  username: string;
  /** Lower-cased username: unique, so that "Alice" and "alice" are one user. */
  usernameKey: string;
  passwordHash: string;
  role: string;
  scopes: string[];
  tenant: string | null;
  createdMs: number;
  updatedMs: number;
  disabledMs: number | null;
  /** Login tokens issued before this instant are refused (set when the user is disabled). */
  sessionsNotBeforeMs: number | null;
  lastLoginMs: number | null;
}

/** One login-throttle key's failed logins (auth/lockout.ts decides; the store keeps it for every process). */
export interface LoginFailureRecord {
  /** `user:<username>` or `ip:<address>`. */
  key: string;
  failures: number;
  windowStartMs: number;
  lastFailureMs: number;
  /** 0: not locked. */
  lockedUntilMs: number;
  /** When the record stops counting (its lockout or window is over); pruned after. */
  expiresMs: number;
}

/** What a login-throttle update writes: per key a record to store, or null to delete it; and what it answers. */
export interface LoginFailureDecision<T> {
  result: T;
  write: Map<string, LoginFailureRecord | null>;
}

/** How long one tenant's stream (`events`, `logs`) is kept; the SQL lives in store/<backend>/retention.ts. */
export interface RetentionPolicyRecord {
  tenant: string;
  stream: string;
  /** Days to keep; 0 = forever. */
  days: number;
  updatedMs: number;
  /** Who set it (principal id). */
  updatedBy: string;
}

/** One stored system-log entry (the second stream: not in the Merkle log). The SQL lives in store/<backend>/logs.ts. */
export interface StoredLogRow {
  orderKey: bigint;
  /** Arrival position in the tenant's log stream: 0, 1, 2, … in commit order (the live tail's cursor). */
  seq: number;
  /** JSON of the wire LogEntry. */
  body: string;
}

export interface LogPage {
  rows: StoredLogRow[];
  /** Present when more rows may follow. */
  lastOrderKey: bigint | null;
}

export interface LogStatsResult {
  /** Level number → count in the window. */
  byLevel: Map<number, number>;
  /** The `top` services by count in the window, largest first. */
  byService: { service: string; count: number }[];
  /** Hour start (epoch ms) → level number → count; only non-empty hours. */
  hours: Map<number, Map<number, number>>;
}

/** Filter of admin listings: only credentials bound to this tenant. */
export interface IdentityFilter {
  tenant?: string;
}

export interface Store {
  readonly capabilities: StoreCapabilities;
  /** Applies pending migrations; safe to call on every start. Returns the names applied now. */
  migrate(): Promise<string[]>;
  /** This code's migrations the database has not applied (all of them when it has none); reads only. */
  pendingMigrations(): Promise<string[]>;

  /**
   * Appends several requests in one transaction (group commit); resolves after the commit is durable. `handOff`, if
   * called, lets the next group start before this one resolves (see pipelinedCommits).
   */
  appendEvents(requests: AppendRequest[], handOff?: () => void): Promise<AppendResult[]>;
  /** A live event (null when absent or redacted). */
  getEvent(tenant: string, id: string): Promise<StoredEventRow | null>;
  listEvents(page: EventPageRequest): Promise<EventPage>;
  countEvents(filter: EventFilter): Promise<number>;
  eventStats(request: StatsRequest): Promise<StatsResult>;

  /** Tenants that have a log, with their sizes. */
  listTenantLogs(): Promise<{ tenant: string; size: number }[]>;
  /** Tenants that occur in stored events (the verifier compares this with listTenantLogs). */
  listEventTenants(): Promise<string[]>;
  getTreeHead(tenant: string): Promise<TreeHead>;
  /** Stored perfect-subtree hashes by node id (level 0 = leaf hashes); missing nodes are absent from the map. */
  getMerkleNodes(tenant: string, ids: NodeId[]): Promise<Map<string, Uint8Array>>;
  /** Stored nodes of one level in an index range, ascending (for the verifier). */
  getMerkleLevel(
    tenant: string,
    level: number,
    fromIndex: number,
    toIndex: number,
  ): Promise<{ index: number; hash: Uint8Array }[]>;
  /** A live event by seq (null when absent or redacted). */
  getEventBySeq(tenant: string, seq: number): Promise<StoredEventRow | null>;
  /** Log entries (live and redacted) with seq >= fromSeq in seq order, at most `limit`. */
  readLog(tenant: string, fromSeq: number, limit: number): Promise<LogEntryRow[]>;
  /**
   * Optional fast path for `logbook verify`: the window readLog(tenant, fromSeq, limit) returns, packed (see
   * PackedLogWindow). Resolves null for a window the adapter cannot pack exactly — a seq that is not an integer, a
   * leaf hash that is not a 32-byte blob, a column of an unexpected type, a redacted entry — and the verifier then reads that window
   * with readLog. Without this method the verifier reads every window with readLog (same findings, slower).
   */
  readLogPacked?(tenant: string, fromSeq: number, limit: number): Promise<PackedLogWindow | null>;
  /**
   * Optional, with readLogPacked: how a worker thread reads the same windows on its own connection, so that the
   * verifier reads several windows at once (SQLite reads are synchronous: one connection is one core).
   */
  packedLogWorker?(): PackedLogWorker;
  logBounds(tenant: string): Promise<LogBounds>;
  /**
   * Removes the payloads of up to `limit` live entries matching the target (ids, or occurred before beforeMs) with
   * seq < recordSeq, in one transaction: lists, search, counts and stats stop showing them; seq, id, time and leaf
   * hash stay for proofs. Returns the ids redacted now (fewer than `limit`: nothing left to do).
   */
  redactEvents(target: RedactionTarget): Promise<string[]>;
  /**
   * Optional (stores whose payloads live in time partitions): drops every partition whose rows are all covered by a
   * target (their tenant's cut-off after the partition's end, seqs below its belowSeq) or kept, and records each
   * tenant's share as a PrunedRange in the same transaction. Partitions it cannot drop are left for redactEvents.
   */
  pruneEventPartitions?(request: PruneRequest): Promise<PruneOutcome>;
  /** Optional, with pruneEventPartitions: the tenant's pruned ranges, oldest first (the verifier checks them). */
  listPrunedRanges?(tenant: string): Promise<PrunedRange[]>;
  saveCheckpoint(checkpoint: StoredCheckpoint): Promise<void>;
  /** The checkpoint at exactly `treeSize`, or the latest one when treeSize is omitted. */
  getCheckpoint(tenant: string, treeSize?: number): Promise<StoredCheckpoint | null>;
  /** The earliest checkpoint whose tree size is at least `minSize`. */
  getCheckpointCovering(tenant: string, minSize: number): Promise<StoredCheckpoint | null>;
  listCheckpoints(tenant: string): Promise<StoredCheckpoint[]>;

  insertApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKeyByHash(secretHash: Uint8Array): Promise<ApiKeyRecord | null>;
  /** Oldest first. */
  listApiKeys(filter?: IdentityFilter): Promise<ApiKeyRecord[]>;
  countApiKeys(): Promise<number>;
  touchApiKey(id: string, usedMs: number): Promise<void>;
  findApiKeyById(id: string): Promise<ApiKeyRecord | null>;
  /** Sets revokedMs unless already revoked; returns the key as stored afterwards (null: no such key). */
  revokeApiKey(id: string, revokedMs: number): Promise<ApiKeyRecord | null>;

  /** False when the username (case-insensitively) is taken. */
  insertUser(user: UserRecord): Promise<boolean>;
  findUserById(id: string): Promise<UserRecord | null>;
  findUserByUsernameKey(usernameKey: string): Promise<UserRecord | null>;
  /** Oldest first. */
  listUsers(filter?: IdentityFilter): Promise<UserRecord[]>;
  /**
   * Disables (disabledMs = a time; also refuses tokens issued before it) or enables (null) a user.
   * Returns the user as stored afterwards (null: no such user).
   */
  setUserDisabled(id: string, disabledMs: number | null, nowMs: number): Promise<UserRecord | null>;
  recordUserLogin(id: string, loginMs: number): Promise<void>;
  /**
   * Reads the login-failure records of `keys` in one transaction that holds those keys against other attempts (in
   * every process), and stores what `decide` (pure, synchronous) returns before releasing them.
   */
  updateLoginFailures<T>(
    keys: string[],
    decide: (records: Map<string, LoginFailureRecord>) => LoginFailureDecision<T>,
  ): Promise<T>;
  /** Deletes login-failure records with expiresMs <= nowMs; resolves how many. */
  pruneLoginFailures(nowMs: number): Promise<number>;

  /** The stored retention policy of one tenant's stream (null: none set, the configured default applies). */
  getRetentionPolicy(tenant: string, stream: string): Promise<RetentionPolicyRecord | null>;
  /** Every stored retention policy, by tenant then stream. */
  listRetentionPolicies(): Promise<RetentionPolicyRecord[]>;
  /** Creates or replaces the policy of (tenant, stream). */
  putRetentionPolicy(policy: RetentionPolicyRecord): Promise<void>;

  /**
   * Appends system-log entries in one transaction (group commit) and resolves after the commit is durable. Each entry
   * gets its tenant's next seq; a tenant's seqs become visible in order (its appends are serialised), so a reader
   * that has seen seq n never later finds a new entry below n.
   */
  appendLogs(entries: PreparedLogEntry[], handOff?: () => void): Promise<void>;
  getLog(tenant: string, id: string): Promise<StoredLogRow | null>;
  listLogs(page: LogPageRequest): Promise<LogPage>;
  /** Entries matching a filter (a compatible API's page total). */
  countLogs(filter: LogFilter): Promise<number>;
  /** Deletes one entry (and its rollup count); resolves whether it existed. System logs have no Merkle log. */
  deleteLog(tenant: string, id: string): Promise<boolean>;
  logStats(request: LogStatsRequest): Promise<LogStatsResult>;
  /** The tenant's entries with seq > afterSeq in seq (arrival) order, at most `limit`: what the live tail reads. */
  readLogsAfter(tenant: string, afterSeq: number, limit: number): Promise<StoredLogRow[]>;
  /** The highest seq of the tenant's log entries (-1: none yet). */
  logHeadSeq(tenant: string): Promise<number>;
  /** Tenants that have log entries. */
  listLogTenants(): Promise<string[]>;
  /** Deletes up to `limit` of the tenant's entries whose timestamp is before `beforeMs`; resolves how many went. */
  deleteLogsBefore(tenant: string, beforeMs: number, limit: number): Promise<number>;

  /** Cheap liveness probe of the database. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
