// SQL that installs change capture into an application's PostgreSQL database (docs/capture.md): the logbook_capture
// schema, its outbox, and per-table triggers. Pure string generation: it never connects; every name is quoted.
import { createHash } from 'node:crypto';
import pg from 'pg';

export const CAPTURE_SCHEMA = 'logbook_capture';
/** The custom setting an application sets per transaction (`SET LOCAL logbook.actor_id = '…'`) to name the actor. */
export const ACTOR_SETTING = 'logbook.actor_id';
/** The channel the notify triggers (installed with --notify) wake the worker on. */
export const NOTIFY_CHANNEL = 'logbook_capture';
/** Bumped when the shape of the schema changes; install brings an older one up to date. */
export const CAPTURE_SCHEMA_VERSION = 1;

/** Trigger names on a captured table (triggers are per table, so a fixed name is unique). */
export const TRIGGERS = {
  row: 'logbook_capture_row',
  truncate: 'logbook_capture_truncate',
  notify: 'logbook_capture_notify',
} as const;

/** What one captured table records, as decided by `logbook capture install`. */
export interface TableSpec {
  schema: string;
  table: string;
  /** Primary-key columns in key order (pg_index); target.id is built from their values. */
  primaryKey: string[];
  /** Only these columns go into the row images (null: every column but `exclude`). */
  include: string[] | null;
  /** Columns left out of the row images (ignored when `include` is set). */
  exclude: string[];
  /** An UPDATE that changes none of the kept columns records nothing. */
  skipNoopUpdates: boolean;
  /** Also NOTIFY the worker at each write statement (wakes it at once instead of at its next poll). */
  notify: boolean;
}

const ident = (name: string) => pg.escapeIdentifier(name);
const literal = (value: string) => pg.escapeLiteral(value);
const textArray = (values: string[]) =>
  values.length === 0 ? `'{}'::text[]` : `ARRAY[${values.map(literal).join(', ')}]::text[]`;
const q = (name: string) => `${ident(CAPTURE_SCHEMA)}.${ident(name)}`;

/** `schema.table`, quoted, for DDL on the application's table. */
export const qualifiedTable = (spec: { schema: string; table: string }) =>
  `${ident(spec.schema)}.${ident(spec.table)}`;

/**
 * The per-table trigger function's name: readable, within PostgreSQL's 63-byte limit, and distinct for every
 * (schema, table) by a hash, so re-installing a table replaces its own function and no other.
 */
export function rowFunctionName(spec: { schema: string; table: string }): string {
  const hash = createHash('sha256').update(`${spec.schema}\u0000${spec.table}`).digest('hex').slice(0, 10);
  const readable = `${spec.schema}_${spec.table}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 40);
  return `row_${readable}_${hash}`;
}

/** Creates (or brings up to date) the schema: outbox, config tables, the shared trigger functions. Idempotent. */
export function schemaSql(): string[] {
  const actor = `nullif(current_setting(${literal(ACTOR_SETTING)}, true), '')`;
  return [
    `CREATE SCHEMA IF NOT EXISTS ${ident(CAPTURE_SCHEMA)}`,
    `COMMENT ON SCHEMA ${ident(CAPTURE_SCHEMA)} IS 'Logbook change capture: see logbook capture status; remove with logbook capture uninstall'`,
    // One row: the id that makes event ids unique across re-installs (outbox ids restart after an uninstall).
    `CREATE TABLE IF NOT EXISTS ${q('meta')} (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      install_id uuid NOT NULL DEFAULT gen_random_uuid(),
      version integer NOT NULL,
      installed_at timestamptz NOT NULL DEFAULT now()
    )`,
    `INSERT INTO ${q('meta')} (version) VALUES (${CAPTURE_SCHEMA_VERSION})
      ON CONFLICT (singleton) DO UPDATE SET version = excluded.version`,
    `CREATE TABLE IF NOT EXISTS ${q('tables')} (
      schema_name text NOT NULL,
      table_name text NOT NULL,
      primary_key text[] NOT NULL,
      include_columns text[],
      exclude_columns text[] NOT NULL DEFAULT '{}',
      skip_noop_updates boolean NOT NULL DEFAULT false,
      notify boolean NOT NULL DEFAULT false,
      installed_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (schema_name, table_name)
    )`,
    // Written only by the triggers, in the application's transaction: a rolled-back transaction leaves nothing here.
    `CREATE TABLE IF NOT EXISTS ${q('outbox')} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      txid bigint NOT NULL DEFAULT txid_current(),
      at timestamptz NOT NULL DEFAULT statement_timestamp(),
      schema_name text NOT NULL,
      table_name text NOT NULL,
      op text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
      pk jsonb,
      actor_id text DEFAULT ${actor},
      db_role text NOT NULL DEFAULT session_user,
      before jsonb,
      after jsonb
    )`,
    // Rows Logbook refused for good (e.g. an event it cannot store): kept here, shown by status, never dropped silently.
    `CREATE TABLE IF NOT EXISTS ${q('rejected')} (
      outbox_id bigint PRIMARY KEY,
      rejected_at timestamptz NOT NULL DEFAULT now(),
      reason text NOT NULL,
      event jsonb NOT NULL
    )`,
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${ident(CAPTURE_SCHEMA)} FROM PUBLIC`,
    `CREATE OR REPLACE FUNCTION ${q('capture_truncate')}() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
      BEGIN
        INSERT INTO ${q('outbox')} (schema_name, table_name, op) VALUES (TG_ARGV[0], TG_ARGV[1], 'TRUNCATE');
        RETURN NULL;
      END
      $fn$`,
    `CREATE OR REPLACE FUNCTION ${q('notify')}() RETURNS trigger
      LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
      BEGIN
        PERFORM pg_notify(${literal(NOTIFY_CHANNEL)}, '');
        RETURN NULL;
      END
      $fn$`,
  ];
}

/** The image expression for `row` (a jsonb of the whole row): the kept columns only. */
function imageOf(row: string, spec: TableSpec): string {
  if (spec.include) {
    // `row -> 'col'`, never `NEW.col`: a renamed or dropped column then yields null instead of failing the
    // application's write (re-run install after such a change).
    return `jsonb_build_object(${spec.include.map((c) => `${literal(c)}, ${row} -> ${literal(c)}`).join(', ')})`;
  }
  return spec.exclude.length === 0 ? row : `${row} - ${textArray(spec.exclude)}`;
}

/**
 * The row trigger function of one table: it writes one outbox row per changed row, with the row images (kept
 * columns only), the primary-key values (always, even when excluded from the images) and the actor setting.
 * SECURITY DEFINER: application roles need no rights on the outbox, so they cannot forge rows in it.
 */
export function rowFunctionSql(spec: TableSpec): string {
  const key = `jsonb_build_array(${spec.primaryKey.map((c) => `full_row -> ${literal(c)}`).join(', ')})`;
  const skip = spec.skipNoopUpdates
    ? `IF TG_OP = 'UPDATE' AND old_image = new_image THEN RETURN NULL; END IF;`
    : '';
  return `CREATE OR REPLACE FUNCTION ${q(rowFunctionName(spec))}() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    DECLARE
      full_row jsonb;
      old_image jsonb;
      new_image jsonb;
    BEGIN
      IF TG_OP <> 'INSERT' THEN full_row := to_jsonb(OLD); old_image := ${imageOf('full_row', spec)}; END IF;
      IF TG_OP <> 'DELETE' THEN full_row := to_jsonb(NEW); new_image := ${imageOf('full_row', spec)}; END IF;
      ${skip}
      INSERT INTO ${q('outbox')} (schema_name, table_name, op, pk, before, after)
        VALUES (${literal(spec.schema)}, ${literal(spec.table)}, TG_OP, ${key}, old_image, new_image);
      RETURN NULL;
    END
    $fn$`;
}

/** Removes a table's capture triggers (the table itself is untouched). */
export function dropTableTriggersSql(spec: { schema: string; table: string }): string[] {
  const table = qualifiedTable(spec);
  return Object.values(TRIGGERS).map((name) => `DROP TRIGGER IF EXISTS ${ident(name)} ON ${table}`);
}

/** Installs (or replaces) the triggers of one table, and records its options. Idempotent. */
export function tableSql(spec: TableSpec): string[] {
  const table = qualifiedTable(spec);
  return [
    rowFunctionSql(spec),
    ...dropTableTriggersSql(spec),
    `CREATE TRIGGER ${ident(TRIGGERS.row)} AFTER INSERT OR UPDATE OR DELETE ON ${table}
      FOR EACH ROW EXECUTE FUNCTION ${q(rowFunctionName(spec))}()`,
    `CREATE TRIGGER ${ident(TRIGGERS.truncate)} AFTER TRUNCATE ON ${table}
      FOR EACH STATEMENT EXECUTE FUNCTION ${q('capture_truncate')}(${literal(spec.schema)}, ${literal(spec.table)})`,
    ...(spec.notify
      ? [
          `CREATE TRIGGER ${ident(TRIGGERS.notify)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
            FOR EACH STATEMENT EXECUTE FUNCTION ${q('notify')}()`,
        ]
      : []),
    `INSERT INTO ${q('tables')} (schema_name, table_name, primary_key, include_columns, exclude_columns,
        skip_noop_updates, notify)
      VALUES (${literal(spec.schema)}, ${literal(spec.table)}, ${textArray(spec.primaryKey)},
        ${spec.include ? textArray(spec.include) : 'NULL'}, ${textArray(spec.exclude)}, ${spec.skipNoopUpdates},
        ${spec.notify})
      ON CONFLICT (schema_name, table_name) DO UPDATE SET primary_key = excluded.primary_key,
        include_columns = excluded.include_columns, exclude_columns = excluded.exclude_columns,
        skip_noop_updates = excluded.skip_noop_updates, notify = excluded.notify, updated_at = now()`,
  ];
}

/** Stops capturing one table: its triggers, its function and its config row go; its pending outbox rows stay. */
export function removeTableSql(spec: { schema: string; table: string }, tableExists: boolean): string[] {
  return [
    ...(tableExists ? dropTableTriggersSql(spec) : []),
    `DROP FUNCTION IF EXISTS ${q(rowFunctionName(spec))}()`,
    `DELETE FROM ${q('tables')} WHERE schema_name = ${literal(spec.schema)} AND table_name = ${literal(spec.table)}`,
  ];
}

/** Removes the whole schema (after every table's triggers were removed). */
export function dropSchemaSql(): string {
  return `DROP SCHEMA IF EXISTS ${ident(CAPTURE_SCHEMA)} CASCADE`;
}

/** One outbox batch, oldest first, skipping rows another worker holds. */
export function selectBatchSql(): string {
  // ORDER BY o.id, not id: the output column "id" is text, and '10' sorts before '2'.
  return `SELECT o.id::text AS id, o.txid::text AS txid, o.at, o.schema_name, o.table_name, o.op, o.pk::text AS pk,
      o.actor_id, o.db_role, o.before::text AS before, o.after::text AS after
    FROM ${q('outbox')} o ORDER BY o.id LIMIT $1 FOR UPDATE SKIP LOCKED`;
}

export const deleteBatchSql = () => `DELETE FROM ${q('outbox')} WHERE id = ANY($1::bigint[])`;

export const insertRejectedSql = () =>
  `INSERT INTO ${q('rejected')} (outbox_id, reason, event) VALUES ($1, $2, $3::jsonb)
    ON CONFLICT (outbox_id) DO UPDATE SET reason = excluded.reason, event = excluded.event, rejected_at = now()`;

/** Quoted qualified name of one of the schema's own tables, for status queries. */
export const captureTable = (name: 'meta' | 'tables' | 'outbox' | 'rejected') => q(name);
