// Turns a validated system-log input into the record Logbook stores (DESIGN.md §3, second stream). Pure apart from
// id generation. Unlike audit events there is no canonical form and no hash: logs are not in the Merkle log.
import {
  DEFAULT_TENANT,
  LOG_LEVEL_ALIASES,
  LOG_LEVELS,
  LOG_LIMITS,
  LogbookError,
  type LogEntry,
  type LogEntryInput,
  type LogLevel,
} from '@logbook/protocol';
import { v7 as uuidv7 } from 'uuid';
import { requireIsoTime, toIso } from './time.ts';

/** Levels are stored as 1 (DEBUG) … 5 (FATAL), so "this level and above" is one comparison. */
export const levelNumber = (level: LogLevel): number => LOG_LEVELS.indexOf(level) + 1;
export const levelName = (n: number): LogLevel => LOG_LEVELS[n - 1] ?? 'INFO';

export const DEFAULT_SERVICE = 'unknown_service';

/** A level name as accepted on input (any case, aliases), or null. */
export function parseLevel(text: string): LogLevel | null {
  return (LOG_LEVEL_ALIASES as Record<string, LogLevel>)[text.toLowerCase()] ?? null;
}

/** A log entry ready to append: everything is decided except its seq (arrival position) and order key. */
export interface PreparedLogEntry {
  id: string;
  tenant: string;
  timestampMs: number;
  receivedMs: number;
  level: number;
  service: string;
  traceId: string | null;
  /** JSON of the wire LogEntry: what reads return. */
  body: string;
  /** Words for the full-text index: message, details (keys and values), trace and span id. */
  searchText: string;
}

function depthOf(value: unknown, limit: number, depth = 0): number {
  if (depth > limit || value === null || typeof value !== 'object') return depth;
  let max = depth;
  for (const child of Object.values(value)) {
    max = Math.max(max, depthOf(child, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

const MAX_DEPTH = 32;

/** Words of a JSON value for the full-text index: object keys and scalar values, depth-first. */
function collectWords(value: unknown, out: string[]): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (!Array.isArray(value)) out.push(key);
      collectWords(child, out);
    }
  } else {
    out.push(String(value));
  }
}

/** Words the full-text index holds for an entry: message, details (keys and values), trace and span id. */
export function logSearchText(entry: LogEntry): string {
  const words: string[] = [entry.message];
  collectWords(entry.details, words);
  if (entry.traceId) words.push(entry.traceId);
  if (entry.spanId) words.push(entry.spanId);
  return words.join(' ');
}

function reject(field: string, rule: string, message: string, detail: string): never {
  throw new LogbookError('VALIDATION_FAILED', `${field} ${detail}`, { issues: [{ field, rule, message }] });
}

/**
 * Builds the stored record. `field` names the input in errors (`body/3`, `body/line/17`). `defaultTenant` is the
 * tenant the credential writes to when the entry names none.
 */
export function prepareLogEntry(
  input: LogEntryInput,
  options: { receivedMs: number; defaultTenant?: string; field: string },
): PreparedLogEntry {
  const { field } = options;
  const level = input.level === undefined ? 'INFO' : parseLevel(input.level);
  if (level === null) {
    const allowed = `must be one of ${LOG_LEVELS.join(', ')} (any case)`;
    reject(`${field}/level`, 'enum', allowed, `${allowed}, not "${input.level}"`);
  }
  if (Buffer.byteLength(input.message) > LOG_LIMITS.maxMessageBytes) {
    reject(`${field}/message`, 'maxBytes', `at most ${LOG_LIMITS.maxMessageBytes} bytes`, 'is too long');
  }
  if (input.details !== undefined) {
    if (depthOf(input.details, MAX_DEPTH) > MAX_DEPTH) {
      reject(
        `${field}/details`,
        'maxDepth',
        `at most ${MAX_DEPTH} levels`,
        `is nested deeper than ${MAX_DEPTH} levels`,
      );
    }
    // JSON.stringify escapes lone surrogates and U+0000, so any string input is storable as is.
    const bytes = Buffer.byteLength(JSON.stringify(input.details));
    if (bytes > LOG_LIMITS.maxDetailsBytes) {
      reject(
        `${field}/details`,
        'maxBytes',
        `at most ${LOG_LIMITS.maxDetailsBytes} bytes`,
        `is ${bytes} bytes as JSON; the limit is ${LOG_LIMITS.maxDetailsBytes}`,
      );
    }
  }
  const timestampMs =
    input.timestamp === undefined
      ? options.receivedMs
      : requireIsoTime(`${field}/timestamp`, input.timestamp, false);
  const tenant = input.tenant ?? options.defaultTenant ?? DEFAULT_TENANT;
  const id = uuidv7({ msecs: options.receivedMs });
  const traceId = input.traceId?.toLowerCase() ?? null;
  const spanId = input.spanId?.toLowerCase();
  const entry: LogEntry = {
    id,
    tenant,
    timestamp: toIso(timestampMs),
    receivedAt: toIso(options.receivedMs),
    level,
    service: input.service ?? DEFAULT_SERVICE,
    message: input.message,
    ...(input.details !== undefined ? { details: input.details } : {}),
    ...(traceId !== null ? { traceId } : {}),
    ...(spanId !== undefined ? { spanId } : {}),
    ...(input.host !== undefined ? { host: input.host } : {}),
  };
  return {
    id,
    tenant,
    timestampMs,
    receivedMs: options.receivedMs,
    level: levelNumber(level),
    service: entry.service,
    traceId,
    body: JSON.stringify(entry),
    searchText: logSearchText(entry),
  };
}

export const logFromStored = (body: string): LogEntry => JSON.parse(body) as LogEntry;
