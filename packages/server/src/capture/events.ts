// Turns captured outbox rows into audit events (docs/capture.md "Events"). Pure and deterministic: the same row
// always gives byte-identical input, which is what makes a replay after a crash a duplicate instead of a second event.
import { createHash } from 'node:crypto';
import { EVENT_LIMITS, type EventInput } from '@logbook/protocol';

/** An outbox row as the worker reads it (bigints and JSON as text, so no digit is lost on the way). */
export interface OutboxRow {
  id: string;
  txid: string;
  at: Date;
  schema_name: string;
  table_name: string;
  op: string;
  pk: string | null;
  actor_id: string | null;
  db_role: string;
  before: string | null;
  after: string | null;
}

export const CAPTURE_ACTIONS = ['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'] as const;

/** Where the events go and how they are named. */
export interface CaptureEventOptions {
  /** The install's id (logbook_capture.meta): event ids stay unique when the outbox ids restart after a reinstall. */
  installId: string;
  /** Unset: the event names no tenant, so the server uses the credential's (HTTP sink). */
  tenant?: string;
  /** Names the captured database in every event (details.capture.source). */
  source: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Whether a JSON number token survives as a JavaScript number without losing a digit. */
function numberIsExact(token: string): boolean {
  if (/^-?\d+$/.test(token)) return Number.isSafeInteger(Number(token));
  const digits = token
    .replace(/[eE].*$/, '')
    .replace(/[-.]/g, '')
    .replace(/^0+/, '');
  return digits.length <= 15;
}

/**
 * JSON.parse that keeps every digit: integers beyond 2^53 (bigint keys) and decimals with more than 15 significant
 * digits (numeric) become strings of their exact text instead of rounded numbers.
 */
export function parseJsonExact(text: string): unknown {
  let out = '';
  let last = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip a string, escapes included.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const token = NUMBER.exec(text)?.[0] ?? '';
      if (token.length > 0 && !numberIsExact(token)) {
        out += `${text.slice(last, i)}"${token}"`;
        last = i + token.length;
      }
      i += Math.max(token.length - 1, 0);
    }
  }
  return JSON.parse(last === 0 ? text : out + text.slice(last));
}

/** Cuts a string to at most `max` UTF-16 units without splitting a surrogate pair. */
export function clip(value: string, max: number): string {
  if (value.length <= max) return value;
  let end = max;
  const code = value.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return value.slice(0, end);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** One primary-key value as text: strings as they are, numbers and booleans as their JSON text. */
const keyPart = (value: unknown) =>
  typeof value === 'string' ? value : value === null || value === undefined ? '' : JSON.stringify(value);

/**
 * target.id of a row: the primary-key value as text; for a composite key the values in key order, each with `%`
 * and `,` percent-encoded, joined by `,` (`7,42`), so the form is reversible. Longer than the API's 256 characters:
 * the first 180 characters, `…`, and a SHA-256 prefix of the whole form.
 */
export function targetIdOf(keyValues: unknown[]): string {
  const form =
    keyValues.length === 1
      ? keyPart(keyValues[0])
      : keyValues.map((v) => keyPart(v).replaceAll('%', '%25').replaceAll(',', '%2C')).join(',');
  if (form.length <= 256) return form;
  return `${clip(form, 180)}…${sha256(form).slice(0, 32)}`;
}

/** target.type: the table name, schema-qualified unless it is in `public`. */
export const targetTypeOf = (schema: string, table: string) =>
  schema === 'public' ? table : `${schema}.${table}`;

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  let max = 0;
  for (const child of Object.values(value)) max = Math.max(max, depthOf(child));
  return max + 1;
}

const byteLength = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** What replaces a column value too large (or too deep) for an event: its size and hash, so it stays checkable. */
const truncated = (value: unknown) => {
  const json = JSON.stringify(value);
  return `[truncated by Logbook capture: ${Buffer.byteLength(json)} bytes, sha256 ${sha256(json)}]`;
};

/**
 * Row images that fit the event limits: column values nested deeper than the API allows, then the largest values
 * (across both images, largest first, ties by column name) are replaced by a truncation marker until the whole
 * `changes` object fits in EVENT_LIMITS.maxChangesBytes. Deterministic, so replays stay identical.
 */
export function fitChanges(changes: { before?: unknown; after?: unknown }): {
  changes: { before?: unknown; after?: unknown };
  truncatedColumns: string[];
} {
  const images = (['before', 'after'] as const).filter(
    (side) => changes[side] !== null && typeof changes[side] === 'object',
  );
  const out: { before?: unknown; after?: unknown } = { ...changes };
  for (const side of images) out[side] = { ...(changes[side] as Record<string, unknown>) };
  const cut = new Set<string>();
  const maxDepth = EVENT_LIMITS.maxNestingDepth - 3; // changes → image → column → value
  for (const side of images) {
    const image = out[side] as Record<string, unknown>;
    for (const [column, value] of Object.entries(image)) {
      if (depthOf(value) > maxDepth) {
        image[column] = truncated(value);
        cut.add(column);
      }
    }
  }
  const limit = EVENT_LIMITS.maxChangesBytes - 1024;
  if (byteLength(out) > limit) {
    const entries = images
      .flatMap((side) =>
        Object.entries(out[side] as Record<string, unknown>).map(([column, value]) => ({
          side,
          column,
          bytes: byteLength(value),
        })),
      )
      .sort((a, b) => b.bytes - a.bytes || (a.column < b.column ? -1 : a.column > b.column ? 1 : 0));
    let total = byteLength(out);
    for (const entry of entries) {
      if (total <= limit) break;
      const image = out[entry.side] as Record<string, unknown>;
      const marker = truncated(image[entry.column]);
      total -= entry.bytes - byteLength(marker);
      image[entry.column] = marker;
      cut.add(entry.column);
    }
  }
  return { changes: out, truncatedColumns: [...cut].sort() };
}

/** The event id of an outbox row: stable across replays, unique across reinstalls of the capture schema. */
export const captureEventId = (installId: string, outboxId: string) => `pgcap-${installId}-${outboxId}`;

/** The audit event for one outbox row. */
export function eventFromOutboxRow(row: OutboxRow, options: CaptureEventOptions): EventInput {
  const action = (CAPTURE_ACTIONS as readonly string[]).includes(row.op) ? row.op : 'UNKNOWN';
  const keyValues = row.pk === null ? null : (parseJsonExact(row.pk) as unknown[]);
  const targetId = keyValues && keyValues.length > 0 ? targetIdOf(keyValues) : '';
  const targetType = targetTypeOf(row.schema_name, row.table_name);
  const raw: { before?: unknown; after?: unknown } = {
    ...(row.before !== null ? { before: parseJsonExact(row.before) } : {}),
    ...(row.after !== null ? { after: parseJsonExact(row.after) } : {}),
  };
  const { changes, truncatedColumns } = fitChanges(raw);
  const actorId = row.actor_id ? clip(row.actor_id, 256) : null;
  const txid = Number(row.txid);
  return {
    id: captureEventId(options.installId, row.id),
    ...(options.tenant !== undefined ? { tenant: options.tenant } : {}),
    occurredAt: row.at.toISOString(),
    action,
    actor: actorId ? { id: actorId, type: 'user' } : { id: clip(row.db_role, 256), type: 'service' },
    target: { type: clip(targetType, 128), ...(targetId ? { id: targetId } : {}) },
    ...(changes.before !== undefined || changes.after !== undefined ? { changes } : {}),
    description: clip(`${action} ${targetType}${targetId ? ` ${targetId}` : ''}`, 2000),
    details: {
      capture: {
        source: clip(options.source, 256),
        schema: row.schema_name,
        table: row.table_name,
        txid: Number.isSafeInteger(txid) ? txid : row.txid,
        outboxId: row.id,
        dbRole: row.db_role,
        actorFrom: actorId ? 'setting' : 'database_role',
        ...(truncatedColumns.length > 0 ? { truncatedColumns: truncatedColumns.slice(0, 200) } : {}),
      },
    },
  };
}
