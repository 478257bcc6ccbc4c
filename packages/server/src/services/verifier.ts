// The verifier: re-derives every tenant log from storage alone — leaf hashes from stored content, gap-free seqs,
// the Merkle tree and its stored nodes, every checkpoint's signature and root, witness copies — and reports the first
// discrepancy. It only reads; it trusts nothing stored except what a pinned public key signed.
//
// Two ways through a window of `batchSize` entries, with the same findings:
// - the exact path reads LogEntryRow objects (readLog), parses every body and reports every discrepancy, in order;
// - the fast path (stores with readLogPacked) reads the window as a few packed buffers and only decides "provably
//   clean". The first doubt — a hash, a seq, a column, a node or a signed root that does not match, or anything it
//   cannot prove — sends that window through the exact path from the same state, which then reports exactly what it
//   would have reported anyway. Windows have the exact path's boundaries, so even the order of findings is the same.
import { isUtf8 } from 'node:buffer';
import { createHash, hash as cryptoHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  bytesEqual,
  type CompactRange,
  hashLeaf,
  openCheckpoint,
  parseVerifierKey,
  toHex,
} from '@logbook/protocol';
import type { EventBody } from '../domain/event.ts';
import type {
  LogEntryRow,
  PackedLogWindow,
  PackedLogWorker,
  PackedMerkleLevel,
  PrunedRange,
  Store,
} from '../store/store.ts';
import { checkpointOrigin } from './integrity.ts';
import { REDACTION_ACTION } from './redaction.ts';

export const FINDING_KINDS = [
  'seq-gap',
  'hash-mismatch',
  'body-mismatch',
  'column-mismatch',
  'node-mismatch',
  'size-mismatch',
  'range-mismatch',
  'checkpoint-signature',
  'checkpoint-record-mismatch',
  'checkpoint-root',
  'checkpoint-beyond-log',
  'witness-signature',
  'witness-root',
  'witness-beyond-log',
  'orphan-tenant',
  'seq-out-of-range',
  'payload-mismatch',
  'redaction-unrecorded',
  'prune-unrecorded',
  'prune-count-mismatch',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface Finding {
  tenant: string;
  seq?: number;
  kind: FindingKind;
  message: string;
}

export interface WitnessCopy {
  source: string;
  note: string;
}

export interface VerifyOptions {
  /** C2SP verifier key strings that checkpoints must be signed by (the pinned public key). */
  verifierKeys: string[];
  /** Witness copies of a tenant's checkpoints. */
  witnessCopies?: (tenant: string) => Promise<WitnessCopy[]>;
  /** Tenants the witnesses hold copies for: a tenant deleted whole from the database is still checked. */
  witnessTenants?: () => Promise<string[]>;
  /** Called after each batch with events verified so far and the total to verify. */
  onProgress?: (done: number, total: number) => void;
  /** Stop at the first finding (default) or collect them all. */
  all?: boolean;
  /** Entries per window (default 10,000). With `all`, node findings are listed at the end of their window. */
  batchSize?: number;
  /** Use the store's readLogPacked when it has one (default true; false forces the exact path, for tests). */
  packed?: boolean;
  /** Worker threads hashing and parsing windows (default: one per CPU beyond the first, at most 3; 0: none). */
  workers?: number;
  /** Let workers read windows on their own connections when the store offers it (default: on 4+ cores). */
  workerReads?: boolean;
  /** Start workers only when at least this many events are to be verified (default 50,000). */
  workerThreshold?: number;
}

export interface VerifyReport {
  ok: boolean;
  tenants: number;
  events: number;
  checkpoints: number;
  witnessCopies: number;
  /** Events per tenant after its latest checkpoint: present, but not yet covered by a signature. */
  unsigned: Record<string, number>;
  /**
   * Redacted entries per tenant (payload deleted by a recorded deletion — erasure, retention, a surface's delete —
   * leaf hash kept and checked); tenants without any are absent.
   */
  redacted: Record<string, number>;
  /**
   * Partitions retention dropped whole (PostgreSQL), per tenant: each range's entries lost their payload by the
   * deletion record at recordSeq; their leaf hashes are kept and checked. Tenants without any are absent, and the
   * whole field when no tenant has any.
   */
  pruned?: Record<string, PrunedReport[]>;
  seconds: number;
  findings: Finding[];
}

/** One pruned range as the report states it. */
export interface PrunedReport {
  partition: string;
  from: string;
  to: string;
  /** Entries whose payload went with the partition (checked against the entries found without payload). */
  count: number;
  belowSeq: number;
  recordSeq: number;
}

class StopVerification extends Error {}

const prunedKey = (fromMs: number, belowSeq: number) => `${fromMs}:${belowSeq}`;

/** A signed root the log must reproduce at `size`, and where the signature came from. */
interface SignedRoot {
  size: number;
  root: Uint8Array;
  source: 'checkpoint' | 'witness';
  where: string;
}

// ---------------------------------------------------------------------------------------------
// Hashing: node:crypto, one call per hash, the digest returned as a latin1 string (one char per byte) — a Buffer per
// digest costs about as much as hashing an event. Tests check these against protocol's hashLeaf and hashChildren,
// which remain the definition.

const sha256Latin1: (data: Uint8Array) => string =
  typeof cryptoHash === 'function'
    ? (data) => cryptoHash('sha256', data, 'binary')
    : (data) => createHash('sha256').update(data).digest('binary');

/** The 65-byte input 0x01 ‖ left ‖ right of an interior node hash. */
const nodeInput = new Uint8Array(65);
nodeInput[0] = 0x01;

/**
 * RFC 9162 interior node hash SHA-256(0x01 ‖ left ‖ right) of the 32-byte hashes at left[leftAt] and right[rightAt],
 * written to out[outAt]. `out` may overlap either input. Same function as protocol's hashChildren.
 */
export function hashChildrenInto(
  left: Uint8Array,
  leftAt: number,
  right: Uint8Array,
  rightAt: number,
  out: Uint8Array,
  outAt: number,
): void {
  const input = nodeInput;
  for (let i = 0; i < 32; i++) {
    input[1 + i] = left[leftAt + i]!;
    input[33 + i] = right[rightAt + i]!;
  }
  const digest = sha256Latin1(input);
  for (let i = 0; i < 32; i++) out[outAt + i] = digest.charCodeAt(i);
}

const EMPTY_ROOT = Buffer.from(sha256Latin1(new Uint8Array(0)), 'latin1');

let leafInput = Buffer.allocUnsafe(1 << 16);

/** hashLeaf(Buffer.from(body, 'utf8')) without a Buffer per body (the same UTF-8 encoder writes the bytes). */
export function hashLeafOfText(body: string): Uint8Array {
  if (typeof body !== 'string') return hashLeaf(Buffer.from(body, 'utf8')); // e.g. a blob in a loosened table
  if (body.length * 3 + 1 > leafInput.length) leafInput = Buffer.allocUnsafe(body.length * 3 + 1);
  leafInput[0] = 0x00;
  const n = leafInput.write(body, 1, 'utf8');
  return Buffer.from(sha256Latin1(leafInput.subarray(0, n + 1)), 'latin1');
}

function equal32(a: Uint8Array, aAt: number, b: Uint8Array, bAt: number): boolean {
  for (let i = 0; i < 32; i++) if (a[aAt + i] !== b[bAt + i]) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// A compact range appended in place: protocol's appendLeaf (the definition) returns a new range and a node list per
// leaf; this computes the same nodes into fixed buffers. A test checks both agree on random inputs.

/** Receives each interior node (level ≥ 1) an append completes; `hash` is only valid during the call. */
export interface NodeSink {
  node(level: number, index: number, hash: Uint8Array): void;
}

interface RangeState {
  size: number;
  depth: number;
  hashes: Uint8Array;
}

function popCount(x: number): number {
  let n = 0;
  for (let v = x; v > 0; v = Math.floor(v / 2)) n += v % 2;
  return n;
}

export class MutableCompactRange {
  size = 0;
  private depth = 0;
  /** The compact range's hashes, left to right (largest subtree first), 32 bytes each. */
  private readonly stack = new Uint8Array(64 * 32);
  private readonly current = new Uint8Array(32);

  static from(range: CompactRange): MutableCompactRange {
    if (!Number.isSafeInteger(range.size) || range.size < 0 || range.hashes.length !== popCount(range.size)) {
      throw new RangeError(`not a compact range of size ${range.size}`);
    }
    const mutable = new MutableCompactRange();
    range.hashes.forEach((hash, i) => {
      if (hash.length !== 32) throw new RangeError('compact range hashes must be 32 bytes');
      mutable.stack.set(hash, i * 32);
    });
    mutable.depth = range.hashes.length;
    mutable.size = range.size;
    return mutable;
  }

  /** Appends the 32-byte leaf hash at leaf[at]; reports every interior node it completes, bottom-up, to `sink`. */
  append(leaf: Uint8Array, at: number, sink: NodeSink | null): void {
    this.push(0, leaf, at, sink);
  }

  /**
   * Appends the perfect subtree of 2^level leaves whose root hash is at hash[at], as appending its leaves one by one
   * would: reports the nodes above it that this completes (not those inside it). The size must be a multiple of
   * 2^level, so that the subtree is aligned.
   */
  appendSubtree(level: number, hash: Uint8Array, at: number, sink: NodeSink | null): void {
    if (level === 0 || this.size % 2 ** level !== 0)
      throw new RangeError(`no aligned subtree of level ${level} here`);
    this.push(level, hash, at, sink);
  }

  /** Pushes an aligned node of `level` (a leaf at 0) and merges the completed subtrees left of it. */
  private push(level: number, hash: Uint8Array, at: number, sink: NodeSink | null): void {
    const width = 2 ** level;
    const current = this.current;
    const stack = this.stack;
    for (let i = 0; i < 32; i++) current[i] = hash[at + i]!;
    let index = this.size / width;
    // An odd index is a right child: its left sibling is the last perfect subtree in the range.
    while (index % 2 === 1) {
      this.depth -= 1;
      hashChildrenInto(stack, this.depth * 32, current, 0, current, 0);
      level += 1;
      index = (index - 1) / 2;
      sink?.node(level, index, current);
    }
    stack.set(current, this.depth * 32);
    this.depth += 1;
    this.size += width;
  }

  /** The root hash of the tree (as protocol's rootOf), written to out[0…32). */
  rootInto(out: Uint8Array): void {
    if (this.depth === 0) {
      out.set(EMPTY_ROOT);
      return;
    }
    out.set(this.stack.subarray((this.depth - 1) * 32, this.depth * 32));
    for (let i = this.depth - 2; i >= 0; i--) hashChildrenInto(this.stack, i * 32, out, 0, out, 0);
  }

  root(): Uint8Array {
    const out = new Uint8Array(32);
    this.rootInto(out);
    return out;
  }

  toCompactRange(): CompactRange {
    const hashes: Uint8Array[] = [];
    for (let i = 0; i < this.depth; i++) hashes.push(this.stack.slice(i * 32, i * 32 + 32));
    return { size: this.size, hashes };
  }

  save(): RangeState {
    return { size: this.size, depth: this.depth, hashes: this.stack.slice(0, this.depth * 32) };
  }

  restore(state: RangeState): void {
    this.size = state.size;
    this.depth = state.depth;
    this.stack.set(state.hashes);
  }
}

/**
 * Appends the window's leaves from range.size up to `stop` (leaf k of the window at leaves[(k - layout.first[0]) * 32],
 * its inner nodes in `inner` as windowNodes lays them out) as the largest aligned perfect subtrees that fit: the range
 * and the nodes reported to `sink` are those of appending the leaves one by one, less the nodes inside a subtree.
 */
export function appendWindowLeaves(
  range: MutableCompactRange,
  leaves: Uint8Array,
  inner: Uint8Array,
  layout: WindowNodeLayout,
  stop: number,
  sink: NodeSink | null,
): void {
  const start = layout.first[0]!;
  if (range.size < start || stop > start + layout.count[0]!)
    throw new RangeError('leaves outside the window');
  while (range.size < stop) {
    const p = range.size;
    let level = 0;
    let width = 1;
    while (p % (width * 2) === 0 && p + width * 2 <= stop) {
      width *= 2;
      level += 1;
    }
    if (level === 0) range.append(leaves, (p - start) * 32, sink);
    else range.appendSubtree(level, inner, layout.at[level]! + (p / width - layout.first[level]!) * 32, sink);
  }
}

/** The interior nodes a window completes, per level in one buffer: level L holds indexes first[L] … first[L]+count[L]-1. */
class WindowNodes implements NodeSink {
  levels = 0;
  readonly first: number[] = [0];
  readonly count: number[] = [0];
  readonly hashes: Uint8Array[] = [new Uint8Array(0)];

  /** Prepares for appending leaves start … start+n-1: node (L, j) completes with leaf (j+1)·2^L − 1. */
  reset(start: number, n: number): void {
    this.levels = 0;
    for (let level = 1, width = 2; width <= start + n; level++, width *= 2) {
      const first = Math.floor(start / width);
      const count = Math.floor((start + n) / width) - first;
      this.first[level] = first;
      this.count[level] = count;
      if ((this.hashes[level]?.length ?? -1) < count * 32) this.hashes[level] = new Uint8Array(count * 32);
      this.levels = level;
    }
  }

  node(level: number, index: number, hash: Uint8Array): void {
    this.hashes[level]!.set(hash, (index - this.first[level]!) * 32);
  }
}

// ---------------------------------------------------------------------------------------------
// Indexed columns against stored content. The exact check is columnProblems on JSON.parse(body). The fast path's
// check below works on the packed UTF-8 bytes and is one-sided: "consistent" only when JSON.parse would accept the
// body and columnProblems would find nothing; anything it does not handle (an escape in a compared string, a
// duplicate key, an unusual shape) makes the entry a suspect, which the exact check then decides.

function columnProblems(row: LogEntryRow, body: EventBody): string[] {
  const expected: [string, unknown, unknown][] = [
    ['id', row.id, body.id],
    ['tenant', row.tenant, body.tenant],
    ['occurred_ms', row.occurredMs, Date.parse(body.occurredAt)],
    ['action', row.action, body.action],
    ['actor_id', row.actorId, body.actor?.id],
    ['target_type', row.targetType, body.target?.type ?? null],
    ['target_id', row.targetId, body.target?.id ?? null],
    ['outcome', row.outcome, body.outcome],
    ['ip', row.ip, body.context?.ip ?? null],
  ];
  return expected.filter(([, stored, derived]) => stored !== derived).map(([column]) => column);
}

/** The exact per-entry column check as the exact path makes it: true when it would report nothing. */
export function columnsConsistent(row: LogEntryRow): boolean {
  let body: EventBody | null;
  try {
    body = JSON.parse(row.body) as EventBody;
  } catch {
    return false;
  }
  return !body || columnProblems(row, body).length === 0;
}

/** What checkWindow found: null leaves when the window is malformed or not valid UTF-8 (the exact path decides). */
export interface WindowCheck {
  /** 0x00 ‖ body hashed for every entry, 32 bytes each. */
  leaves: Uint8Array | null;
  /** Entries whose columns are not proven consistent (see columnSuspects); null: unreadable column records. */
  suspects: number[] | null;
  /**
   * The window's inner nodes (windowNodes) for leaves numbered from `start`: null when no start was given or the
   * leaves are null. They depend on the leaves alone, so the verifier uses them only once the leaves are proven.
   */
  nodes?: Uint8Array | null;
  start?: number;
}

/** Where windowNodes puts each level L ≥ 1: nodes first[L] … first[L]+count[L]-1, from byte at[L]. */
export interface WindowNodeLayout {
  /** Levels with nodes are 1 … levels-1. */
  levels: number;
  first: number[];
  count: number[];
  at: number[];
  bytes: number;
}

/**
 * The part of a window's check that depends on its bytes alone: UTF-8 validity, leaf hashes, column suspects. Self-
 * contained — no imports, nothing from outside but its arguments — because worker threads run it from its source
 * text (Function.prototype.toString), so they need no TypeScript loader.
 */
function windowCheckCode(sha256Latin1: (data: Uint8Array) => string, isUtf8: (data: Uint8Array) => boolean) {
  // Field slots, in the order of PackedLogWindow.columns.
  const ID = 0;
  const TENANT = 1;
  const OCCURRED = 2;
  const ACTION = 3;
  const ACTOR_ID = 4;
  const TARGET_TYPE = 5;
  const TARGET_ID = 6;
  const OUTCOME = 7;
  const IP = 8;
  const FIELDS = 9;
  // What a slot holds.
  const ABSENT = 0;
  const NULL = 1;
  const STRING = 2; // a JSON string without escapes: its bytes are its value
  const ESCAPED = 3; // a JSON string with escapes
  const INTEGER = 4;
  const OTHER = 5;
  const OBJECT = 6;
  // The members of the top-level object that are compared, or hold compared members.
  const NOT_COMPARED = -100;
  const ACTOR = 0;
  const TARGET = 1;
  const CONTEXT = 2;
  const MAX_DEPTH = 200;

  const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
  const KEY_TENANT = ascii('tenant');
  const KEY_ACTION = ascii('action');
  const KEY_TARGET = ascii('target');
  const KEY_OUTCOME = ascii('outcome');
  const KEY_CONTEXT = ascii('context');
  const KEY_ACTOR = ascii('actor');
  const KEY_OCCURRED = ascii('occurredAt');
  const KEY_TYPE = ascii('type');
  const NULL_LITERAL = ascii('null');
  const TRUE_LITERAL = ascii('true');
  const FALSE_LITERAL = ascii('false');

  // Scanner state. The scanner is synchronous and never re-entered, so plain module state is enough (and fast).
  let strStart = 0;
  let strEnd = 0;
  let strEscaped = false;
  const bodyKind = new Uint8Array(FIELDS);
  const bodyStart = new Int32Array(FIELDS);
  const bodyEnd = new Int32Array(FIELDS);
  const objectKind = new Uint8Array(3);
  const columnKind = new Uint8Array(FIELDS);
  const columnStart = new Int32Array(FIELDS);
  const columnEnd = new Int32Array(FIELDS);
  const columnNumber = new Float64Array(FIELDS);

  /** 1 for a byte that stands for itself inside a JSON string: not `"`, not `\\`, not a control character. */
  const PLAIN_STRING_BYTE = new Uint8Array(256).map((_, c) =>
    c >= 0x20 && c !== 0x22 && c !== 0x5c ? 1 : 0,
  );

  function isDigit(c: number | undefined): boolean {
    return c !== undefined && c >= 0x30 && c <= 0x39;
  }
  function isHex(c: number | undefined): boolean {
    return (
      c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
    );
  }

  function skipWs(b: Uint8Array, p: number, end: number): number {
    while (p < end) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    return p;
  }

  /** The JSON string whose opening quote is at p: the position after it (noting its content), or -1. */
  function scanString(b: Uint8Array, p: number, end: number): number {
    let i = p + 1;
    let escaped = false;
    while (i < end) {
      // The common bytes first, one table lookup each.
      while (i < end && PLAIN_STRING_BYTE[b[i]!] === 1) i++;
      if (i >= end) return -1;
      const c = b[i]!;
      if (c === 0x22) {
        strStart = p + 1;
        strEnd = i;
        strEscaped = escaped;
        return i + 1;
      }
      if (c === 0x5c) {
        escaped = true;
        if (i + 1 >= end) return -1;
        const e = b[i + 1]!;
        if (e === 0x75) {
          if (i + 5 >= end || !isHex(b[i + 2]) || !isHex(b[i + 3]) || !isHex(b[i + 4]) || !isHex(b[i + 5]))
            return -1;
          i += 6;
        } else if (
          e === 0x22 ||
          e === 0x5c ||
          e === 0x2f ||
          e === 0x62 ||
          e === 0x66 ||
          e === 0x6e ||
          e === 0x72 ||
          e === 0x74
        ) {
          i += 2;
        } else {
          return -1;
        }
      } else if (c < 0x20) {
        return -1;
      } else {
        i++;
      }
    }
    return -1;
  }

  function scanNumber(b: Uint8Array, p: number, end: number): number {
    let i = p;
    if (b[i] === 0x2d) i++;
    if (i >= end) return -1;
    if (b[i] === 0x30) i++;
    else if (isDigit(b[i])) while (i < end && isDigit(b[i])) i++;
    else return -1;
    if (i < end && b[i] === 0x2e) {
      i++;
      if (i >= end || !isDigit(b[i])) return -1;
      while (i < end && isDigit(b[i])) i++;
    }
    if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
      i++;
      if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++;
      if (i >= end || !isDigit(b[i])) return -1;
      while (i < end && isDigit(b[i])) i++;
    }
    return i;
  }

  function scanLiteral(b: Uint8Array, p: number, end: number, word: Uint8Array): number {
    if (p + word.length > end) return -1;
    for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return -1;
    return p + word.length;
  }

  /** Any JSON value at p: the position after it, or -1. */
  function scanValue(b: Uint8Array, p: number, end: number, depth: number): number {
    if (p >= end) return -1;
    const c = b[p]!;
    if (c === 0x22) return scanString(b, p, end);
    if (c === 0x7b || c === 0x5b) {
      if (depth >= MAX_DEPTH) return -1;
      const close = c === 0x7b ? 0x7d : 0x5d;
      p = skipWs(b, p + 1, end);
      if (p < end && b[p] === close) return p + 1;
      for (;;) {
        if (c === 0x7b) {
          if (p >= end || b[p] !== 0x22) return -1;
          p = scanString(b, p, end);
          if (p < 0) return -1;
          p = skipWs(b, p, end);
          if (p >= end || b[p] !== 0x3a) return -1;
          p = skipWs(b, p + 1, end);
        }
        p = scanValue(b, p, end, depth + 1);
        if (p < 0) return -1;
        p = skipWs(b, p, end);
        if (p >= end) return -1;
        if (b[p] === 0x2c) p = skipWs(b, p + 1, end);
        else if (b[p] === close) return p + 1;
        else return -1;
      }
    }
    if (c === 0x74) return scanLiteral(b, p, end, TRUE_LITERAL);
    if (c === 0x66) return scanLiteral(b, p, end, FALSE_LITERAL);
    if (c === 0x6e) return scanLiteral(b, p, end, NULL_LITERAL);
    if (c === 0x2d || isDigit(c)) return scanNumber(b, p, end);
    return -1;
  }

  function keyIs(b: Uint8Array, start: number, key: Uint8Array): boolean {
    for (let i = 0; i < key.length; i++) if (b[start + i] !== key[i]) return false;
    return true;
  }

  /** What the top-level key b[start, end) names: a slot, -1 - an object (actor, target, context), or NOT_COMPARED. */
  function topKey(b: Uint8Array, start: number, end: number): number {
    // The first byte picks the one candidate of each length (most keys of a body are not compared).
    const first = b[start];
    switch (end - start) {
      case 2:
        return first === 0x69 && b[start + 1] === 0x64 ? ID : NOT_COMPARED;
      case 5:
        return first === 0x61 && keyIs(b, start, KEY_ACTOR) ? -1 - ACTOR : NOT_COMPARED;
      case 6:
        if (first === 0x74) {
          if (keyIs(b, start, KEY_TENANT)) return TENANT;
          return keyIs(b, start, KEY_TARGET) ? -1 - TARGET : NOT_COMPARED;
        }
        return first === 0x61 && keyIs(b, start, KEY_ACTION) ? ACTION : NOT_COMPARED;
      case 7:
        if (first === 0x6f) return keyIs(b, start, KEY_OUTCOME) ? OUTCOME : NOT_COMPARED;
        return first === 0x63 && keyIs(b, start, KEY_CONTEXT) ? -1 - CONTEXT : NOT_COMPARED;
      case 10:
        return first === 0x6f && keyIs(b, start, KEY_OCCURRED) ? OCCURRED : NOT_COMPARED;
      default:
        return NOT_COMPARED;
    }
  }

  /** What a key b[start, end) of actor, target or context names: a slot or NOT_COMPARED. */
  function memberKey(object: number, b: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const id = length === 2 && b[start] === 0x69 && b[start + 1] === 0x64;
    if (object === ACTOR) return id ? ACTOR_ID : NOT_COMPARED;
    if (object === TARGET) {
      if (id) return TARGET_ID;
      return length === 4 && keyIs(b, start, KEY_TYPE) ? TARGET_TYPE : NOT_COMPARED;
    }
    return length === 2 && b[start] === 0x69 && b[start + 1] === 0x70 ? IP : NOT_COMPARED;
  }

  /** A compared string member at p: notes its bytes, or -1 (escapes are left to the exact check). */
  function readMember(b: Uint8Array, p: number, end: number, slot: number): number {
    p = scanString(b, p, end);
    if (p < 0 || strEscaped) return -1;
    bodyKind[slot] = STRING;
    bodyStart[slot] = strStart;
    bodyEnd[slot] = strEnd;
    return p;
  }

  /** actor, target or context at p (an object): notes the compared members. */
  function readObject(b: Uint8Array, p: number, end: number, object: number): number {
    p = skipWs(b, p + 1, end);
    if (p < end && b[p] === 0x7d) return p + 1;
    for (;;) {
      if (p >= end || b[p] !== 0x22) return -1;
      p = scanString(b, p, end);
      if (p < 0 || strEscaped) return -1;
      const slot = memberKey(object, b, strStart, strEnd);
      p = skipWs(b, p, end);
      if (p >= end || b[p] !== 0x3a) return -1;
      p = skipWs(b, p + 1, end);
      if (slot === NOT_COMPARED) {
        p = scanValue(b, p, end, 2);
      } else if (bodyKind[slot] !== ABSENT) {
        return -1; // a duplicate key: JSON.parse keeps the last one
      } else if (b[p] === 0x22) {
        p = readMember(b, p, end, slot);
      } else if (b[p] === 0x6e && object !== ACTOR) {
        bodyKind[slot] = NULL;
        p = scanLiteral(b, p, end, NULL_LITERAL);
      } else {
        return -1;
      }
      if (p < 0) return -1;
      p = skipWs(b, p, end);
      if (p >= end) return -1;
      if (b[p] === 0x2c) p = skipWs(b, p + 1, end);
      else if (b[p] === 0x7d) return p + 1;
      else return -1;
    }
  }

  /** Parses the body b[start, end), noting the compared members; false when it is not an object this check reads. */
  function readBody(b: Uint8Array, start: number, end: number): boolean {
    // Plain stores: fill() is a builtin call, dearer than the nine and three stores it makes.
    for (let slot = 0; slot < FIELDS; slot++) bodyKind[slot] = ABSENT;
    for (let object = 0; object < 3; object++) objectKind[object] = ABSENT;
    let p = skipWs(b, start, end);
    if (p >= end || b[p] !== 0x7b) return false;
    p = skipWs(b, p + 1, end);
    for (;;) {
      if (p >= end || b[p] !== 0x22) return false; // also `{}`: a body without an id is never consistent
      p = scanString(b, p, end);
      if (p < 0 || strEscaped) return false;
      const slot = topKey(b, strStart, strEnd);
      p = skipWs(b, p, end);
      if (p >= end || b[p] !== 0x3a) return false;
      p = skipWs(b, p + 1, end);
      if (slot === NOT_COMPARED) {
        p = scanValue(b, p, end, 1);
      } else if (slot >= 0) {
        if (bodyKind[slot] !== ABSENT || b[p] !== 0x22) return false;
        p = readMember(b, p, end, slot);
      } else {
        const object = -1 - slot;
        if (objectKind[object] !== ABSENT) return false;
        if (b[p] === 0x7b) {
          objectKind[object] = OBJECT;
          p = readObject(b, p, end, object);
        } else if (b[p] === 0x6e && object !== ACTOR) {
          objectKind[object] = NULL;
          p = scanLiteral(b, p, end, NULL_LITERAL);
        } else {
          return false;
        }
      }
      if (p < 0) return false;
      p = skipWs(b, p, end);
      if (p >= end) return false;
      if (b[p] === 0x2c) p = skipWs(b, p + 1, end);
      else if (b[p] === 0x7d) return skipWs(b, p + 1, end) === end;
      else return false;
    }
  }

  /** One record [id, tenant, occurred_ms, …] of the columns at p: the position after it, or -1. */
  function readRecord(b: Uint8Array, p: number, end: number): number {
    if (p >= end || b[p] !== 0x5b) return -1;
    p = skipWs(b, p + 1, end);
    for (let slot = 0; slot < FIELDS; slot++) {
      if (slot > 0) {
        if (p >= end || b[p] !== 0x2c) return -1;
        p = skipWs(b, p + 1, end);
      }
      if (p >= end) return -1;
      const c = b[p]!;
      if (c === 0x22) {
        p = scanString(b, p, end);
        if (p < 0) return -1;
        columnKind[slot] = strEscaped ? ESCAPED : STRING;
        columnStart[slot] = strStart;
        columnEnd[slot] = strEnd;
      } else if (c === 0x6e) {
        p = scanLiteral(b, p, end, NULL_LITERAL);
        if (p < 0) return -1;
        columnKind[slot] = NULL;
      } else {
        const start = p;
        p = scanNumber(b, p, end);
        if (p < 0) return -1;
        // A plain integer of at most 15 digits: exact as a double, as better-sqlite3 returns it.
        const negative = b[start] === 0x2d;
        let value = 0;
        let kind = p - start <= 15 ? INTEGER : OTHER;
        for (let i = negative ? start + 1 : start; i < p && kind === INTEGER; i++) {
          if (isDigit(b[i])) value = value * 10 + (b[i]! - 0x30);
          else kind = OTHER;
        }
        columnKind[slot] = kind;
        columnNumber[slot] = negative ? -value : value;
      }
      p = skipWs(b, p, end);
    }
    if (p >= end || b[p] !== 0x5d) return -1;
    return p + 1;
  }

  /** Days from 1970-01-01 to a proleptic Gregorian date (month 1-12), exactly as ECMAScript's MakeDay. */
  function daysFromCivil(year: number, month: number, day: number): number {
    const y = month <= 2 ? year - 1 : year;
    const era = Math.floor(y / 400);
    const yearOfEra = y - era * 400;
    const dayOfYear = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
    const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
    return era * 146097 + dayOfEra - 719468;
  }

  const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

  function digits(b: Uint8Array, at: number, n: number): number {
    let value = 0;
    for (let i = at; i < at + n; i++) {
      const c = b[i]!;
      if (c < 0x30 || c > 0x39) return -1;
      value = value * 10 + (c - 0x30);
    }
    return value;
  }

  /**
   * Date.parse of b[start, end) when it is a canonical, in-range `YYYY-MM-DDTHH:mm:ss.sssZ` (as toISOString writes):
   * the value Date.parse returns for it. NaN for anything else (left to Date.parse in the exact check).
   */
  function parseCanonicalIsoTime(b: Uint8Array, start: number, end: number): number {
    if (
      end - start !== 24 ||
      b[start + 4] !== 0x2d ||
      b[start + 7] !== 0x2d ||
      b[start + 10] !== 0x54 ||
      b[start + 13] !== 0x3a ||
      b[start + 16] !== 0x3a ||
      b[start + 19] !== 0x2e ||
      b[start + 23] !== 0x5a
    ) {
      return Number.NaN;
    }
    const year = digits(b, start, 4);
    const month = digits(b, start + 5, 2);
    const day = digits(b, start + 8, 2);
    const hour = digits(b, start + 11, 2);
    const minute = digits(b, start + 14, 2);
    const second = digits(b, start + 17, 2);
    const ms = digits(b, start + 20, 3);
    if (
      year < 0 ||
      month < 1 ||
      month > 12 ||
      day < 1 ||
      hour < 0 ||
      hour > 23 ||
      minute < 0 ||
      minute > 59
    ) {
      return Number.NaN;
    }
    if (second < 0 || second > 59 || ms < 0) return Number.NaN;
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    if (day > (month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!)) return Number.NaN;
    return (
      daysFromCivil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms
    );
  }

  function sameString(bodies: Uint8Array, columns: Uint8Array, slot: number): boolean {
    if (bodyKind[slot] !== STRING || columnKind[slot] !== STRING) return false;
    const start = bodyStart[slot]!;
    const length = bodyEnd[slot]! - start;
    const at = columnStart[slot]!;
    if (columnEnd[slot]! - at !== length) return false;
    for (let i = 0; i < length; i++) if (bodies[start + i] !== columns[at + i]) return false;
    return true;
  }

  /** `body.<object>?.<member> ?? null` against a nullable column. */
  function sameNullable(bodies: Uint8Array, columns: Uint8Array, object: number, slot: number): boolean {
    if (objectKind[object] !== OBJECT || bodyKind[slot] !== STRING) return columnKind[slot] === NULL;
    return sameString(bodies, columns, slot);
  }

  /** The body read last and the record read last agree as columnProblems would find (one-sided: see above). */
  function recordMatchesBody(bodies: Uint8Array, columns: Uint8Array): boolean {
    return (
      sameString(bodies, columns, ID) &&
      sameString(bodies, columns, TENANT) &&
      sameString(bodies, columns, ACTION) &&
      sameString(bodies, columns, OUTCOME) &&
      objectKind[ACTOR] === OBJECT &&
      sameString(bodies, columns, ACTOR_ID) &&
      sameNullable(bodies, columns, TARGET, TARGET_TYPE) &&
      sameNullable(bodies, columns, TARGET, TARGET_ID) &&
      sameNullable(bodies, columns, CONTEXT, IP) &&
      bodyKind[OCCURRED] === STRING &&
      columnKind[OCCURRED] === INTEGER &&
      parseCanonicalIsoTime(bodies, bodyStart[OCCURRED]!, bodyEnd[OCCURRED]!) === columnNumber[OCCURRED]
    );
  }

  /** Whether the body read last says null for a nullable slot (`body.<object>?.<member> ?? null`). */
  function bodyNull(object: number, slot: number): boolean {
    return objectKind[object] !== OBJECT || bodyKind[slot] !== STRING;
  }

  /**
   * The common case in one pass: the record at p is, byte for byte, what the adapter writes for columns equal to the
   * body read last (`["<id>","<tenant>",<ms>,…]`, no whitespace, no escapes). Returns the position after it, or -1:
   * then readRecord and recordMatchesBody decide (an escape, whitespace, a mismatch).
   */
  function matchRecord(c: Uint8Array, p: number, end: number, bodies: Uint8Array): number {
    if (p >= end || c[p] !== 0x5b) return -1;
    p++;
    for (let slot = 0; slot < FIELDS; slot++) {
      if (slot > 0) {
        if (c[p] !== 0x2c) return -1;
        p++;
      }
      if (slot === OCCURRED) {
        if (bodyKind[OCCURRED] !== STRING) return -1;
        const expected = parseCanonicalIsoTime(bodies, bodyStart[OCCURRED]!, bodyEnd[OCCURRED]!);
        // A non-negative integer of at most 15 digits, as json_array prints one (no sign, no leading zero).
        const start = p;
        let value = 0;
        while (p < end && p - start < 16) {
          const d = c[p]! - 0x30;
          if (d < 0 || d > 9) break;
          value = value * 10 + d;
          p++;
        }
        if (p === start || p - start > 15 || (c[start] === 0x30 && p - start > 1) || value !== expected)
          return -1;
        continue;
      }
      if (
        (slot === TARGET_TYPE && bodyNull(TARGET, slot)) ||
        (slot === TARGET_ID && bodyNull(TARGET, slot)) ||
        (slot === IP && bodyNull(CONTEXT, slot))
      ) {
        if (c[p] !== 0x6e || c[p + 1] !== 0x75 || c[p + 2] !== 0x6c || c[p + 3] !== 0x6c) return -1;
        p += 4;
        continue;
      }
      if (bodyKind[slot] !== STRING || (slot === ACTOR_ID && objectKind[ACTOR] !== OBJECT)) return -1;
      // The body's string has no quote, backslash or control byte, so equal bytes are a plain JSON string too.
      const start = bodyStart[slot]!;
      const length = bodyEnd[slot]! - start;
      if (c[p] !== 0x22 || p + length + 1 >= end || c[p + length + 1] !== 0x22) return -1;
      p++;
      for (let i = 0; i < length; i++) if (c[p + i] !== bodies[start + i]) return -1;
      p += length + 1;
    }
    return p < end && c[p] === 0x5d ? p + 1 : -1;
  }

  /**
   * The entries of a packed window whose indexed columns this check cannot prove consistent with their bodies, by
   * index; null when `columns` does not hold exactly one well-formed record per entry. `bodies` must be valid UTF-8.
   * Exported for tests.
   */
  function columnSuspects(
    bodies: Uint8Array,
    bodyOffsets: Uint32Array,
    columns: Uint8Array,
    count: number,
  ): number[] | null {
    const suspects: number[] = [];
    const end = columns.length;
    let at = 0;
    for (let i = 0; i < count; i++) {
      at = skipWs(columns, at, end);
      const body = readBody(bodies, bodyOffsets[i]! + 1, bodyOffsets[i + 1]!);
      const matched = body ? matchRecord(columns, at, end, bodies) : -1;
      if (matched >= 0) {
        at = matched;
        continue;
      }
      at = readRecord(columns, at, end);
      if (at < 0) return null;
      if (!body || !recordMatchesBody(bodies, columns)) suspects.push(i);
    }
    return skipWs(columns, at, end) === end ? suspects : null;
  }

  /**
   * The interior nodes of the tree whose leaves all lie in the window of `count` leaves numbered from `start`: level L
   * holds indexes ceil(start / 2^L) … floor((start + count) / 2^L) - 1. Null for a start that is not a leaf number.
   */
  function windowNodeLayout(start: number, count: number): WindowNodeLayout | null {
    if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(start + count)) return null;
    const layout: WindowNodeLayout = { levels: 1, first: [start], count: [count], at: [0], bytes: 0 };
    for (let level = 1, width = 2; ; level++, width *= 2) {
      const first = Math.ceil(start / width);
      const n = Math.floor((start + count) / width) - first;
      if (n <= 0) break;
      layout.first[level] = first;
      layout.count[level] = n;
      layout.at[level] = layout.bytes;
      layout.bytes += n * 32;
      layout.levels = level + 1;
    }
    return layout;
  }

  const nodeInput = new Uint8Array(65);
  nodeInput[0] = 0x01;

  /** Every node of windowNodeLayout(start, count), hashed level by level from the window's leaves, in one buffer. */
  function windowNodes(leaves: Uint8Array, start: number, count: number): Uint8Array | null {
    const layout = windowNodeLayout(start, count);
    if (!layout || leaves.length !== count * 32) return null;
    const nodes = new Uint8Array(layout.bytes);
    for (let level = 1; level < layout.levels; level++) {
      const below = level === 1 ? leaves : nodes;
      const belowAt = level === 1 ? 0 : layout.at[level - 1]!;
      const belowFirst = layout.first[level - 1]!;
      const first = layout.first[level]!;
      const n = layout.count[level]!;
      let out = layout.at[level]!;
      for (let k = 0; k < n; k++, out += 32) {
        // Node j's children are 2j and 2j+1 one level down, both in the window.
        const left = belowAt + (2 * (first + k) - belowFirst) * 32;
        for (let i = 0; i < 64; i++) nodeInput[1 + i] = below[left + i]!;
        const digest = sha256Latin1(nodeInput);
        for (let i = 0; i < 32; i++) nodes[out + i] = digest.charCodeAt(i);
      }
    }
    return nodes;
  }

  /**
   * Spare bytes to 0x00, UTF-8 validity, every leaf hash, the column suspects, and — given the number of the first
   * leaf — the window's inner nodes. Overwrites the spare bytes.
   */
  function checkWindow(
    bodies: Uint8Array,
    bodyOffsets: Uint32Array,
    columns: Uint8Array,
    count: number,
    start?: number,
  ): WindowCheck {
    if (bodyOffsets.length !== count + 1 || bodyOffsets[0] !== 0 || bodyOffsets[count] !== bodies.length) {
      return { leaves: null, suspects: null };
    }
    for (let i = 0; i < count; i++) {
      if (bodyOffsets[i + 1]! <= bodyOffsets[i]!) return { leaves: null, suspects: null };
      bodies[bodyOffsets[i]!] = 0x00;
    }
    // Hashing the stored bytes equals hashing Buffer.from(text) only when they are valid UTF-8.
    if (!isUtf8(bodies)) return { leaves: null, suspects: null };
    const leaves = new Uint8Array(count * 32);
    for (let i = 0; i < count; i++) {
      const digest = sha256Latin1(bodies.subarray(bodyOffsets[i]!, bodyOffsets[i + 1]!));
      for (let k = 0; k < 32; k++) leaves[i * 32 + k] = digest.charCodeAt(k);
    }
    const suspects = columnSuspects(bodies, bodyOffsets, columns, count);
    if (start === undefined) return { leaves, suspects };
    return { leaves, suspects, nodes: windowNodes(leaves, start, count), start };
  }

  return { checkWindow, columnSuspects, parseCanonicalIsoTime, windowNodeLayout, windowNodes };
}

const windowCheck = windowCheckCode(sha256Latin1, isUtf8);
/** Exported for tests. */
export const { checkWindow, columnSuspects, parseCanonicalIsoTime, windowNodeLayout, windowNodes } =
  windowCheck;

// ---------------------------------------------------------------------------------------------
// Worker threads for checkWindow: the main thread reads windows, appends each to the tree as a few perfect subtrees
// and compares the stored nodes, while workers hash leaves and the windows' inner nodes and parse the bodies.

/**
 * A worker: checks windows it is sent, and — given the store's PackedLogWorker as workerData — reads windows itself
 * on its own connection, so that reading (one core per connection) runs in parallel too.
 */
function workerSource(reader: PackedLogWorker | null): string {
  return `'use strict';
var __name = (fn) => fn; // a transpiler keeping function names may reference it
const { parentPort, workerData } = require('node:worker_threads');
const { createHash, hash } = require('node:crypto');
const { isUtf8 } = require('node:buffer');
const sha256Latin1 =
  typeof hash === 'function'
    ? (data) => hash('sha256', data, 'binary')
    : (data) => createHash('sha256').update(data).digest('binary');
const { checkWindow } = (${windowCheckCode.toString()})(sha256Latin1, isUtf8);
let read = null;
try {
  read = ${reader ? `(${reader.source})(workerData)` : 'null'};
} catch {}
const wholeBuffers = (views) => {
  const list = [];
  for (const v of views) {
    if (v && v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength &&
        !list.includes(v.buffer)) list.push(v.buffer);
  }
  return list;
};
parentPort.on('message', (job) => {
  let result = { leaves: null, suspects: null };
  if (job.kind === 'read') {
    let window;
    try {
      if (!read) throw new Error('no reader');
      window = read(job.tenant, job.fromSeq, job.limit);
    } catch {
      parentPort.postMessage({ id: job.id, failed: true });
      return;
    }
    try {
      if (window && window.count > 0)
        result = checkWindow(window.bodies, window.bodyOffsets, window.columns, window.count, job.fromSeq);
    } catch {}
    const views = window
      ? [window.seqs, window.bodies, window.bodyOffsets, window.leafHashes, window.columns, result.leaves, result.nodes]
      : [result.leaves, result.nodes];
    parentPort.postMessage({ id: job.id, window, ...result }, wholeBuffers(views));
    return;
  }
  try {
    result = checkWindow(job.bodies, job.bodyOffsets, job.columns, job.count, job.start);
  } catch {}
  parentPort.postMessage({ id: job.id, ...result }, wholeBuffers([result.leaves, result.nodes]));
});
`;
}

/** A window a worker read and checked. */
export interface WorkerWindow {
  window: PackedLogWindow | null;
  check: WindowCheck | null;
}

type WorkerReply = { id: number; failed?: boolean; window?: PackedLogWindow | null } & WindowCheck;

const checkOf = (reply: WorkerReply): WindowCheck => ({
  leaves: reply.leaves,
  suspects: reply.suspects,
  ...(reply.nodes ? { nodes: reply.nodes, start: reply.start! } : {}),
});

/** Runs checkWindow on worker threads (none: in this thread). Resolves null when a worker failed. */
export class WindowCheckers {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, (reply: WorkerReply | null) => void>();
  private jobs = 0;
  private usable = true;
  /** Workers read windows themselves (the store gave a PackedLogWorker) until one fails to. */
  private reading: boolean;

  constructor(workers: number, reader: PackedLogWorker | null = null) {
    this.reading = reader !== null && workers > 0;
    try {
      const source = workerSource(reader);
      for (let i = 0; i < workers; i++) {
        const worker = new Worker(source, { eval: true, execArgv: [], workerData: reader?.data ?? null });
        worker.on('message', (message: WorkerReply) => {
          const resolve = this.pending.get(message.id);
          this.pending.delete(message.id);
          resolve?.(message);
        });
        worker.on('error', () => this.fail());
        worker.on('exit', () => this.fail());
        this.workers.push(worker);
      }
    } catch {
      this.fail();
    }
  }

  /** checkWindow of the window, its leaves numbered from `start` (given, the check includes the inner nodes). */
  check(window: PackedLogWindow, start?: number): Promise<WindowCheck | null> {
    const { bodies, bodyOffsets, columns, count } = window;
    if (!this.usable || this.workers.length === 0) {
      return Promise.resolve(checkWindow(bodies, bodyOffsets, columns, count, start));
    }
    const id = this.jobs++;
    const worker = this.workers[id % this.workers.length]!;
    // Hand the big buffers over instead of copying them when they are whole ArrayBuffers (the main thread is done
    // with them: a window it doubts is read again through readLog).
    const transfer: ArrayBuffer[] = [];
    for (const bytes of [bodies, columns]) {
      const { buffer } = bytes;
      if (
        buffer instanceof ArrayBuffer &&
        bytes.byteOffset === 0 &&
        bytes.byteLength === buffer.byteLength &&
        !transfer.includes(buffer)
      ) {
        transfer.push(buffer);
      }
    }
    return new Promise((resolve) => {
      this.pending.set(id, (reply) => resolve(reply ? checkOf(reply) : null));
      try {
        worker.postMessage({ id, kind: 'check', bodies, bodyOffsets, columns, count, start }, transfer);
      } catch {
        this.pending.delete(id);
        resolve(checkWindow(bodies, bodyOffsets, columns, count, start));
      }
    });
  }

  /** Whether workers read windows themselves (readAndCheck) rather than being sent them (check). */
  get reads(): boolean {
    return this.reading && this.usable && this.workers.length > 0;
  }

  /**
   * A worker reads the window (its own connection) and checks it. Null: it could not read, so the caller reads the
   * window itself (and later windows are no longer sent to workers to read).
   */
  readAndCheck(tenant: string, fromSeq: number, limit: number): Promise<WorkerWindow | null> {
    if (!this.reads) return Promise.resolve(null);
    const id = this.jobs++;
    const worker = this.workers[id % this.workers.length]!;
    return new Promise((resolve) => {
      this.pending.set(id, (reply) => {
        if (!reply || reply.failed) {
          if (reply?.failed) this.reading = false;
          resolve(null);
          return;
        }
        resolve({ window: reply.window ?? null, check: checkOf(reply) });
      });
      try {
        worker.postMessage({ id, kind: 'read', tenant, fromSeq, limit });
      } catch {
        this.pending.delete(id);
        resolve(null);
      }
    });
  }

  /** Worker threads in use (0 once any failed, or after close: checks then run in this thread). */
  get threads(): number {
    return this.usable ? this.workers.length : 0;
  }

  private fail(): void {
    this.usable = false;
    for (const resolve of this.pending.values()) resolve(null);
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.usable = false;
    await Promise.all(this.workers.map((worker) => worker.terminate()));
    this.fail();
  }
}

// ---------------------------------------------------------------------------------------------
// One tenant's log.

type Report = (finding: Finding) => void;

/** A window read ahead, with its checkWindow running. */
interface Prefetched {
  fromSeq: number;
  window: PackedLogWindow | null;
  check: Promise<WindowCheck | null>;
}

class TenantLogVerifier {
  readonly range = new MutableCompactRange();
  private readonly signedSizes: number[];
  private readonly nodes = new WindowNodes();
  private readonly root = new Uint8Array(32);
  /** Redacted entries seen, and the deletion records they name (seq → problem, or null when the record is sound). */
  redacted = 0;
  private readonly records = new Map<number, Promise<RedactionRecord | string>>();
  /** The tenant's pruned ranges by prunedKey, and the entries found without payload in each. */
  private readonly prunedRanges = new Map<string, PrunedRange>();
  readonly prunedSeen = new Map<string, number>();
  /** Ranges already judged: whether each is backed by its deletion record. */
  private readonly prunedChecked = new Map<string, boolean>();

  constructor(
    private readonly store: Store,
    private readonly tenant: string,
    private readonly signedBySize: Map<number, SignedRoot[]>,
    private readonly report: Report,
    private readonly batchSize: number,
    private readonly checkers: WindowCheckers | null,
    /** The log size recorded when verification began: entries from here on were appended since (or forged). */
    private readonly size: number,
    pruned: PrunedRange[] = [],
  ) {
    this.signedSizes = [...signedBySize.keys()].sort((a, b) => a - b);
    for (const range of pruned) this.prunedRanges.set(prunedKey(range.fromMs, range.belowSeq), range);
  }

  /** Verifies every entry, window by window; `progress` gets each window's entry count once it is done. */
  async verify(progress: (entries: number) => void): Promise<void> {
    if (!this.checkers || typeof this.store.readLogPacked !== 'function') {
      for (let fromSeq = 0; ; ) {
        const rows = await this.readLog(fromSeq);
        if (rows.length === 0) return;
        await this.exactWindow(rows);
        fromSeq = rows[rows.length - 1]!.seq + 1;
        progress(rows.length);
      }
    }
    // Windows ahead of the current one are read (by workers, or here and handed to a worker) while this one is
    // finished: when this thread reads, two ahead, so that the checkers always have the next window queued while
    // this thread reads the one after (one checked in this thread needs none ahead); when workers read for
    // themselves, one per worker and one more.
    const depth = this.checkers.reads ? this.checkers.threads + 1 : this.checkers.threads > 0 ? 2 : 1;
    const queue: Promise<Prefetched>[] = [];
    let planned = 0; // where the next read-ahead starts
    let nextSeq = 0; // one past the last entry verified
    const fill = () => {
      while (queue.length < depth) {
        const limit = this.windowAt(planned);
        if (limit === 0) return;
        queue.push(this.prefetch(planned));
        planned += limit;
      }
    };
    fill();
    for (;;) {
      const ahead = queue.shift();
      if (!ahead) return;
      // Read ahead before waiting for this window's check: reading and checking overlap.
      fill();
      const { fromSeq, window, check } = await ahead;
      if (fromSeq !== nextSeq) {
        // The plan assumed full, gap-free windows and the log differs: read ahead again from where it stands.
        queue.length = 0;
        planned = nextSeq;
        fill();
        continue;
      }
      if (window?.count === 0) return;
      let entries = window && fromSeq === this.range.size ? await this.fastWindow(window, await check) : -1;
      if (entries >= 0) {
        nextSeq = window!.seqs[window!.count - 1]! + 1;
      } else {
        const rows = await this.readLog(fromSeq);
        if (rows.length === 0) return;
        await this.exactWindow(rows);
        entries = rows.length;
        nextSeq = rows[rows.length - 1]!.seq + 1;
      }
      progress(entries);
      fill();
    }
  }

  /** Entries still to read from fromSeq in one window: none at or past the size recorded when verification began. */
  private windowAt(fromSeq: number): number {
    return Math.max(0, Math.min(this.batchSize, this.size - fromSeq));
  }

  private readLog(fromSeq: number): Promise<LogEntryRow[]> {
    const limit = this.windowAt(fromSeq);
    return limit === 0 ? Promise.resolve([]) : this.store.readLog(this.tenant, fromSeq, limit);
  }

  private prefetch(fromSeq: number): Promise<Prefetched> {
    const limit = this.windowAt(fromSeq);
    if (this.checkers!.reads) {
      return this.checkers!.readAndCheck(this.tenant, fromSeq, limit).then((read) =>
        read
          ? { fromSeq, window: read.window, check: Promise.resolve(read.check) }
          : this.prefetchHere(fromSeq, limit),
      );
    }
    return this.prefetchHere(fromSeq, limit);
  }

  /** Reads the window in this thread and hands it to a checker. */
  private prefetchHere(fromSeq: number, limit: number): Promise<Prefetched> {
    const none = { fromSeq, window: null, check: Promise.resolve(null) };
    try {
      return this.store.readLogPacked!(this.tenant, fromSeq, limit).then(
        (window) => ({
          fromSeq,
          window,
          check: window && window.count > 0 ? this.checkers!.check(window, fromSeq) : Promise.resolve(null),
        }),
        () => none, // readLog reads the window again and reports what is wrong with it
      );
    } catch {
      return Promise.resolve(none);
    }
  }

  /**
   * The fast path: the number of entries of the window when all of them are provably clean (the exact path would
   * report nothing), -1 to send the window through the exact path.
   */
  private async fastWindow(window: PackedLogWindow, check: WindowCheck | null): Promise<number> {
    if (!check?.leaves || !check.suspects) return -1;
    const n = window.count;
    const start = this.range.size;
    const { seqs, leafHashes } = window;
    if (seqs.length !== n || leafHashes.length !== n * 32 || check.leaves.length !== n * 32) return -1;
    // Gap-free, in order, continuing the log.
    for (let i = 0; i < n; i++) if (seqs[i] !== start + i) return -1;
    if (Buffer.compare(check.leaves, leafHashes) !== 0) return -1;
    if (check.suspects.length > 0 && !(await this.suspectsConsistent(window, check.suspects))) return -1;
    const before = this.range.save();
    const appended =
      check.nodes && check.start === start
        ? this.appendWindowNodes(check.leaves, check.nodes, start, n)
        : this.appendWindow(check.leaves, start, n);
    if (!appended || !(await this.storedNodesMatch(window.nodes))) {
      this.range.restore(before);
      return -1;
    }
    return n;
  }

  /** Entries whose columns the byte-level check could not prove consistent (escapes, duplicate keys…): exactly. */
  private async suspectsConsistent(window: PackedLogWindow, suspects: number[]): Promise<boolean> {
    const seqOf = (i: number) => window.seqs[i]!;
    const rows =
      suspects.length > 8
        ? await this.store.readLog(this.tenant, seqOf(0), window.count)
        : (await Promise.all(suspects.map((i) => this.store.readLog(this.tenant, seqOf(i), 1)))).flat();
    const bySeq = new Map(rows.map((row) => [row.seq, row]));
    return suspects.every((i) => {
      const row = bySeq.get(seqOf(i));
      return row !== undefined && columnsConsistent(row);
    });
  }

  /** Appends the window's leaves, collecting its nodes; false when a signed root within it does not match. */
  private appendWindow(leaves: Uint8Array, start: number, n: number): boolean {
    const sizes = this.signedSizes;
    let next = 0;
    while (next < sizes.length && sizes[next]! <= start) next++;
    this.nodes.reset(start, n);
    for (let i = 0; i < n; i++) {
      this.range.append(leaves, i * 32, this.nodes);
      if (next < sizes.length && sizes[next] === this.range.size) {
        this.range.rootInto(this.root);
        for (const signed of this.signedBySize.get(sizes[next]!)!) {
          if (!bytesEqual(this.root, signed.root)) return false;
        }
        next++;
      }
    }
    return true;
  }

  /**
   * appendWindow given the window's inner nodes (windowNodes, hashed by a checker thread from these leaves): the range
   * takes the window as a few perfect subtrees, so only the nodes reaching left of the window, and the roots at signed
   * sizes, are hashed here. Completes the same nodes and the same range as appending leaf by leaf.
   */
  private appendWindowNodes(leaves: Uint8Array, inner: Uint8Array, start: number, n: number): boolean {
    const layout = windowNodeLayout(start, n);
    if (!layout || inner.length !== layout.bytes) return this.appendWindow(leaves, start, n);
    const { nodes, range } = this;
    nodes.reset(start, n);
    for (let level = 1; level < layout.levels; level++) {
      const at = layout.at[level]!;
      const bytes = layout.count[level]! * 32;
      nodes.hashes[level]!.set(
        inner.subarray(at, at + bytes),
        (layout.first[level]! - nodes.first[level]!) * 32,
      );
    }
    const sizes = this.signedSizes;
    let next = 0;
    while (next < sizes.length && sizes[next]! <= start) next++;
    const end = start + n;
    while (range.size < end) {
      // Up to the next signed size, whose root is checked there, or to the window's end.
      const stop = next < sizes.length && sizes[next]! <= end ? sizes[next]! : end;
      appendWindowLeaves(range, leaves, inner, layout, stop, nodes);
      if (next < sizes.length && sizes[next] === stop) {
        range.rootInto(this.root);
        for (const signed of this.signedBySize.get(stop)!) {
          if (!bytesEqual(this.root, signed.root)) return false;
        }
        next++;
      }
    }
    return true;
  }

  /** The window's computed nodes against the stored ones: those the packed read brought, the other levels read here. */
  private async storedNodesMatch(packed: PackedMerkleLevel[] = []): Promise<boolean> {
    const { nodes } = this;
    const packedByLevel: (PackedMerkleLevel | undefined)[] = [];
    for (const stored of packed) packedByLevel[stored.level] = stored;
    for (let level = 1; level <= nodes.levels; level++) {
      const count = nodes.count[level]!;
      if (count === 0) continue;
      const first = nodes.first[level]!;
      const hashes = nodes.hashes[level]!;
      const packedLevel = packedByLevel[level];
      if (packedLevel) {
        if (packedLevel.indexes.length !== count || packedLevel.hashes.length !== count * 32) return false;
        for (let k = 0; k < count; k++) if (packedLevel.indexes[k] !== first + k) return false;
        if (Buffer.compare(packedLevel.hashes, hashes.subarray(0, count * 32)) !== 0) return false;
        continue;
      }
      const stored = await this.store.getMerkleLevel(this.tenant, level, first, first + count - 1);
      if (stored.length !== count) return false;
      for (let k = 0; k < count; k++) {
        const node = stored[k]!;
        if (node.index !== first + k || node.hash.length !== 32 || !equal32(node.hash, 0, hashes, k * 32)) {
          return false;
        }
      }
    }
    return true;
  }

  /** The exact path: every check on every entry of the window, reporting each discrepancy in order. */
  private async exactWindow(rows: LogEntryRow[]): Promise<void> {
    const { tenant, report, range } = this;
    const nodesByLevel = new Map<number, Map<number, Uint8Array>>();
    const sink: NodeSink = {
      node(level, index, hash) {
        let nodes = nodesByLevel.get(level);
        if (!nodes) {
          nodes = new Map();
          nodesByLevel.set(level, nodes);
        }
        nodes.set(index, hash.slice());
      },
    };
    // Interior nodes serve proofs: compare what was stored with what the content implies, one range read per
    // level, earliest covered seq first. Runs before a signed root is judged, so the finding names the first
    // tampered entry rather than the checkpoint after it.
    const compareNodes = async () => {
      const mismatches: (Finding & { level: number })[] = [];
      for (const [level, computed] of nodesByLevel) {
        const indexes = [...computed.keys()];
        const stored = await this.store.getMerkleLevel(
          tenant,
          level,
          Math.min(...indexes),
          Math.max(...indexes),
        );
        const storedByIndex = new Map(stored.map((n) => [n.index, n.hash]));
        for (const [index, hash] of computed) {
          const found = storedByIndex.get(index);
          if (!found || !bytesEqual(found, hash)) {
            const first = index * 2 ** level;
            mismatches.push({
              level,
              tenant,
              seq: first,
              kind: 'node-mismatch',
              message: `Merkle node (level ${level}, index ${index}) is ${found ? 'wrong' : 'missing'}: the entries at seq ${first}…${first + 2 ** level - 1} were changed or reordered, or proofs covering them would fail`,
            });
          }
        }
      }
      nodesByLevel.clear();
      // The lowest wrong node pinpoints the entry best (a level-5 node only says "somewhere in 0…31").
      mismatches.sort((a, b) => a.level - b.level || a.seq! - b.seq!);
      for (const { level: _level, ...finding } of mismatches) report(finding);
    };
    for (const row of rows) {
      if (row.seq !== range.size) {
        report({
          tenant,
          seq: range.size,
          kind: 'seq-gap',
          message:
            row.seq > range.size
              ? `seq ${range.size}${row.seq - 1 > range.size ? `…${row.seq - 1}` : ''} is missing: events were deleted`
              : `seq ${row.seq} appears twice: an event was inserted`,
        });
      }
      if (row.redactedBy !== null) {
        // The payload is gone; the leaf hash stays in the tree and is checked by every root and node above it.
        // A dropped partition's entries are judged by their range first (one finding per range, not per entry).
        if (!row.pruned || (await this.checkPruned(row))) await this.checkRedaction(row);
        if (!row.pruned) this.redacted += 1;
        range.append(row.leafHash, 0, sink);
        await this.checkSignedRoots(compareNodes);
        continue;
      }
      const leaf = hashLeafOfText(row.body);
      if (!bytesEqual(leaf, row.leafHash)) {
        report({
          tenant,
          seq: row.seq,
          kind: 'hash-mismatch',
          message: `event ${row.id}: its stored content does not match its leaf hash (stored ${toHex(row.leafHash).slice(0, 16)}…, content hashes to ${toHex(leaf).slice(0, 16)}…): the event was modified`,
        });
      }
      if (row.listedLeafHash && !bytesEqual(row.listedLeafHash, row.leafHash)) {
        report({
          tenant,
          seq: row.seq,
          kind: 'hash-mismatch',
          message: `event ${row.id}: the leaf hash listings show (${toHex(row.listedLeafHash).slice(0, 16)}…) is not the log's (${toHex(row.leafHash).slice(0, 16)}…): the copy in its stored row was modified`,
        });
      }
      let body: EventBody | null = null;
      try {
        body = JSON.parse(row.body) as EventBody;
      } catch {
        report({
          tenant,
          seq: row.seq,
          kind: 'body-mismatch',
          message: `event ${row.id}: stored content is not JSON`,
        });
      }
      const columns = body ? columnProblems(row, body) : [];
      if (columns.length > 0) {
        report({
          tenant,
          seq: row.seq,
          kind: 'column-mismatch',
          message: `event ${row.id}: indexed column(s) ${columns.join(', ')} disagree with the stored content, so searches would lie`,
        });
      }
      range.append(leaf, 0, sink);
      await this.checkSignedRoots(compareNodes);
    }
    await compareNodes();
  }

  private async checkSignedRoots(compareNodes: () => Promise<void>): Promise<void> {
    const { range } = this;
    for (const s of this.signedBySize.get(range.size) ?? []) {
      if (!bytesEqual(range.root(), s.root)) {
        await compareNodes();
        this.report({
          tenant: this.tenant,
          seq: range.size - 1,
          kind: s.source === 'checkpoint' ? 'checkpoint-root' : 'witness-root',
          message: `the first ${range.size} events do not hash to the root signed in the ${s.where}: history up to seq ${range.size - 1} was rewritten (or reordered)`,
        });
      }
    }
  }

  /**
   * A redacted entry must name a later entry of the same log that is a deletion record (action REDACTION_ACTION,
   * itself live) whose criteria cover it: its id is listed, or it occurred before the record's cut-off. So a payload
   * can only disappear together with an audit event saying who deleted what and why, inside the signed log.
   */
  private async checkRedaction(row: LogEntryRow): Promise<void> {
    const recordSeq = row.redactedBy!;
    let record = this.records.get(recordSeq);
    if (!record) {
      record = this.readRecord(recordSeq);
      this.records.set(recordSeq, record);
    }
    const found = await record;
    let problem: string | null = typeof found === 'string' ? found : null;
    if (!problem && recordSeq <= row.seq) problem = `it names seq ${recordSeq}, which is not after it`;
    if (!problem && typeof found !== 'string') {
      const covered = found.ids
        ? found.ids.has(row.id)
        : found.beforeMs !== null && row.occurredMs < found.beforeMs;
      if (!covered) problem = `the deletion record at seq ${recordSeq} does not cover event ${row.id}`;
    }
    if (problem) {
      this.report({
        tenant: this.tenant,
        seq: row.seq,
        kind: 'redaction-unrecorded',
        message: `event ${row.id} has no payload, but ${problem}: it was deleted outside Logbook`,
      });
    }
  }

  /**
   * An entry whose payload went with a dropped partition: the pruned range that covers it must be backed by the
   * deletion record it names — a cut-off (not ids) at or after the range's end, and a seq bound (what was archived)
   * at or above the range's — so a range widened, re-pointed or invented in the database is caught here, and its
   * stated count is compared with the entries found (checkPrunedCounts).
   */
  private async checkPruned(row: LogEntryRow): Promise<boolean> {
    const key = prunedKey(row.pruned!.fromMs, row.pruned!.belowSeq);
    this.prunedSeen.set(key, (this.prunedSeen.get(key) ?? 0) + 1);
    const known = this.prunedChecked.get(key);
    if (known !== undefined) return known;
    const range = this.prunedRanges.get(key);
    let problem: string | null = null;
    if (!range) {
      problem = 'no pruned range lists it';
    } else {
      const recordSeq = range.recordSeq;
      let record = this.records.get(recordSeq);
      if (!record) {
        record = this.readRecord(recordSeq);
        this.records.set(recordSeq, record);
      }
      const found = await record;
      if (typeof found === 'string') problem = found;
      else if (found.beforeMs === null || found.beforeMs < range.toMs)
        problem = `the deletion record at seq ${recordSeq} does not cover the whole month (its cut-off is ${found.beforeMs === null ? 'none' : new Date(found.beforeMs).toISOString()})`;
      else if (range.belowSeq > Math.min(recordSeq, found.belowSeq ?? recordSeq))
        problem = `the range claims entries up to seq ${range.belowSeq - 1}, beyond what the deletion record at seq ${recordSeq} covered`;
    }
    this.prunedChecked.set(key, problem === null);
    if (problem) {
      this.report({
        tenant: this.tenant,
        seq: row.seq,
        kind: 'prune-unrecorded',
        message: `the payloads of partition ${range?.partition ?? `from ${new Date(row.pruned!.fromMs).toISOString()}`} were dropped, but ${problem}: the pruned-range record was altered or the partition dropped outside Logbook`,
      });
    }
    return problem === null;
  }

  /** After the whole log: each pruned range must cover exactly the number of entries it states. */
  checkPrunedCounts(): void {
    for (const [key, range] of this.prunedRanges) {
      const seen = this.prunedSeen.get(key) ?? 0;
      if (seen !== range.count) {
        this.report({
          tenant: this.tenant,
          kind: 'prune-count-mismatch',
          message: `pruned range of partition ${range.partition} (seqs below ${range.belowSeq}) states ${range.count} dropped entries, but ${seen} entries without payload lie in it: the pruned-range record was altered, or payloads were removed outside Logbook`,
        });
      }
    }
  }

  /** The tenant's pruned ranges as the report lists them. */
  prunedReport(): PrunedReport[] {
    return [...this.prunedRanges.values()].map((r) => ({
      partition: r.partition,
      from: new Date(r.fromMs).toISOString(),
      to: new Date(r.toMs).toISOString(),
      count: r.count,
      belowSeq: r.belowSeq,
      recordSeq: r.recordSeq,
    }));
  }

  private async readRecord(seq: number): Promise<RedactionRecord | string> {
    const [entry] = await this.store.readLog(this.tenant, seq, 1);
    if (!entry || entry.seq !== seq) return `its deletion record (seq ${seq}) does not exist`;
    if (entry.redactedBy !== null) return `its deletion record (seq ${seq}) is itself redacted`;
    if (entry.action !== REDACTION_ACTION)
      return `seq ${seq} is not a deletion record (action ${entry.action})`;
    try {
      const details = (JSON.parse(entry.body) as EventBody).details as
        | { ids?: unknown; before?: unknown; belowSeq?: unknown }
        | undefined;
      if (Array.isArray(details?.ids)) {
        return { ids: new Set(details.ids.map(String)), beforeMs: null, belowSeq: null };
      }
      if (typeof details?.before === 'string' && Number.isFinite(Date.parse(details.before))) {
        const belowSeq = Number.isSafeInteger(details.belowSeq) ? (details.belowSeq as number) : null;
        return { ids: null, beforeMs: Date.parse(details.before), belowSeq };
      }
    } catch {
      // reported below; the record's own hash check reports the damaged body
    }
    return `its deletion record (seq ${seq}) states no ids and no cut-off`;
  }
}

interface RedactionRecord {
  ids: Set<string> | null;
  beforeMs: number | null;
  /** Only entries below this seq (retention: what its archive held); null: every entry before the record. */
  belowSeq: number | null;
}

// ---------------------------------------------------------------------------------------------

export async function verifyStore(store: Store, options: VerifyOptions): Promise<VerifyReport> {
  const started = performance.now();
  const findings: Finding[] = [];
  const report = (finding: Finding) => {
    findings.push(finding);
    if (!options.all) throw new StopVerification();
  };
  const keys = options.verifierKeys.map((k) => parseVerifierKey(k));
  const keyName = keys[0]?.name;
  const batchSize = options.batchSize ?? 10_000;
  const logs = await store.listTenantLogs();
  const total = logs.reduce((sum, l) => sum + l.size, 0);
  let done = 0;
  let checkpointCount = 0;
  let witnessCount = 0;
  const unsigned: Record<string, number> = {};
  const redacted: Record<string, number> = {};
  const pruned: Record<string, PrunedReport[]> = {};
  let toVerifyCount = logs.length;
  const packed = (options.packed ?? true) && typeof store.readLogPacked === 'function';
  // Workers that read for themselves leave this thread mostly waiting: one per core. Otherwise this thread reads,
  // and workers take the cores beyond it. On two cores reading, hashing, parsing and the tree cost ~8 µs of CPU per
  // event in all, split about evenly between this thread (reading, ~4 µs) and one worker (the rest); worker reads
  // measured no better there (a third thread, each worker's warm-up), so they start at four cores, where this
  // thread's reading would be the limit.
  const cores = availableParallelism();
  const reader = packed && (options.workerReads ?? cores >= 4) ? (store.packedLogWorker?.() ?? null) : null;
  const workers =
    total >= (options.workerThreshold ?? 50_000)
      ? (options.workers ?? (reader ? Math.min(4, cores) : Math.min(3, Math.max(0, cores - 1))))
      : 0;
  const checkers = packed ? new WindowCheckers(workers, reader) : null;

  try {
    if (keys.length === 0) throw new Error('verifyStore needs at least one verifier key');
    const known = new Set(logs.map((l) => l.tenant));
    for (const tenant of await store.listEventTenants()) {
      if (!known.has(tenant)) {
        report({
          tenant,
          kind: 'orphan-tenant',
          message: `events exist for tenant "${tenant}", which has no log: they were inserted outside Logbook`,
        });
      }
    }

    // A tenant that only witnesses remember was deleted whole: check it as an empty log against their copies.
    const witnessed = (await options.witnessTenants?.()) ?? [];
    const toVerify = [
      ...logs,
      ...witnessed.filter((t) => !known.has(t)).map((tenant) => ({ tenant, size: 0 })),
    ];
    toVerifyCount = toVerify.length;
    for (const log of toVerify) {
      const { tenant } = log;
      const origin = checkpointOrigin(keyName!, tenant);
      const signed: SignedRoot[] = [];
      for (const checkpoint of await store.listCheckpoints(tenant)) {
        checkpointCount += 1;
        try {
          const opened = openCheckpoint(checkpoint.note, keys, origin).checkpoint;
          if (opened.treeSize !== checkpoint.treeSize || !bytesEqual(opened.rootHash, checkpoint.rootHash)) {
            report({
              tenant,
              kind: 'checkpoint-record-mismatch',
              message: `stored checkpoint row at size ${checkpoint.treeSize} does not match the note it holds (size ${opened.treeSize})`,
            });
          }
          signed.push({
            size: opened.treeSize,
            root: opened.rootHash,
            source: 'checkpoint',
            where: `checkpoint at size ${opened.treeSize}`,
          });
        } catch (error) {
          if (error instanceof StopVerification) throw error;
          report({
            tenant,
            kind: 'checkpoint-signature',
            message: `checkpoint at size ${checkpoint.treeSize} is not validly signed by the pinned key ${keyName}: ${(error as Error).message}`,
          });
        }
      }
      for (const copy of (await options.witnessCopies?.(tenant)) ?? []) {
        witnessCount += 1;
        try {
          const opened = openCheckpoint(copy.note, keys, origin).checkpoint;
          signed.push({
            size: opened.treeSize,
            root: opened.rootHash,
            source: 'witness',
            where: `witness copy ${copy.source}`,
          });
        } catch (error) {
          if (error instanceof StopVerification) throw error;
          report({
            tenant,
            kind: 'witness-signature',
            message: `witness copy ${copy.source} is not validly signed by ${keyName}: ${(error as Error).message}`,
          });
        }
      }
      const signedBySize = new Map<number, SignedRoot[]>();
      for (const s of signed) signedBySize.set(s.size, [...(signedBySize.get(s.size) ?? []), s]);

      const tenantLog = new TenantLogVerifier(
        store,
        tenant,
        signedBySize,
        report,
        batchSize,
        checkers,
        log.size,
        (await store.listPrunedRanges?.(tenant)) ?? [],
      );
      await tenantLog.verify((entries) => {
        done += entries;
        options.onProgress?.(done, total);
      });
      const range = tenantLog.range.toCompactRange();
      if (tenantLog.redacted > 0) redacted[tenant] = tenantLog.redacted;
      // Only when the whole log was read: a range's entries beyond the size read at the start are not counted.
      if (range.size === log.size) tenantLog.checkPrunedCounts();
      const prunedRanges = tenantLog.prunedReport();
      if (prunedRanges.length > 0) pruned[tenant] = prunedRanges;

      const size = range.size;
      if (log.size !== size) {
        report({
          tenant,
          seq: Math.min(size, log.size),
          kind: 'size-mismatch',
          message: `the log records ${log.size} events but ${size} are stored: ${log.size > size ? 'the newest events were deleted' : 'events were inserted'}`,
        });
      }
      // Reading stopped at the size recorded at the start; what lies outside it is judged on one snapshot, so a
      // live database (other processes appending) is not mistaken for a forged one.
      const bounds = await store.logBounds(tenant);
      if (bounds.minSeq !== null && bounds.minSeq < 0) {
        report({
          tenant,
          seq: bounds.minSeq,
          kind: 'seq-out-of-range',
          message: `an entry at seq ${bounds.minSeq} exists, below the first seq 0: it was inserted outside Logbook`,
        });
      }
      if (bounds.entries !== bounds.size || (bounds.maxSeq ?? -1) !== bounds.size - 1) {
        report({
          tenant,
          seq: Math.min(bounds.size, (bounds.maxSeq ?? -1) + 1),
          kind: 'size-mismatch',
          message: `the log records ${bounds.size} events but ${bounds.entries} are stored (highest seq ${bounds.maxSeq ?? 'none'}): ${bounds.entries > bounds.size ? 'events were inserted' : 'events were deleted'}`,
        });
      }
      if (bounds.payloads !== bounds.entries - bounds.redacted) {
        report({
          tenant,
          kind: 'payload-mismatch',
          message: `${bounds.payloads} event payloads are stored for ${bounds.entries - bounds.redacted} live log entries: payload rows were inserted or deleted outside Logbook`,
        });
      }
      const head = await store.getTreeHead(tenant);
      const sameRange =
        head.range.hashes.length === range.hashes.length &&
        head.range.hashes.every((h, i) => bytesEqual(h, range.hashes[i]!));
      if (head.range.size === size && !sameRange) {
        report({
          tenant,
          kind: 'range-mismatch',
          message:
            'the stored tree state does not match the stored events: new appends would extend a forged tree',
        });
      }
      for (const s of signed) {
        // Signed after verification began (another process is appending): its events exist, just not read now.
        const appendedSince = size === log.size && s.size <= bounds.size;
        if (s.size > size && !appendedSince) {
          report({
            tenant,
            seq: size,
            kind: s.source === 'checkpoint' ? 'checkpoint-beyond-log' : 'witness-beyond-log',
            message: `a ${s.where} signs ${s.size} events but only ${size} are stored: the newest ${s.size - size} event(s) were deleted`,
          });
        }
      }
      const latestSigned = Math.max(0, ...signed.filter((s) => s.source === 'checkpoint').map((s) => s.size));
      if (size > latestSigned) unsigned[tenant] = size - latestSigned;
    }
  } catch (error) {
    if (!(error instanceof StopVerification)) throw error;
  } finally {
    await checkers?.close();
  }
  return {
    ok: findings.length === 0,
    tenants: toVerifyCount,
    events: done,
    checkpoints: checkpointCount,
    witnessCopies: witnessCount,
    unsigned,
    redacted,
    // Only stores that drop partitions have pruned ranges; the key is absent when there are none.
    ...(Object.keys(pruned).length > 0 ? { pruned } : {}),
    seconds: (performance.now() - started) / 1000,
    findings,
  };
}
