// The dashboard's one door to the server: a @logbook/sdk client per session. Views call the SDK through here and
// nothing else in the dashboard calls fetch. A 401 on any call ends the session (the token expired or the key was
// revoked) and sends the user back to sign-in with that said.
import type { AuditEvent, EventListQuery, LogListQuery, PublicKeyResponse } from '@logbook/protocol';
import {
  createClient,
  LogbookApiError,
  type LogbookClient,
  LogbookConnectionError,
  LogbookVerificationError,
} from '@logbook/sdk';
import type { Session } from './session.ts';

export type Client = LogbookClient;

/** The filters of the events page, as they sit in the URL. */
export const EVENT_FILTER_KEYS = ['actor', 'action', 'targetType', 'targetId', 'outcome', 'q'] as const;
export const LOG_FILTER_KEYS = ['service', 'minLevel', 'q', 'traceId'] as const;

/** Time-range presets of the filters (`custom` uses the URL's from/to). */
export const RANGE_PRESETS = ['15m', '24h', '7d', 'all', 'custom'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];
const PRESET_MS: Record<Exclude<RangePreset, 'all' | 'custom'>, number> = {
  '15m': 15 * 60_000,
  '24h': 24 * 3600_000,
  '7d': 7 * 24 * 3600_000,
};
export const RANGE_LABELS: Record<RangePreset, string> = {
  '15m': 'Last 15 min',
  '24h': 'Last 24 h',
  '7d': 'Last 7 days',
  all: 'All time',
  custom: 'Custom…',
};

/** from/to (ISO) for the URL's range: a preset counts back from now; custom takes the URL's from/to. */
export function rangeOf(params: URLSearchParams, now = Date.now()): { from?: string; to?: string } {
  const preset = (params.get('range') ?? 'all') as RangePreset;
  if (preset === 'custom') {
    const from = params.get('from');
    const to = params.get('to');
    return {
      ...(from ? { from: new Date(from).toISOString() } : {}),
      ...(to ? { to: new Date(to).toISOString() } : {}),
    };
  }
  if (preset in PRESET_MS)
    return { from: new Date(now - PRESET_MS[preset as keyof typeof PRESET_MS]).toISOString() };
  return {};
}

export function eventQuery(params: URLSearchParams): EventListQuery {
  const query: Record<string, string> = {};
  for (const key of EVENT_FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) query[key] = value;
  }
  return { ...(query as EventListQuery), ...rangeOf(params) };
}

export function logQuery(params: URLSearchParams): LogListQuery {
  const query: Record<string, string> = {};
  for (const key of LOG_FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) query[key] = value;
  }
  return { ...(query as LogListQuery), ...rangeOf(params) };
}

/**
 * A client for the signed-in session. `onUnauthorized` runs when the server answers 401 to it: the session is over.
 * `publicKey` is the pinned checkpoint key (verifier key string) verifyEvent checks against.
 */
export function clientFor(session: Session, onUnauthorized: () => void, publicKey?: string): Client {
  return createClient({
    url: window.location.origin,
    apiKey: session.token,
    retry: { retries: 2, baseDelayMs: 200, maxDelayMs: 2000 },
    ...(publicKey ? { publicKey } : {}),
    fetch: async (input, init) => {
      const response = await fetch(input, init);
      if (response.status === 401) onUnauthorized();
      return response;
    },
  });
}

/** A client with no credential, for sign-in and the public key. */
export function anonymousClient(): Client {
  return createClient({ url: window.location.origin, retry: { retries: 1 } });
}

/** A title and a next step for any error a view shows. */
export function describeError(error: unknown): { title: string; hint: string } {
  if (error instanceof LogbookVerificationError) {
    return { title: 'Not verified', hint: error.message };
  }
  if (error instanceof LogbookApiError) {
    const hints: Record<number, string> = {
      400: 'Check the filters or the form: ',
      401: 'Your session ended. Sign in again. ',
      403: 'Your credential lacks the scope for this; ask an admin for one that has it. ',
      404: 'It does not exist, or not in your tenant. ',
      429: `Too many requests; wait ${error.retryAfterSeconds ?? 'a few'} seconds and try again. `,
    };
    const issues = error.issues?.map((i) => `${i.field}: ${i.message}`).join('; ');
    return {
      title: `${error.message}`,
      hint: `${hints[error.status] ?? (error.status >= 500 ? 'The server failed; try again, and check its log if it persists. ' : '')}${issues ?? ''}(${error.code}${error.requestId ? `, request ${error.requestId}` : ''})`,
    };
  }
  if (error instanceof LogbookConnectionError) {
    return {
      title: 'The Logbook server did not answer',
      hint: 'Check that it is running (npm start) and reachable, then try again.',
    };
  }
  return { title: 'Something went wrong', hint: error instanceof Error ? error.message : String(error) };
}

// ---- The pinned checkpoint key: trust on first use, kept in localStorage so a changed server key is noticed. ----

export interface PinnedKey {
  keyName: string;
  /** The C2SP verifier key string. */
  note: string;
  publicKey: string;
  pinnedAt: string;
}

const PIN = 'logbook.pinnedKey';

export function loadPinnedKey(): PinnedKey | null {
  try {
    const raw = localStorage.getItem(PIN);
    return raw ? (JSON.parse(raw) as PinnedKey) : null;
  } catch {
    return null;
  }
}

export function pinKey(key: PublicKeyResponse): PinnedKey {
  const pinned = {
    keyName: key.keyName,
    note: key.note,
    publicKey: key.publicKey,
    pinnedAt: new Date().toISOString(),
  };
  localStorage.setItem(PIN, JSON.stringify(pinned));
  return pinned;
}

export function unpinKey(): void {
  localStorage.removeItem(PIN);
}

/** The key's fingerprint as people compare it: SHA-256 of the raw key, hex in groups of four. */
export async function fingerprint(publicKeyBase64: string): Promise<string> {
  const raw = Uint8Array.from(atob(publicKeyBase64), (c) => c.charCodeAt(0));
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
  const hex = [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
  return hex.slice(0, 32).match(/.{4}/g)!.join(' ');
}

// ---- Export: every event of the current filter, page after page through the SDK, as CSV or NDJSON. ----

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
const CSV_COLUMNS = [
  'id',
  'seq',
  'occurredAt',
  'receivedAt',
  'action',
  'actor.id',
  'actor.name',
  'target.type',
  'target.id',
  'outcome',
  'description',
  'context.ip',
  'hash',
] as const;

function field(event: AuditEvent, path: string): unknown {
  let value: unknown = event;
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
  return value;
}

const csvCell = (value: unknown): string => {
  const text =
    value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  // A leading = + - @ would be a formula in a spreadsheet: prefix it so it stays text.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
};

/** At most this many rows are exported from the browser (a bigger export belongs to `logbook export`). */
export const EXPORT_MAX_ROWS = 200_000;

export async function exportEvents(
  client: Client,
  query: EventListQuery,
  format: ExportFormat,
  onProgress: (rows: number) => void,
): Promise<{ blob: Blob; rows: number; truncated: boolean }> {
  const parts: string[] = format === 'csv' ? [`${CSV_COLUMNS.join(',')}\n`] : [];
  let rows = 0;
  let truncated = false;
  for await (const page of client.events.list({ ...query, limit: 1000 }).pages()) {
    for (const event of page.data) {
      if (rows >= EXPORT_MAX_ROWS) {
        truncated = true;
        break;
      }
      parts.push(
        format === 'csv'
          ? `${CSV_COLUMNS.map((c) => csvCell(field(event, c))).join(',')}\n`
          : `${JSON.stringify(event)}\n`,
      );
      rows++;
    }
    onProgress(rows);
    if (truncated) break;
  }
  const type = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
  return { blob: new Blob(parts, { type }), rows, truncated };
}

// ---- Retention: GET|PUT /api/v1/activity-logs/retention (seed 004) until the SDK has a retention API. ----

export interface Retention {
  /** Days events are kept; 0 = forever. */
  days: number;
  /** `default`: the server's LOGBOOK_RETENTION_DAYS applies; `policy`: set here. */
  source: string;
  updatedAt: string | null;
  updatedBy: string | null;
}

interface RetentionBody {
  success: true;
  data: Retention;
}

export async function getRetention(client: Client): Promise<Retention> {
  const body = await client.transport.request<RetentionBody>('GET', '/api/v1/activity-logs/retention', {
    idempotent: true,
  });
  return body.data;
}

export async function setRetention(client: Client, days: number): Promise<Retention> {
  const body = await client.transport.request<RetentionBody>('PUT', '/api/v1/activity-logs/retention', {
    body: { days },
    idempotent: true,
  });
  return body.data;
}
