// `logbook export`: audit events as NDJSON or CSV to a file or stdout, page by page through the SDK, with a progress
// bar and a resumable cursor: after each page is written, FILE.cursor records where to go on, so an interrupted
// export continues with --resume and never writes an event twice. Memory stays one page.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { AuditEvent } from '@logbook/sdk';
import { csvRecord } from '@logbook/server';
import cliProgress from 'cli-progress';
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, clientFrom, runClient, UsageError } from './client-options.ts';
import { EVENT_FILTER_OPTIONS, EVENT_FILTERS_HELP, eventFilters } from './events.ts';

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
const PAGE_SIZE = 1000;

export const EXPORT_USAGE = `logbook export [--format ndjson|csv] [--output FILE [--resume]] [filters] [--progress|--quiet] [--json]

Writes every matching audit event, oldest first, as NDJSON (default) or CSV, to FILE or stdout.
  --format F     ndjson or csv
  --output FILE  write to FILE; FILE.cursor tracks progress until the export completes
  --resume       continue an interrupted export into FILE (same filters) from FILE.cursor
  --progress     show the progress bar even when stderr is not a terminal; --quiet: never
  --json         print a summary as JSON on stdout at the end (needs --output)

${EVENT_FILTERS_HELP}

${CLIENT_OPTIONS_HELP}

Examples:
  logbook export --output audit-2026.ndjson --from 2026-01-01T00:00:00Z --to 2027-01-01T00:00:00Z
  logbook export --format csv --actor alice > alice.csv
  logbook export --output audit-2026.ndjson --from 2026-01-01T00:00:00Z --resume`;

/** CSV columns: one per field a spreadsheet user filters on; nested values as JSON. */
const CSV_COLUMNS: [string, (e: AuditEvent) => unknown][] = [
  ['id', (e) => e.id],
  ['seq', (e) => e.seq],
  ['tenant', (e) => e.tenant],
  ['occurredAt', (e) => e.occurredAt],
  ['receivedAt', (e) => e.receivedAt],
  ['action', (e) => e.action],
  ['actorId', (e) => e.actor.id],
  ['actorName', (e) => e.actor.name],
  ['actorType', (e) => e.actor.type],
  ['targetType', (e) => e.target?.type],
  ['targetId', (e) => e.target?.id],
  ['targetName', (e) => e.target?.name],
  ['outcome', (e) => e.outcome],
  ['description', (e) => e.description],
  ['ip', (e) => e.context?.ip],
  ['userAgent', (e) => e.context?.userAgent],
  ['requestId', (e) => e.context?.requestId],
  ['changes', (e) => e.changes],
  ['details', (e) => e.details],
  ['hash', (e) => e.hash],
];

interface ExportState {
  format: string;
  filters: Record<string, unknown>;
  cursor: string;
  written: number;
  total: number | null;
  /** The output's length when `cursor` was recorded: a resume cuts anything written after it (a half-written page). */
  bytes: number;
}

export async function exportCommand(args: string[]): Promise<number> {
  return runClient('export', EXPORT_USAGE, async () => {
    const { values } = parseArgs({
      args,
      options: {
        ...CLIENT_OPTIONS,
        ...EVENT_FILTER_OPTIONS,
        format: { type: 'string', default: 'ndjson' },
        output: { type: 'string', short: 'o' },
        resume: { type: 'boolean', default: false },
        progress: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
      },
    });
    const format = values.format as (typeof EXPORT_FORMATS)[number];
    if (!(EXPORT_FORMATS as readonly string[]).includes(format)) {
      throw new UsageError(`--format must be ${EXPORT_FORMATS.join(' or ')}`);
    }
    if (values.resume && !values.output) throw new UsageError('--resume needs --output FILE');
    if (values.json && !values.output)
      throw new UsageError('--json prints a summary: it needs --output FILE');
    const filters = eventFilters(values);
    const client = clientFrom(values);
    const stateFile = values.output ? `${values.output}.cursor` : null;

    let state: ExportState | null = null;
    if (values.resume && stateFile) {
      if (!fs.existsSync(stateFile)) {
        throw new UsageError(
          `nothing to resume: ${stateFile} does not exist (the export finished, or never started)`,
        );
      }
      state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as ExportState;
      if (state.format !== format || JSON.stringify(state.filters) !== JSON.stringify(filters)) {
        throw new UsageError(
          `${stateFile} is for another export (format ${state.format}, filters ${JSON.stringify(state.filters)})`,
        );
      }
    }

    if (state && values.output) fs.truncateSync(values.output, state.bytes);
    const fd = values.output ? fs.openSync(values.output, state ? 'a' : 'w') : 1;
    const write = (text: string) => {
      if (text) fs.writeSync(fd, text);
    };
    const showBar =
      !values.quiet &&
      (values.progress ||
        (process.stderr.isTTY && fd !== 1) ||
        (process.stderr.isTTY && !process.stdout.isTTY));
    const bar = showBar
      ? new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'Exporting {bar} {percentage}% | {value}/{total} events | {eta_formatted} left',
            noTTYOutput: true,
            notTTYSchedule: 500,
            etaBuffer: 20,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;

    let written = state?.written ?? 0;
    let cursor: string | null | undefined = state?.cursor;
    let total: number | null = state?.total ?? null;
    let first = true;
    if (!state && format === 'csv') write(csvRecord(CSV_COLUMNS.map(([name]) => name)));
    try {
      do {
        const page = await client.events.page({
          ...filters,
          order: 'asc',
          limit: PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
          ...(first && total === null ? { includeTotal: true } : {}),
        });
        if (first) {
          total ??= page.total ?? null;
          bar?.start(Math.max(total ?? 0, written), written);
          first = false;
        }
        write(
          format === 'csv'
            ? page.data.map((e) => csvRecord(CSV_COLUMNS.map(([, value]) => value(e)))).join('')
            : page.data.map((e) => `${JSON.stringify(e)}\n`).join(''),
        );
        written += page.data.length;
        cursor = page.nextCursor;
        if (total !== null && written > total) total = written;
        bar?.setTotal(Math.max(total ?? written, written));
        bar?.update(written);
        // The page is written: record where to continue (the file's content matches this cursor).
        if (stateFile && cursor) {
          const bytes = fs.fstatSync(fd).size;
          fs.writeFileSync(
            stateFile,
            JSON.stringify({ format, filters, cursor, written, total, bytes } satisfies ExportState),
          );
        }
      } while (cursor);
    } finally {
      bar?.stop();
      if (fd !== 1) fs.closeSync(fd);
    }
    if (stateFile) fs.rmSync(stateFile, { force: true });
    if (values.json) {
      console.log(
        JSON.stringify({ output: values.output, format, events: written, resumed: state !== null }),
      );
    } else if (values.output) {
      console.error(
        `Exported ${written} event(s) to ${values.output}${state ? ` (resumed after ${state.written})` : ''}.`,
      );
    }
    return;
  });
}
