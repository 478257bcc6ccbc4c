// `logbook capture install|status|uninstall` against an application's PostgreSQL database: resolves the tables and
// columns named on the command line, then runs the generated DDL in one transaction. It never touches Logbook's store.
import pg from 'pg';
import {
  CAPTURE_SCHEMA,
  captureTable,
  dropSchemaSql,
  removeTableSql,
  schemaSql,
  type TableSpec,
  TRIGGERS,
  tableSql,
} from './sql.ts';

/** A mistake in what was asked (unknown table, no primary key, pending changes): the CLI's usage error, exit 2. */
export class CaptureSetupError extends Error {
  override name = 'CaptureSetupError';
}

/** The source database could not be reached, or refused a statement (permissions, locks): the CLI's exit 1. */
export class CaptureSourceError extends Error {
  override name = 'CaptureSourceError';
}

/** The database name of a postgres:// URL (never the URL itself, which may hold a password). */
export function databaseNameOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
  } catch {
    return 'postgres';
  }
}

/** Runs `body` on one connection to the source database; connection and SQL failures become CaptureSourceError. */
export async function withSource<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 10_000,
    application_name: 'logbook-capture',
  });
  // A connection dropped between statements is reported by the next query; this keeps it from being an uncaught event.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw new CaptureSourceError(
      `cannot connect to the source database "${databaseNameOf(url)}": ${(error as Error).message}`,
    );
  }
  try {
    return await body(client);
  } catch (error) {
    if (error instanceof pg.DatabaseError) {
      throw new CaptureSourceError(
        `the source database "${databaseNameOf(url)}" refused: ${error.message}${error.hint ? ` (${error.hint})` : ''}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

export interface InstallOptions {
  /** Table names as SQL would take them: `orders`, `sales.orders`, `"Mixed Case"`. */
  tables: string[];
  /** `table.column` entries: only these columns go into that table's row images. */
  includeColumns?: string[];
  /** `table.column` entries left out of that table's row images. */
  excludeColumns?: string[];
  skipNoopUpdates?: boolean;
  notify?: boolean;
}

interface ResolvedTable {
  schema: string;
  table: string;
  kind: string;
  primaryKey: string[];
  columns: string[];
}

/** One advisory lock for every install/uninstall, so two at once cannot interleave their DDL. */
const LOCK_SQL = `SELECT pg_advisory_xact_lock(hashtext('${CAPTURE_SCHEMA}'))`;

const TABLE_KINDS: Record<string, string> = {
  v: 'a view',
  m: 'a materialized view',
  f: 'a foreign table',
  S: 'a sequence',
  i: 'an index',
};

async function resolveTable(client: pg.ClientBase, name: string): Promise<ResolvedTable> {
  let rows: ResolvedTable[];
  try {
    ({ rows } = await client.query<ResolvedTable>(
      `SELECT n.nspname AS schema, c.relname AS table, c.relkind AS kind,
          ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum ORDER BY k.ord) AS "primaryKey",
          ARRAY(SELECT a.attname::text FROM pg_attribute a
            WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum) AS columns
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
        WHERE c.oid = to_regclass($1)`,
      [name],
    ));
  } catch (error) {
    if ((error as { code?: string }).code === '42602') {
      throw new CaptureSetupError(
        `"${name}" is not a table name (${(error as Error).message}); write it as table or schema.table`,
      );
    }
    throw error;
  }
  const found = rows[0];
  if (!found) {
    throw new CaptureSetupError(
      `there is no table "${name}" in this database (names are case-folded like SQL: quote "MixedCase", and give schema.table outside the search_path)`,
    );
  }
  if (found.kind !== 'r' && found.kind !== 'p') {
    throw new CaptureSetupError(
      `"${name}" is ${TABLE_KINDS[found.kind] ?? `not a table (relkind ${found.kind})`}; capture works on tables`,
    );
  }
  if (found.schema === CAPTURE_SCHEMA) {
    throw new CaptureSetupError(`"${name}" is capture's own table and cannot be captured`);
  }
  if (found.primaryKey.length === 0) {
    throw new CaptureSetupError(
      `table ${found.schema}.${found.table} has no primary key: capture needs one to name each row (target.id); add one (ALTER TABLE … ADD PRIMARY KEY …)`,
    );
  }
  return found;
}

/** Splits `table.column` (the table part may itself be `schema.table`) at its last dot. */
function splitColumnRef(ref: string, flag: string): { table: string; column: string } {
  const dot = ref.lastIndexOf('.');
  if (dot <= 0 || dot === ref.length - 1) {
    throw new CaptureSetupError(`${flag} entries are table.column (got "${ref}")`);
  }
  return { table: ref.slice(0, dot), column: ref.slice(dot + 1).replace(/^"(.*)"$/, '$1') };
}

/** The column as the table spells it: exact, else the SQL case-folded form. */
function columnOf(table: ResolvedTable, column: string, flag: string): string {
  if (table.columns.includes(column)) return column;
  if (table.columns.includes(column.toLowerCase())) return column.toLowerCase();
  throw new CaptureSetupError(
    `${flag}: table ${table.schema}.${table.table} has no column "${column}" (its columns: ${table.columns.join(', ')})`,
  );
}

/** Resolves every name of an install request into table specs, or says which name is wrong. */
export async function planInstall(client: pg.ClientBase, options: InstallOptions): Promise<TableSpec[]> {
  if (options.tables.length === 0) throw new CaptureSetupError('--tables names no table');
  const resolved = new Map<string, ResolvedTable>();
  const byName = new Map<string, ResolvedTable>();
  for (const name of options.tables) {
    const table = await resolveTable(client, name);
    byName.set(name, table);
    resolved.set(`${table.schema}.${table.table}`, table);
  }
  const columns = async (refs: string[] | undefined, flag: string) => {
    const out = new Map<string, string[]>();
    for (const ref of refs ?? []) {
      const { table: tableName, column } = splitColumnRef(ref, flag);
      const table = byName.get(tableName) ?? (await resolveTable(client, tableName));
      const key = `${table.schema}.${table.table}`;
      if (!resolved.has(key)) {
        throw new CaptureSetupError(`${flag} names ${ref}, but table ${key} is not in --tables`);
      }
      const list = out.get(key) ?? [];
      const name = columnOf(table, column, flag);
      if (!list.includes(name)) list.push(name);
      out.set(key, list);
    }
    return out;
  };
  const include = await columns(options.includeColumns, '--include-columns');
  const exclude = await columns(options.excludeColumns, '--exclude-columns');
  for (const key of include.keys()) {
    if (exclude.has(key)) {
      throw new CaptureSetupError(
        `table ${key} has both --include-columns and --exclude-columns; give one (include lists what is kept)`,
      );
    }
  }
  return [...resolved.entries()].map(([key, table]) => ({
    schema: table.schema,
    table: table.table,
    primaryKey: table.primaryKey,
    include: include.get(key) ?? null,
    exclude: exclude.get(key) ?? [],
    skipNoopUpdates: options.skipNoopUpdates ?? false,
    notify: options.notify ?? false,
  }));
}

async function inTransaction<T>(client: pg.ClientBase, body: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query(LOCK_SQL);
    const result = await body();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/**
 * Installs capture on the named tables (creating the schema on first use). Idempotent: running it again replaces
 * those tables' triggers and options with what this call says; other captured tables are left as they are.
 */
export async function installCapture(
  client: pg.ClientBase,
  options: InstallOptions,
): Promise<{ installId: string; tables: TableSpec[] }> {
  const specs = await planInstall(client, options);
  return inTransaction(client, async () => {
    for (const statement of schemaSql()) await client.query(statement);
    for (const spec of specs) for (const statement of tableSql(spec)) await client.query(statement);
    const { rows } = await client.query<{ install_id: string }>(
      `SELECT install_id::text FROM ${captureTable('meta')}`,
    );
    return { installId: rows[0]!.install_id, tables: specs };
  });
}

export interface CapturedTableStatus extends TableSpec {
  /** False when the table or its row trigger is gone (dropped table, trigger removed by hand). */
  active: boolean;
}

export interface CaptureStatus {
  installId: string;
  version: number;
  installedAt: Date;
  /** The server's wal_level (capture needs none in particular; shown because logical replication would). */
  walLevel: string;
  tables: CapturedTableStatus[];
  /** Outbox rows not yet acknowledged by Logbook. */
  pending: number;
  oldestPendingAt: Date | null;
  oldestPendingAgeSeconds: number | null;
  /** Rows Logbook refused for good (see logbook_capture.rejected). */
  rejected: number;
}

/** Whether the capture schema exists in this database. */
export async function captureInstalled(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass($1) IS NOT NULL AS installed`, [
    `${CAPTURE_SCHEMA}.meta`,
  ]);
  return rows[0].installed === true;
}

/** What is installed and how far behind the worker is; null when capture is not installed. */
export async function captureStatus(client: pg.ClientBase): Promise<CaptureStatus | null> {
  if (!(await captureInstalled(client))) return null;
  const meta = await client.query(
    `SELECT install_id::text, version, installed_at, current_setting('wal_level') AS wal_level FROM ${captureTable('meta')}`,
  );
  const tables = await client.query(
    `SELECT t.schema_name, t.table_name, t.primary_key, t.include_columns, t.exclude_columns, t.skip_noop_updates,
        t.notify, EXISTS (SELECT 1 FROM pg_trigger g
          WHERE g.tgrelid = to_regclass(quote_ident(t.schema_name) || '.' || quote_ident(t.table_name))
            AND g.tgname = $1) AS active
      FROM ${captureTable('tables')} t ORDER BY t.schema_name, t.table_name`,
    [TRIGGERS.row],
  );
  const backlog = await client.query(
    `SELECT count(*)::int AS pending, min(at) AS oldest, extract(epoch FROM now() - min(at))::float8 AS age,
        (SELECT count(*)::int FROM ${captureTable('rejected')}) AS rejected
      FROM ${captureTable('outbox')}`,
  );
  const m = meta.rows[0];
  const b = backlog.rows[0];
  return {
    installId: m.install_id,
    version: m.version,
    installedAt: m.installed_at,
    walLevel: m.wal_level,
    tables: tables.rows.map((t) => ({
      schema: t.schema_name,
      table: t.table_name,
      primaryKey: t.primary_key,
      include: t.include_columns,
      exclude: t.exclude_columns,
      skipNoopUpdates: t.skip_noop_updates,
      notify: t.notify,
      active: t.active,
    })),
    pending: b.pending,
    oldestPendingAt: b.oldest,
    oldestPendingAgeSeconds: b.age === null ? null : Math.max(0, Math.round(b.age)),
    rejected: b.rejected,
  };
}

export interface UninstallResult {
  /** False when there was nothing to remove. */
  installed: boolean;
  removedTables: string[];
  schemaDropped: boolean;
  /** Outbox rows discarded (only with force) or left for the worker (when only some tables were removed). */
  pending: number;
}

/**
 * Removes capture: from the named tables only (their pending changes stay in the outbox and are still delivered),
 * or from every table together with the schema. Dropping the schema while changes wait in the outbox (or rows were
 * rejected) would lose audit history: refused unless `force`.
 */
export async function uninstallCapture(
  client: pg.ClientBase,
  options: { tables?: string[]; force?: boolean } = {},
): Promise<UninstallResult> {
  if (!(await captureInstalled(client))) {
    return { installed: false, removedTables: [], schemaDropped: false, pending: 0 };
  }
  const targets = options.tables?.length
    ? await Promise.all(
        options.tables.map(async (name) => {
          const table = await resolveTable(client, name).catch(() => null);
          const [schema, tableName] = table
            ? [table.schema, table.table]
            : name.includes('.')
              ? (name.split('.', 2) as [string, string])
              : ['public', name];
          return { schema, table: tableName };
        }),
      )
    : null;
  return inTransaction(client, async () => {
    const { rows: installed } = await client.query<{ schema: string; table: string; exists: boolean }>(
      `SELECT schema_name AS schema, table_name AS table,
          to_regclass(quote_ident(schema_name) || '.' || quote_ident(table_name)) IS NOT NULL AS exists
        FROM ${captureTable('tables')}`,
    );
    const { rows: counts } = await client.query<{ pending: number; rejected: number }>(
      `SELECT (SELECT count(*)::int FROM ${captureTable('outbox')}) AS pending,
          (SELECT count(*)::int FROM ${captureTable('rejected')}) AS rejected`,
    );
    const { pending, rejected } = counts[0]!;
    const chosen = targets
      ? targets.map((t) => {
          const match = installed.find((i) => i.schema === t.schema && i.table === t.table);
          if (!match) {
            throw new CaptureSetupError(
              `table ${t.schema}.${t.table} is not captured (captured: ${installed.map((i) => `${i.schema}.${i.table}`).join(', ') || 'none'})`,
            );
          }
          return match;
        })
      : installed;
    if (!targets && (pending > 0 || rejected > 0) && !options.force) {
      throw new CaptureSetupError(
        `the outbox holds ${pending} change(s) not yet delivered to Logbook${rejected > 0 ? ` and ${rejected} rejected one(s) (logbook_capture.rejected)` : ''}; run the worker until "logbook capture status" shows 0 pending, or pass --force to discard them`,
      );
    }
    for (const table of chosen) {
      for (const statement of removeTableSql(table, table.exists)) await client.query(statement);
    }
    if (!targets) await client.query(dropSchemaSql());
    return {
      installed: true,
      removedTables: chosen.map((t) => `${t.schema}.${t.table}`),
      schemaDropped: !targets,
      pending,
    };
  });
}
