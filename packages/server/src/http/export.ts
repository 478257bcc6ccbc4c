// Streamed exports (CSV per RFC 4180, NDJSON) of listed rows, page by page through a service's cursor pages: memory
// stays one page however many rows match. It must never buffer a whole export, never hold the event loop longer
// than a short slice (SQLite reads are synchronous), and never emit a CSV cell a spreadsheet would run as a formula.
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type AuditEvent, type EventListQuery, EXPORT_FORMATS } from '@logbook/protocol';
import type { FastifyReply } from 'fastify';
import type { Principal } from '../auth/principal.ts';
import type { EventService } from '../services/events.ts';

/** Filters of an event listing without Logbook's own paging fields (exports and offset pages page themselves). */
export type EventFilterQuery = Omit<EventListQuery, 'limit' | 'cursor' | 'includeTotal' | 'order'>;

export { EXPORT_FORMATS };
/**
 * Rows per page of an export. Small on purpose: a page is read and serialised in one synchronous stretch, and every
 * other request waits for it (SQLite reads are synchronous).
 */
export const EXPORT_PAGE_ROWS = 250;
/**
 * An export gives the event loop a turn once it has run this long: other requests never wait longer for it (plus
 * one page), and it still gets a fair share of a busy server (a turn per page starved it under load).
 */
export const EXPORT_SLICE_MS = 50;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/** One CSV column: its header and how a row gives its value (objects are written as JSON). */
export interface ExportColumn<T> {
  name: string;
  value(row: T): unknown;
}

/** Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection), neutralised with `'`. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One CSV cell: text as is (formula starts neutralised), numbers and booleans plain, objects as JSON, null empty. */
export function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text: string;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (typeof value === 'string') text = value;
  else text = JSON.stringify(value);
  if (FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One CSV record, CRLF-terminated (RFC 4180). */
export const csvRecord = (values: unknown[]): string => `${values.map(csvCell).join(',')}\r\n`;

/**
 * Pages of events matching `query`, oldest page last, newest first within (EventService.list order). The first
 * page is read before this resolves, so bad filters fail as a normal 400 before any byte of the export is sent.
 */
export function eventPages(
  events: EventService,
  principal: Principal,
  query: EventFilterQuery,
  pageSize = EXPORT_PAGE_ROWS,
): Promise<AsyncIterable<AuditEvent[]>> {
  return cursorPages((cursor) =>
    events.list(principal, { ...query, limit: pageSize, ...(cursor ? { cursor } : {}) }),
  );
}

/**
 * Pages of any cursor-paged listing: `list(cursor)` answers one page and the next cursor (null: done). The first page
 * is read before this resolves (bad filters fail as a normal 400 before any byte is sent).
 */
export async function cursorPages<T>(
  list: (cursor: string | undefined) => Promise<{ data: T[]; nextCursor: string | null }>,
): Promise<AsyncIterable<T[]>> {
  const first = await list(undefined);
  return (async function* pages() {
    let page = first;
    yield page.data;
    while (page.nextCursor !== null) {
      page = await list(page.nextCursor);
      yield page.data;
    }
  })();
}

/**
 * The export body as a stream: CSV (header row, then one record per row) or NDJSON (one JSON object per line).
 * Pages are pulled only when the response wants more (a client that stops reading stops the reading), and the loop
 * gets a turn every EXPORT_SLICE_MS: with a fast client, socket writes complete synchronously, and the whole export
 * otherwise ran as one chain of microtasks in which no timer and no other request got a turn.
 */
export function exportStream<T>(
  format: ExportFormat,
  pages: AsyncIterable<T[]>,
  columns: ExportColumn<T>[],
  ndjsonLine: (row: T) => string = (row) => JSON.stringify(row),
): Readable {
  return Readable.from(
    (async function* lines() {
      if (format === 'csv') yield csvRecord(columns.map((c) => c.name));
      let sliceStart = performance.now();
      for await (const rows of pages) {
        if (rows.length > 0) {
          yield format === 'csv'
            ? rows.map((row) => csvRecord(columns.map((c) => c.value(row)))).join('')
            : rows.map((row) => `${ndjsonLine(row)}\n`).join('');
        }
        if (performance.now() - sliceStart >= EXPORT_SLICE_MS) {
          await nextTurn();
          sliceStart = performance.now();
        }
      }
    })(),
    { objectMode: false },
  );
}

/** Sends an export as a download named `<basename>.<format>`. */
export function sendExport<T>(
  reply: FastifyReply,
  options: {
    format: ExportFormat;
    basename: string;
    pages: AsyncIterable<T[]>;
    columns: ExportColumn<T>[];
    /** A row's NDJSON line without the newline; JSON.stringify of the row unless given. */
    ndjsonLine?: (row: T) => string;
  },
): FastifyReply {
  const filename = `${options.basename.replace(/[^\w.-]/g, '_')}.${options.format}`;
  return reply
    .header('content-type', EXPORT_CONTENT_TYPES[options.format])
    .header('content-disposition', `attachment; filename="${filename}"`)
    .send(exportStream(options.format, options.pages, options.columns, options.ndjsonLine));
}
