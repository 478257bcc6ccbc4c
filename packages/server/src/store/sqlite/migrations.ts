// SQLite schema, as an ordered list of named migrations (the PostgreSQL adapter uses the same names for the same
// change; 0008 is backend-specific: SQLite's key index, PostgreSQL's pruned ranges).
// Never edit a migration that has shipped: add a new one.

export interface Migration {
  name: string;
  sql: string;
}

export const SQLITE_MIGRATIONS: Migration[] = [
  {
    name: '0001_events',
    sql: `
      CREATE TABLE tenant_logs (
        tenant TEXT PRIMARY KEY,
        size INTEGER NOT NULL
      ) STRICT;

      -- order_key is the rowid: occurrence ms << 20 | counter (see domain/time.ts). One B-tree serves newest-first,
      -- time ranges and cursors; each secondary index implicitly ends in it, so "actor X, newest first" is one seek.
      CREATE TABLE events (
        order_key INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        seq INTEGER NOT NULL,
        id TEXT NOT NULL,
        occurred_ms INTEGER NOT NULL,
        received_ms INTEGER NOT NULL,
        action TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        target_type TEXT,
        target_id TEXT,
        outcome TEXT NOT NULL,
        ip TEXT,
        body TEXT NOT NULL,
        leaf_hash BLOB NOT NULL,
        input_digest BLOB
      ) STRICT;
      CREATE UNIQUE INDEX events_tenant_id ON events (tenant, id);
      CREATE UNIQUE INDEX events_tenant_seq ON events (tenant, seq);
      CREATE INDEX events_tenant ON events (tenant);
      CREATE INDEX events_tenant_actor ON events (tenant, actor_id);
      CREATE INDEX events_tenant_target ON events (tenant, target_type, target_id);
      CREATE INDEX events_tenant_action ON events (tenant, action);

      -- Contentless: the text is not stored twice; its rowid is the event's order_key, so matches come back in time order.
      CREATE VIRTUAL TABLE events_fts USING fts5 (
        text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
      );

      -- Rollups maintained in the append transaction, so stats never scan events.
      CREATE TABLE event_counts_hour (
        tenant TEXT NOT NULL,
        hour INTEGER NOT NULL,
        action TEXT NOT NULL,
        target_type TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant, hour, action, target_type)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE actor_counts_day (
        tenant TEXT NOT NULL,
        day INTEGER NOT NULL,
        actor_id TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant, day, actor_id)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    name: '0002_api_keys',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        secret_hash BLOB NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        tenant TEXT,
        created_ms INTEGER NOT NULL,
        expires_ms INTEGER,
        last_used_ms INTEGER,
        revoked_ms INTEGER
      ) STRICT;
    `,
  },
  {
    name: '0003_merkle',
    sql: `
      -- The compact range (perfect-subtree roots, left to right) of each tenant's log: O(log n) appends and roots.
      ALTER TABLE tenant_logs ADD COLUMN range_hashes BLOB NOT NULL DEFAULT x'';

      -- Every completed perfect subtree above the leaves (leaves are events.leaf_hash), so any proof is O(log n) reads.
      CREATE TABLE merkle_nodes (
        tenant TEXT NOT NULL,
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (tenant, level, idx)
      ) STRICT, WITHOUT ROWID;

      -- Every signed checkpoint ever made (C2SP signed note), kept for consistency proofs and the verifier.
      CREATE TABLE checkpoints (
        tenant TEXT NOT NULL,
        tree_size INTEGER NOT NULL,
        root_hash BLOB NOT NULL,
        created_ms INTEGER NOT NULL,
        note TEXT NOT NULL,
        PRIMARY KEY (tenant, tree_size)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    name: '0004_identity',
    sql: `
      -- Local users (dashboard and API logins). username_key = lower(username) makes names unique case-insensitively.
      CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        username_key TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        role TEXT NOT NULL,
        scopes TEXT NOT NULL,
        tenant TEXT,
        created_ms INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        disabled_ms INTEGER,
        sessions_not_before_ms INTEGER,
        last_login_ms INTEGER
      ) STRICT;
      CREATE INDEX users_tenant ON users (tenant);
      CREATE INDEX api_keys_tenant ON api_keys (tenant);
    `,
  },
  {
    name: '0005_system_logs',
    sql: `
      -- System logs (the second stream, store/sqlite/logs.ts): no Merkle log. order_key is the rowid, as for events
      -- (timestamp ms << 20 | counter): newest-first, time ranges and cursors are one B-tree. seq is the arrival
      -- position per tenant (the live tail's cursor); log_heads holds each tenant's last seq.
      CREATE TABLE log_heads (
        tenant TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE logs (
        order_key INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        seq INTEGER NOT NULL,
        id TEXT NOT NULL,
        ts_ms INTEGER NOT NULL,
        level INTEGER NOT NULL,
        service TEXT NOT NULL,
        trace_id TEXT,
        body TEXT NOT NULL
      ) STRICT;
      -- Every index grows at its end on live traffic (seq, UUIDv7 ids and order keys all increase), so ingest does
      -- not dirty random pages. Each implicitly ends in the rowid: "service X, newest first" is one range walk.
      CREATE UNIQUE INDEX logs_tenant_seq ON logs (tenant, seq);
      CREATE INDEX logs_tenant_id ON logs (tenant, id);
      CREATE INDEX logs_tenant ON logs (tenant);
      CREATE INDEX logs_tenant_service ON logs (tenant, service);
      CREATE INDEX logs_tenant_level ON logs (tenant, level);
      -- Message, details and trace/span ids (a trace id filter is a full-text lookup, no index of random keys).
      CREATE VIRTUAL TABLE logs_fts USING fts5 (
        text, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
      );
      -- Rollup maintained in the append transaction, so stats never scan logs.
      CREATE TABLE log_counts_hour (
        tenant TEXT NOT NULL,
        hour INTEGER NOT NULL,
        level INTEGER NOT NULL,
        service TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (tenant, hour, service, level)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    name: '0006_redaction',
    sql: `
      -- Redaction (erasure, retention, surface deletes) keeps the row with its seq, id, time and leaf hash and blanks
      -- the payload; redacted_by is the seq of the audit event that recorded the deletion (the verifier checks it).
      ALTER TABLE events ADD COLUMN redacted_by INTEGER;
      -- Redacted rows per tenant, so an unfiltered count stays one read of tenant_logs.
      ALTER TABLE tenant_logs ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    name: '0007_retention',
    sql: `
      -- Retention policy per tenant and stream (days to keep, 0 = forever); tenants without a row use
      -- LOGBOOK_RETENTION_DAYS. Applying a policy redacts (services/retention.ts), so the log stays verifiable.
      CREATE TABLE retention_policies (
        tenant TEXT NOT NULL,
        stream TEXT NOT NULL,
        days INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL,
        updated_by TEXT NOT NULL,
        PRIMARY KEY (tenant, stream)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    name: '0008_key_index',
    sql: `
      -- Actor, target and action lookups move from three B-tree indexes to one contentless FTS5 table of exact-key tokens
      -- (store/sqlite/full-text.ts, eventKeyTokens). Ids are random keys: a B-tree on them dirties one page per row in
      -- every commit and fell to ~5,000 rows/s at 1M events; FTS5 writes each commit's keys as one sorted segment and
      -- merges in the background, LSM-style (docs/storage.md). Each token is prefix + hex(tenant) + 'x' + hex(value),
      -- so no value can be FTS5 syntax or split into words; queries re-check the columns, so a match is exact.
      CREATE VIRTUAL TABLE events_keys USING fts5 (
        keys, content = '', contentless_delete = 1, detail = none, tokenize = 'ascii'
      );
      INSERT INTO events_keys (rowid, keys)
        SELECT order_key,
               'a' || hex(tenant) || 'x' || hex(actor_id) || ' c' || hex(tenant) || 'x' || hex(action)
               || CASE WHEN target_type IS NULL THEN '' ELSE ' y' || hex(tenant) || 'x' || hex(target_type) END
               || CASE WHEN target_id IS NULL THEN '' ELSE ' i' || hex(tenant) || 'x' || hex(target_id) END
               || CASE WHEN target_type IS NULL OR target_id IS NULL THEN ''
                       ELSE ' t' || hex(tenant) || 'x' || hex(target_type) || 'x' || hex(target_id) END
          FROM events WHERE redacted_by IS NULL;
      DROP INDEX events_tenant_actor;
      DROP INDEX events_tenant_target;
      -- An action prefix (invoice.*) over this index had to sort every match to find the newest (0.5 s in the soak).
      DROP INDEX events_tenant_action;
      -- Redacted rows only (few): stats count a partial hour from the (tenant) index minus these, without reading rows.
      CREATE INDEX events_redacted ON events (tenant, order_key) WHERE redacted_by IS NOT NULL;
    `,
  },
  {
    name: '0009_login_failures',
    sql: `
      -- Failed-login counters of the login throttle (auth/lockout.ts), per key (user:<name>, ip:<address>): kept in the
      -- store so that a restart forgets no lockout. expires_ms: when the row stops counting; expired rows are pruned.
      CREATE TABLE login_failures (
        key TEXT PRIMARY KEY,
        failures INTEGER NOT NULL,
        window_start_ms INTEGER NOT NULL,
        last_failure_ms INTEGER NOT NULL,
        locked_until_ms INTEGER NOT NULL,
        expires_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX login_failures_expires ON login_failures (expires_ms);
    `,
  },
  {
    name: '0010_event_actions',
    sql: `
      -- The distinct actions of each tenant, so that an action prefix (invoice.*) becomes a list of exact action tokens:
      -- FTS5 reads an OR of tokens lazily in rowid order, but materialises a token-prefix query's whole merged doclist
      -- (every payment.* event, 119 ms per query at 1M events). Every append writes a rollup row per action, so the
      -- rollups list every action ever written.
      CREATE TABLE event_actions (
        tenant TEXT NOT NULL,
        action TEXT NOT NULL,
        PRIMARY KEY (tenant, action)
      ) STRICT, WITHOUT ROWID;
      INSERT INTO event_actions (tenant, action) SELECT DISTINCT tenant, action FROM event_counts_hour;
    `,
  },
  {
    name: '0011_late_appends',
    sql: `
      -- Appends of events dated before the UTC day they were received: with redacted, the only writes to a closed
      -- day's rollups, so stats may keep closed-day sums until one of the two changes (closed-rollups.ts).
      ALTER TABLE tenant_logs ADD COLUMN late_appends INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    name: '0012_fts_automerge',
    sql: `
      -- FTS5 merges a level's segments once 4 have piled up (the default): on append-only audit data that rewrote
      -- the text index over and over. Merging 16 at a time cut the text index's CPU per event from 23 to 14 µs at
      -- 300k rows (in-process, docs/PERFORMANCE.md); term, phrase and deep-cursor lookups stayed under 2 ms.
      INSERT INTO events_fts (events_fts, rank) VALUES ('automerge', 16);
      INSERT INTO events_keys (events_keys, rank) VALUES ('automerge', 16);
      INSERT INTO logs_fts (logs_fts, rank) VALUES ('automerge', 16);
    `,
  },
];
