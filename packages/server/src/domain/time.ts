// Strict ISO 8601 parsing and the event order key. Pure: no clock reads except where `now` is passed in.
import { LogbookError } from '@logbook/protocol';

const ISO_DATE_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/i;
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Earliest and latest occurrence times Logbook stores (the order key has 43 bits of milliseconds). */
export const MIN_TIME_MS = Date.UTC(1970, 0, 1);
export const MAX_TIME_MS = Date.UTC(2200, 0, 1);

function validCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

/**
 * Parses an ISO 8601 date-time with a zone (`2026-11-22T10:15:00Z`, `…+02:00`) or, when `allowDateOnly`,
 * a date (`2026-11-22`, midnight UTC). Returns epoch ms or null when the text is not such a date.
 */
export function parseIsoTime(text: string, allowDateOnly: boolean): number | null {
  const dateOnly = allowDateOnly ? ISO_DATE.exec(text) : null;
  if (dateOnly) {
    const [, y, m, d] = dateOnly.map(Number) as [number, number, number, number];
    return validCalendarDate(y, m, d) ? Date.UTC(y, m - 1, d) : null;
  }
  const match = ISO_DATE_TIME.exec(text);
  if (!match) return null;
  const [y, mo, d, h, mi, s] = match.slice(1, 7).map((v) => Number(v ?? 0)) as number[];
  if (!validCalendarDate(y!, mo!, d!) || h! > 23 || mi! > 59 || s! > 59) return null;
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

/** parseIsoTime for a named input, throwing a 400 that shows the expected format. */
export function requireIsoTime(field: string, text: string, allowDateOnly: boolean): number {
  const ms = parseIsoTime(text, allowDateOnly);
  const example = allowDateOnly ? '2026-11-22 or 2026-11-22T10:15:00Z' : '2026-11-22T10:15:00Z';
  if (ms === null) {
    throw new LogbookError(
      'INVALID_DATE',
      `${field} must be an ISO 8601 ${allowDateOnly ? 'date or ' : ''}date-time with a time zone, e.g. ${example} (got "${text.slice(0, 64)}")`,
      { issues: [{ field, rule: 'format', message: `expected ISO 8601, e.g. ${example}` }] },
    );
  }
  if (ms < MIN_TIME_MS || ms >= MAX_TIME_MS) {
    throw new LogbookError(
      'INVALID_DATE',
      `${field} must be between 1970-01-01 and 2199-12-31 (got "${text}")`,
      {
        issues: [{ field, rule: 'range', message: 'outside 1970-01-01 … 2199-12-31' }],
      },
    );
  }
  return ms;
}

// Every event of a request shares its receive time: the last conversion is kept (toISOString is ~0.6 µs).
let lastIso = { ms: Number.NaN, iso: '' };

export function toIso(ms: number): string {
  if (ms !== lastIso.ms) lastIso = { ms, iso: new Date(ms).toISOString() };
  return lastIso.iso;
}

/**
 * Events are ordered by an integer key: occurrence millisecond << 20 | arrival counter. One B-tree
 * (SQLite's rowid) then serves "newest first", time ranges and keyset cursors, and full-text matches come
 * back already in time order. More than 2^20 events in one millisecond spill into the next millisecond's
 * keys; their occurredAt is unchanged (documented in docs/storage.md).
 */
export const ORDER_KEY_COUNTER_BITS = 20n;
export const orderKeyFloor = (ms: number): bigint => BigInt(ms) << ORDER_KEY_COUNTER_BITS;
