// Turns a validated client event into the exact record Logbook stores and hashes (DESIGN.md §3, §6).
// Pure apart from id generation: no SQL, no HTTP. The canonical body built here is what the Merkle leaf commits to.
import { createHash } from 'node:crypto';
import {
  type AuditEvent,
  canonicalJson,
  DEFAULT_TENANT,
  EVENT_LIMITS,
  type EventInput,
  type EventOutcome,
  hashLeaf,
  LogbookError,
  toHex,
} from '@logbook/protocol';
import { v7 as uuidv7 } from 'uuid';
import './hashing.ts';
import { requireIsoTime, toIso } from './time.ts';

/** The stored, hashed part of an event: every wire field except `seq` and `hash`. */
export type EventBody = Omit<AuditEvent, 'seq' | 'hash'>;

/** An event ready to append: everything is decided except its seq in the tenant log. */
export interface PreparedEvent {
  id: string;
  tenant: string;
  occurredMs: number;
  receivedMs: number;
  action: string;
  actorId: string;
  targetType: string | null;
  targetId: string | null;
  outcome: EventOutcome;
  ip: string | null;
  /** RFC 8785 JSON of EventBody: the bytes the leaf hash commits to. */
  body: string;
  leafHash: Uint8Array;
  /** SHA-256 of the client's input when the client chose the id; compared on retries. */
  inputDigest: Uint8Array | null;
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

function checkJsonField(field: string, value: unknown, maxBytes: number): void {
  if (value === undefined) return;
  if (depthOf(value, EVENT_LIMITS.maxNestingDepth) > EVENT_LIMITS.maxNestingDepth) {
    throw new LogbookError(
      'VALIDATION_FAILED',
      `${field} is nested deeper than ${EVENT_LIMITS.maxNestingDepth} levels`,
      {
        issues: [{ field, rule: 'maxDepth', message: `at most ${EVENT_LIMITS.maxNestingDepth} levels` }],
      },
    );
  }
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > maxBytes) {
    throw new LogbookError(
      'VALIDATION_FAILED',
      `${field} is ${bytes} bytes as JSON; the limit is ${maxBytes}`,
      {
        issues: [{ field, rule: 'maxBytes', message: `at most ${maxBytes} bytes` }],
      },
    );
  }
}

function checkLimits(input: EventInput, prefix: string): void {
  checkJsonField(`${prefix}/details`, input.details, EVENT_LIMITS.maxDetailsBytes);
  checkJsonField(`${prefix}/changes`, input.changes, EVENT_LIMITS.maxChangesBytes);
}

/** Canonical JSON of client data; what cannot be canonical (a lone UTF-16 surrogate) is the client's 400. */
function canonicalOrReject(value: unknown, prefix: string): string {
  try {
    return canonicalJson(value);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const at = /at \$([^ ]*) /.exec(error.message)?.[1] ?? '';
    const field = `${prefix}${at.replace(/\.|\[(\d+)\]/g, (_match, i) => (i === undefined ? '/' : `/${i}`))}`;
    throw new LogbookError(
      'VALIDATION_FAILED',
      `${field} cannot be stored: it contains a lone UTF-16 surrogate (invalid Unicode)`,
      {
        issues: [{ field, rule: 'unicode', message: 'must be well-formed Unicode' }],
      },
    );
  }
}

/** Words of a JSON value for the full-text index: object keys and scalar values, depth-first. */
function collectWords(value: unknown, out: string[]): void {
  if (value === null || value === undefined) return;
  if (typeof value !== 'object') {
    out.push(String(value));
  } else if (Array.isArray(value)) {
    for (const child of value) collectWords(child, out);
  } else {
    // Not Object.entries: it allocates a pair per member, for every member of every event.
    for (const key of Object.keys(value)) {
      out.push(key);
      collectWords((value as Record<string, unknown>)[key], out);
    }
  }
}

export function searchTextOf(body: EventBody): string {
  const words: string[] = [body.action];
  if (body.description) words.push(body.description);
  collectWords(body.actor, words);
  collectWords(body.target, words);
  collectWords(body.details, words);
  // Request ids, IPs and user agents are what people search for when tracing one request (seed 004's "find logs
  // by request ID").
  collectWords(body.context, words);
  return words.join(' ');
}

/**
 * Builds the stored record. `fieldPrefix` names the input in errors (`body/events/3`). `defaultTenant` is the
 * tenant the credential writes to when the event names none.
 */
export function prepareEvent(
  input: EventInput,
  options: { receivedMs: number; defaultTenant?: string; fieldPrefix?: string },
): PreparedEvent {
  const prefix = options.fieldPrefix ?? 'body';
  const tenant = input.tenant ?? options.defaultTenant ?? DEFAULT_TENANT;
  const occurredMs =
    input.occurredAt === undefined
      ? options.receivedMs
      : requireIsoTime(`${prefix}/occurredAt`, input.occurredAt, false);
  const clientId = input.id !== undefined;
  const id = input.id ?? uuidv7({ msecs: options.receivedMs });
  const body: EventBody = {
    id,
    tenant,
    occurredAt: input.occurredAt === undefined ? toIso(occurredMs) : isoOf(input.occurredAt, occurredMs),
    receivedAt: toIso(options.receivedMs),
    action: input.action,
    actor: input.actor,
    ...(input.target ? { target: input.target } : {}),
    ...(input.changes ? { changes: input.changes } : {}),
    outcome: input.outcome ?? 'success',
    ...(input.description !== undefined ? { description: input.description } : {}),
    ...(input.context ? { context: input.context } : {}),
    ...(input.details ? { details: input.details } : {}),
  };
  const canonical = canonicalBody(input, body, prefix);
  return {
    id,
    tenant,
    occurredMs,
    receivedMs: options.receivedMs,
    action: body.action,
    actorId: body.actor.id,
    targetType: body.target?.type ?? null,
    targetId: body.target?.id ?? null,
    outcome: body.outcome,
    ip: body.context?.ip ?? null,
    body: canonical,
    leafHash: hashLeaf(Buffer.from(canonical, 'utf8')),
    inputDigest: clientId
      ? createHash('sha256')
          .update(canonicalOrReject({ ...input, tenant }, prefix))
          .digest()
      : null,
    searchText: searchTextOf(body),
  };
}

/**
 * The canonical JSON of the body after the details/changes limits. Canonical JSON of a value is exactly as long as
 * JSON.stringify's (only the key order differs), and details and changes are parts of the body: a body within the
 * smaller limit needs no separate measurement (it cost a second serialisation of every event). The checks run
 * first when the body is larger or cannot be serialised, so the same input always gets the same error.
 */
function canonicalBody(input: EventInput, body: EventBody, prefix: string): string {
  if (
    depthOf(input.details, EVENT_LIMITS.maxNestingDepth) > EVENT_LIMITS.maxNestingDepth ||
    depthOf(input.changes, EVENT_LIMITS.maxNestingDepth) > EVENT_LIMITS.maxNestingDepth
  )
    checkLimits(input, prefix);
  let canonical: string;
  try {
    canonical = canonicalJson(body);
  } catch {
    checkLimits(input, prefix);
    return canonicalOrReject(body, prefix);
  }
  // UTF-8 bytes are at most 3 per UTF-16 unit: a short body cannot hold an oversized part.
  if (
    canonical.length * 3 > EVENT_LIMITS.maxDetailsBytes &&
    Buffer.byteLength(canonical) > EVENT_LIMITS.maxDetailsBytes
  )
    checkLimits(input, prefix);
  return canonical;
}

/** The stored form of a client's time: its own text when that is already the canonical form, as it mostly is. */
function isoOf(text: string, ms: number): string {
  return CANONICAL_ISO.test(text) ? text : toIso(ms);
}

/** What Date.prototype.toISOString writes for years 0–9999; parseIsoTime has checked that the date exists. */
const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The wire event from its stored body plus the log fields. */
export function eventFromStored(body: string, seq: number, leafHash: Uint8Array): AuditEvent {
  return { ...(JSON.parse(body) as EventBody), seq, hash: toHex(leafHash) };
}

/**
 * eventFromStored as JSON text: the stored canonical body (a JSON object with neither field) with the log fields
 * spliced in before its closing brace. Parsing a listed body and serialising it again was ~12 µs a row, a quarter of a
 * list page's CPU.
 */
export function eventJsonFromStored(body: string, seq: number, leafHash: Uint8Array): string {
  return `${body.slice(0, -1)},"seq":${seq},"hash":"${toHex(leafHash)}"}`;
}
