// `logbook capture install|status|uninstall|run`: change capture from an application PostgreSQL database
// (docs/capture.md). The worker sends through @logbook/sdk; it never deletes an outbox row Logbook has not stored.
import { parseArgs } from 'node:util';
import type { AppendedEvent, EventInput } from '@logbook/protocol';
import { LogbookApiError, LogbookConnectionError, LogbookValidationError } from '@logbook/sdk';
import {
  CaptureRejectedError,
  CaptureSetupError,
  type CaptureSink,
  CaptureSourceError,
  type CaptureStatus,
  CaptureWorker,
  captureStatus,
  databaseNameOf,
  installCapture,
  PERMANENT_REFUSALS,
  uninstallCapture,
  withSource,
} from '@logbook/server/capture';
import {
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  clientFrom,
  list,
  printJson,
  reportError,
  table,
  UsageError,
} from './client-options.ts';

export const CAPTURE_USAGE = `logbook capture install --source URL --tables T1,T2 [--include-columns T.C,…] [--exclude-columns T.C,…]
                        [--skip-noop-updates] [--notify]
logbook capture status --source URL [--json]
logbook capture uninstall --source URL [--tables T1,T2] [--force]
logbook capture run --source URL [--url URL --key KEY] [--tenant T] [--name NAME] [--batch-size N] [--poll-ms MS] [--once]

Records every INSERT, UPDATE, DELETE (and TRUNCATE) of the named tables of a PostgreSQL application database as
audit events, exactly once: triggers write each change to an outbox table in the same transaction, and the worker
moves them into Logbook (docs/capture.md).

  --source URL          the application database (default LOGBOOK_CAPTURE_SOURCE), not Logbook's own store
install: creates the schema logbook_capture and the tables' triggers. Running it again sets the named tables'
         options to what this command says (others are left alone).
  --tables T1,T2        tables to capture (table or schema.table); each needs a primary key
  --include-columns T.C only these columns of table T go into its row images
  --exclude-columns T.C leave these columns out of the row images (secrets, blobs)
  --skip-noop-updates   an UPDATE that changes none of the kept columns records nothing
  --notify              wake the worker at each write (NOTIFY) instead of at its next poll
status: captured tables, their options, the outbox backlog and its oldest change.
uninstall: removes the triggers of --tables, or of every table together with the schema (refused while changes wait
           in the outbox, unless --force).
run: delivers the outbox to a Logbook server until Ctrl-C (or, with --once, until the outbox is empty).
  --name NAME           names the source in events (default: the database name)
  --batch-size N        outbox rows per request (default 1000, at most 10000)
  --poll-ms MS          how often an idle worker looks for changes (default 500)

${CLIENT_OPTIONS_HELP}

Examples:
  logbook capture install --source postgres://app@db/shop --tables orders,customers --exclude-columns customers.password_hash
  logbook capture run --source postgres://app@db/shop --url http://127.0.0.1:8080 --key lbk_…
  logbook capture status --source postgres://app@db/shop
In the application, name the actor per transaction: SET LOCAL logbook.actor_id = 'user-42'`;

/** The HTTP sink: one POST per batch through the SDK; a refusal a retry cannot cure is CaptureRejectedError. */
export function httpSink(client: ReturnType<typeof clientFrom>): CaptureSink {
  return {
    async append(events: EventInput[]) {
      try {
        const appended: AppendedEvent[] = await client.events.create(events);
        return { duplicates: appended.filter((a) => a.duplicate).length };
      } catch (error) {
        if (error instanceof LogbookValidationError) throw new CaptureRejectedError(error.message);
        if (
          error instanceof LogbookApiError &&
          (PERMANENT_REFUSALS as readonly string[]).includes(error.code)
        ) {
          throw new CaptureRejectedError(`${error.code}: ${error.message}`);
        }
        throw error;
      }
    },
  };
}

function sourceOf(values: { source?: string | undefined }): string {
  const source = values.source ?? process.env.LOGBOOK_CAPTURE_SOURCE;
  if (!source)
    throw new UsageError('no source database: pass --source postgres://… or set LOGBOOK_CAPTURE_SOURCE');
  if (!/^postgres(ql)?:\/\//.test(source)) {
    throw new UsageError(
      `--source must be a postgres:// URL of the application database (got "${source.slice(0, 40)}…")`,
    );
  }
  return source;
}

function wholeNumber(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  return n;
}

const columnsOf = (t: CaptureStatus['tables'][number]) =>
  t.include ? `only ${t.include.join(', ')}` : t.exclude.length ? `all but ${t.exclude.join(', ')}` : 'all';

function printStatus(database: string, status: CaptureStatus): void {
  console.log(
    `Change capture in "${database}" (install ${status.installId}, since ${status.installedAt.toISOString()}, wal_level ${status.walLevel})`,
  );
  console.log(
    table(
      ['TABLE', 'KEY', 'COLUMNS', 'NO-OP UPDATES', 'NOTIFY', 'ACTIVE'],
      status.tables.map((t) => [
        `${t.schema}.${t.table}`,
        t.primaryKey.join(','),
        columnsOf(t),
        t.skipNoopUpdates ? 'skipped' : 'recorded',
        t.notify ? 'yes' : 'no',
        t.active ? 'yes' : 'NO (table or trigger missing: re-run install)',
      ]),
      60,
    ),
  );
  console.log(
    `Outbox: ${status.pending} pending${status.oldestPendingAgeSeconds !== null ? `, oldest ${status.oldestPendingAgeSeconds} s ago` : ''}; ${status.rejected} rejected${status.rejected > 0 ? ' (see logbook_capture.rejected)' : ''}`,
  );
}

async function runWorker(
  source: string,
  values: Record<string, string | boolean | undefined>,
): Promise<number> {
  const client = clientFrom(values as { url?: string; key?: string });
  let failed = false;
  const worker = new CaptureWorker({
    sourceUrl: source,
    sink: httpSink(client),
    tenant: values.tenant as string | undefined,
    sourceName: (values.name as string | undefined) ?? databaseNameOf(source),
    batchSize: wholeNumber(values['batch-size'] as string | undefined, '--batch-size', 1000, 1, 10_000),
    pollIntervalMs: wholeNumber(values['poll-ms'] as string | undefined, '--poll-ms', 500, 10, 600_000),
    log: (level, message) => {
      if (level !== 'info') failed = true;
      console.error(`logbook capture: ${message}`);
    },
  });
  const summary = () =>
    `${worker.stats.delivered} event(s) delivered (${worker.stats.duplicates} already stored), ${worker.stats.rejected} rejected`;
  if (values.once) {
    try {
      await worker.drain();
    } catch (error) {
      await worker.stop();
      if (error instanceof LogbookApiError || error instanceof LogbookConnectionError) throw error;
      throw new CaptureSourceError((error as Error).message, { cause: error });
    }
    await worker.stop();
    const line = summary();
    if (values.json) printJson(worker.stats);
    else console.log(line);
    return worker.stats.rejected > 0 ? 1 : 0;
  }
  console.error(`Delivering changes of "${databaseNameOf(source)}" to Logbook (Ctrl-C to stop)…`);
  let reported = -1;
  const progress = setInterval(() => {
    if (worker.stats.delivered !== reported) console.error(summary());
    reported = worker.stats.delivered;
  }, 10_000);
  progress.unref();
  worker.start();
  await new Promise<void>((resolve) => {
    let signals = 0;
    const stop = () => {
      // A second Ctrl-C does not wait: exactly-once holds anyway (an unfinished batch is replayed as duplicates).
      if (++signals > 1) process.exit(130);
      console.error('Stopping: finishing the batch in flight…');
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(progress);
  await worker.stop();
  console.error(summary());
  return failed && worker.stats.delivered === 0 ? 1 : 0;
}

export async function captureCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...CLIENT_OPTIONS,
      source: { type: 'string' },
      tables: { type: 'string' },
      'include-columns': { type: 'string' },
      'exclude-columns': { type: 'string' },
      'skip-noop-updates': { type: 'boolean', default: false },
      notify: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      name: { type: 'string' },
      'batch-size': { type: 'string' },
      'poll-ms': { type: 'string' },
      once: { type: 'boolean', default: false },
    },
  });
  const [verb] = positionals;
  try {
    const source = sourceOf(values);
    const database = databaseNameOf(source);
    if (verb === 'install') {
      const tables = list(values.tables);
      if (!tables?.length)
        throw new UsageError('--tables is required: the tables to capture, e.g. --tables orders,customers');
      const result = await withSource(source, (c) =>
        installCapture(c, {
          tables,
          includeColumns: list(values['include-columns']) ?? [],
          excludeColumns: list(values['exclude-columns']) ?? [],
          skipNoopUpdates: values['skip-noop-updates'],
          notify: values.notify,
        }),
      );
      if (values.json) return printJson(result) ?? 0;
      console.log(
        `Capturing ${result.tables.map((t) => `${t.schema}.${t.table}`).join(', ')} in "${database}" (install ${result.installId}).\nRun the worker: logbook capture run --source … (or set LOGBOOK_CAPTURE_SOURCE for logbook serve).`,
      );
      return 0;
    }
    if (verb === 'status') {
      const status = await withSource(source, captureStatus);
      if (values.json) return printJson(status ?? { installed: false }) ?? 0;
      if (!status) {
        console.log(
          `Change capture is not installed in "${database}" (logbook capture install --source … --tables …).`,
        );
        return 0;
      }
      printStatus(database, status);
      return 0;
    }
    if (verb === 'uninstall') {
      const tables = list(values.tables);
      const result = await withSource(source, (c) =>
        uninstallCapture(c, { ...(tables?.length ? { tables } : {}), force: values.force }),
      );
      if (values.json) return printJson(result) ?? 0;
      if (!result.installed) console.log(`Change capture was not installed in "${database}"; nothing to do.`);
      else if (result.schemaDropped)
        console.log(
          `Removed change capture from "${database}" (${result.removedTables.join(', ') || 'no tables'}; schema logbook_capture dropped${result.pending ? `, ${result.pending} undelivered change(s) discarded` : ''}).`,
        );
      else
        console.log(
          `Stopped capturing ${result.removedTables.join(', ')}; their ${result.pending} pending change(s) are still delivered by the worker.`,
        );
      return 0;
    }
    if (verb === 'run') return await runWorker(source, values);
    throw new UsageError(
      verb ? `unknown subcommand "${verb}"` : 'missing subcommand: install, status, uninstall or run',
    );
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`logbook capture: ${error.message}\n\n${CAPTURE_USAGE}`);
      return 2;
    }
    if (error instanceof CaptureSetupError) {
      console.error(`logbook capture ${verb}: ${error.message}`);
      return 2;
    }
    if (error instanceof CaptureSourceError) {
      console.error(`logbook capture ${verb}: ${error.message}\nCheck --source / LOGBOOK_CAPTURE_SOURCE.`);
      return 1;
    }
    // Logbook refused or could not be reached (run --once): the client commands' messages and exit codes.
    return reportError(`capture ${verb}`, error, CAPTURE_USAGE);
  }
}
