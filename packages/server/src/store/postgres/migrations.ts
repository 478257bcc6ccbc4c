// PostgreSQL schema, as an ordered list of named migrations with the same names as SQLite's (store/sqlite/migrations.ts).
// Never edit a migration that has shipped: add a new one. Why each table and index exists: docs/postgres.md.
export interface Migration {
  name: string;
  sql: string;
}

export const POSTGRES_MIGRATIONS: Migration[] = [
  {
    name: '0001_events',
    sql: `
      -- One row per tenant log: its size and (0003) its Merkle compact range. Appends lock this row (FOR UPDATE), so
      -- one tenant's appends are serialised across every Logbook process sharing the database.
      CREATE TABLE tenant_logs (
        tenant text COLLATE "C" PRIMARY KEY,
        size bigint NOT NULL
      );

      -- The payloads, partitioned by order_key (occurrence ms << 20 | counter), i.e. by occurrence time: monthly
      -- partitions are created ahead (partitions.ts), so retention drops whole months. order_key is unique per tenant
      -- and allocated under the tenant lock. Text columns use COLLATE "C": byte order, exact prefix ranges.
      CREATE TABLE events (
        tenant text COLLATE "C" NOT NULL,
        order_key bigint NOT NULL,
        seq bigint NOT NULL,
        occurred_ms bigint NOT NULL,
        received_ms bigint NOT NULL,
        action text COLLATE "C" NOT NULL,
        actor_id text COLLATE "C" NOT NULL,
        target_type text COLLATE "C",
        target_id text COLLATE "C",
        outcome text COLLATE "C" NOT NULL,
        ip text COLLATE "C",
        body text NOT NULL,
        search tsvector NOT NULL,
        PRIMARY KEY (tenant, order_key)
      ) PARTITION BY RANGE (order_key);
      CREATE TABLE events_default PARTITION OF events DEFAULT;
      CREATE INDEX events_actor ON events (tenant, actor_id, order_key);
      CREATE INDEX events_target ON events (tenant, target_type, target_id, order_key);
      CREATE INDEX events_action ON events (tenant, action, order_key);
      CREATE INDEX events_search ON events USING gin (search);

      -- The permanent log index, not partitioned: seq -> leaf hash (the Merkle leaves, kept when retention drops
      -- payload partitions), id -> seq (get by id, and idempotency: a partitioned table cannot have a unique index
      -- without the partition key), and the answer a retry gets.
      CREATE TABLE log_leaves (
        tenant text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        id text COLLATE "C" NOT NULL,
        order_key bigint NOT NULL,
        occurred_ms bigint NOT NULL,
        received_ms bigint NOT NULL,
        leaf_hash bytea NOT NULL,
        input_digest bytea,
        PRIMARY KEY (tenant, seq),
        UNIQUE (tenant, id)
      );

      -- Rollups maintained in the append transaction, so stats never scan events.
      CREATE TABLE event_counts_hour (
        tenant text COLLATE "C" NOT NULL,
        hour integer NOT NULL,
        action text COLLATE "C" NOT NULL,
        target_type text COLLATE "C" NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (tenant, hour, action, target_type)
      );
      CREATE TABLE actor_counts_day (
        tenant text COLLATE "C" NOT NULL,
        day integer NOT NULL,
        actor_id text COLLATE "C" NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (tenant, day, actor_id)
      );
    `,
  },
  {
    name: '0002_api_keys',
    sql: `
      CREATE TABLE api_keys (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        prefix text NOT NULL,
        secret_hash bytea NOT NULL UNIQUE,
        scopes text NOT NULL,
        tenant text COLLATE "C",
        created_ms bigint NOT NULL,
        expires_ms bigint,
        last_used_ms bigint,
        revoked_ms bigint
      );
    `,
  },
  {
    name: '0003_merkle',
    sql: `
      -- The compact range (perfect-subtree roots, left to right) of each tenant's log: O(log n) appends and roots.
      ALTER TABLE tenant_logs ADD COLUMN range_hashes bytea NOT NULL DEFAULT '\\x';

      -- Every completed perfect subtree above the leaves (leaves are log_leaves.leaf_hash): any proof is O(log n) reads.
      CREATE TABLE merkle_nodes (
        tenant text COLLATE "C" NOT NULL,
        level smallint NOT NULL,
        idx bigint NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (tenant, level, idx)
      );

      -- Every signed checkpoint ever made (C2SP signed note), kept for consistency proofs and the verifier.
      CREATE TABLE checkpoints (
        tenant text COLLATE "C" NOT NULL,
        tree_size bigint NOT NULL,
        root_hash bytea NOT NULL,
        created_ms bigint NOT NULL,
        note text NOT NULL,
        PRIMARY KEY (tenant, tree_size)
      );
    `,
  },
  {
    name: '0004_identity',
    sql: `
      -- Local users (dashboard and API logins). username_key = lower(username) makes names unique case-insensitively.
      CREATE TABLE users (
        id text COLLATE "C" PRIMARY KEY,
        username text NOT NULL,
        username_key text COLLATE "C" NOT NULL UNIQUE,
        password_hash text NOT NULL,
        role text NOT NULL,
        scopes text NOT NULL,
        tenant text COLLATE "C",
        created_ms bigint NOT NULL,
        updated_ms bigint NOT NULL,
        disabled_ms bigint,
        sessions_not_before_ms bigint,
        last_login_ms bigint
      );
      CREATE INDEX users_tenant ON users (tenant);
      CREATE INDEX api_keys_tenant ON api_keys (tenant);
    `,
  },
  {
    name: '0005_system_logs',
    sql: `
      -- System logs (the second stream, store/postgres/logs.ts): no Merkle log. Partitioned by order_key (timestamp
      -- ms << 20 | counter) into months like events (partitions.ts), so retention can drop whole months. seq is the
      -- arrival position per tenant, allocated under the tenant's log_heads row lock, hence visible in commit order:
      -- the live tail's cursor. Text columns COLLATE "C" as for events.
      CREATE TABLE log_heads (
        tenant text COLLATE "C" PRIMARY KEY,
        seq bigint NOT NULL
      );
      CREATE TABLE logs (
        tenant text COLLATE "C" NOT NULL,
        order_key bigint NOT NULL,
        seq bigint NOT NULL,
        id text COLLATE "C" NOT NULL,
        ts_ms bigint NOT NULL,
        level smallint NOT NULL,
        service text COLLATE "C" NOT NULL,
        trace_id text COLLATE "C",
        body text NOT NULL,
        search tsvector NOT NULL,
        PRIMARY KEY (tenant, order_key)
      ) PARTITION BY RANGE (order_key);
      CREATE TABLE logs_default PARTITION OF logs DEFAULT;
      CREATE INDEX logs_seq ON logs (tenant, seq);
      CREATE INDEX logs_id ON logs (tenant, id);
      CREATE INDEX logs_service ON logs (tenant, service, order_key);
      CREATE INDEX logs_level ON logs (tenant, level, order_key);
      -- Message, details and trace/span ids (a trace id filter is a GIN lookup, no B-tree of random keys).
      CREATE INDEX logs_search ON logs USING gin (search);
      CREATE TABLE log_counts_hour (
        tenant text COLLATE "C" NOT NULL,
        hour integer NOT NULL,
        level smallint NOT NULL,
        service text COLLATE "C" NOT NULL,
        count bigint NOT NULL,
        PRIMARY KEY (tenant, hour, service, level)
      );
    `,
  },
  {
    name: '0006_redaction',
    sql: `
      -- Redaction removes the payload row from events; the permanent leaf stays, marked with the seq of the audit
      -- event that recorded the deletion (the verifier checks it).
      ALTER TABLE log_leaves ADD COLUMN redacted_by bigint;
      -- Redacted leaves per tenant, so an unfiltered count stays one read of tenant_logs.
      ALTER TABLE tenant_logs ADD COLUMN redacted bigint NOT NULL DEFAULT 0;
    `,
  },
  {
    name: '0007_retention',
    sql: `
      -- Retention policy per tenant and stream (days to keep, 0 = forever); tenants without a row use
      -- LOGBOOK_RETENTION_DAYS. Applying a policy redacts (services/retention.ts), so the log stays verifiable.
      CREATE TABLE retention_policies (
        tenant text COLLATE "C" NOT NULL,
        stream text COLLATE "C" NOT NULL,
        days integer NOT NULL,
        updated_ms bigint NOT NULL,
        updated_by text NOT NULL,
        PRIMARY KEY (tenant, stream)
      );
    `,
  },
  {
    name: '0008_pruned_ranges',
    sql: `
      -- A payload partition of events dropped whole by retention (pruning.ts), one row per tenant that had rows in it:
      -- its leaves (order_key in [from_key, to_key), seq < below_seq) keep their hash and lose their payload without
      -- a row update. record_seq is the deletion record (logbook.events.redact) the drop carried out; the verifier
      -- checks the row against it and counts the leaves it covers. Written in the drop's transaction.
      CREATE TABLE pruned_ranges (
        tenant text COLLATE "C" NOT NULL,
        from_key bigint NOT NULL,
        to_key bigint NOT NULL,
        below_seq bigint NOT NULL,
        record_seq bigint NOT NULL,
        count bigint NOT NULL,
        partition text NOT NULL,
        pruned_ms bigint NOT NULL,
        PRIMARY KEY (tenant, from_key, below_seq)
      );
    `,
  },
  {
    name: '0009_login_failures',
    sql: `
      -- Failed-login counters of the login throttle (auth/lockout.ts), per key (user:<name>, ip:<address>), shared by
      -- every process on this database so that N processes do not give an attacker N times the attempts. Updated
      -- under a transaction-scoped advisory lock per key (identity.ts). expires_ms: when the row stops counting.
      CREATE TABLE login_failures (
        key text COLLATE "C" PRIMARY KEY,
        failures integer NOT NULL,
        window_start_ms bigint NOT NULL,
        last_failure_ms bigint NOT NULL,
        locked_until_ms bigint NOT NULL,
        expires_ms bigint NOT NULL
      );
      CREATE INDEX login_failures_expires ON login_failures (expires_ms);
    `,
  },
  {
    name: '0010_late_appends',
    sql: `
      -- Appends of events dated before the UTC day they were received: with redacted, the only writes to a closed
      -- day's rollups, so stats may keep closed-day sums until one of the two changes (store/closed-rollups.ts).
      -- SQLite's migration of the same purpose is 0011_late_appends.
      ALTER TABLE tenant_logs ADD COLUMN late_appends bigint NOT NULL DEFAULT 0;
    `,
  },
  {
    name: '0011_event_leaf_hash',
    sql: `
      -- A copy of the leaf hash in the payload row, so a listed page reads its rows and nothing else: looking each
      -- one up in log_leaves was a second random read per row on a cold page. log_leaves stays the log's record (it
      -- outlives dropped partitions); the verifier reports a copy that disagrees with it. Rows written before this
      -- migration keep NULL and are listed with the lookup, as before: adding a nullable column rewrites nothing.
      ALTER TABLE events ADD COLUMN leaf_hash bytea;
    `,
  },
];
