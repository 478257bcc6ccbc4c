// The verifier against its previous implementation, kept here verbatim as the reference (the commit before the fast
// path): on a real SQLite store tampered with in many ways — alone and at random — both must report the same findings,
// in the same order, with the same messages, for every batch size, with and without --all, with the fast path (in
// this thread and on a worker thread) and with the exact path alone. A verifier that throws must throw for both.
import fs from 'node:fs';
import path from 'node:path';
import {
  appendLeaf,
  bytesEqual,
  type CompactRange,
  canonicalJson,
  type EventInput,
  emptyCompactRange,
  formatCheckpoint,
  generateSigningKey,
  hashLeaf,
  openCheckpoint,
  parseVerifierKey,
  rootOf,
  type SigningKey,
  signNote,
  toHex,
  utf8Encode,
  verifierKeyString,
} from '@logbook/protocol';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EventBody, prepareEvent } from '../src/domain/event.ts';
import { checkpointOrigin } from '../src/services/integrity.ts';
import {
  type Finding,
  type VerifyOptions,
  type VerifyReport,
  verifyStore,
  type WitnessCopy,
} from '../src/services/verifier.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { LogEntryRow, Store } from '../src/store/store.ts';
import { tempDir } from './helpers.ts';
import { seededRandom } from './support-random.ts';
import { tamperedCopy } from './support-tamper.ts';

// ---------------------------------------------------------------------------------------------
// The reference: the verifier as it was before the fast path (unchanged but for its name).

class StopVerification extends Error {}

interface SignedRoot {
  size: number;
  root: Uint8Array;
  source: 'checkpoint' | 'witness';
  where: string;
}

function referenceColumnProblems(row: LogEntryRow, body: EventBody): string[] {
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

async function referenceVerifyStore(store: Store, options: VerifyOptions): Promise<VerifyReport> {
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
  let toVerifyCount = logs.length;

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

      let range: CompactRange = emptyCompactRange();
      // Since the redaction change: reading stops at the size recorded at the start, and what lies beyond it is
      // judged from logBounds (same as the verifier under test).
      for (let fromSeq = 0; ; ) {
        const limit = Math.max(0, Math.min(batchSize, log.size - fromSeq));
        const rows = limit === 0 ? [] : await store.readLog(tenant, fromSeq, limit);
        if (rows.length === 0) break;
        const nodesByLevel = new Map<number, Map<number, Uint8Array>>();
        // Interior nodes serve proofs: compare what was stored with what the content implies, one range read per
        // level, earliest covered seq first. Runs before a signed root is judged, so the finding names the first
        // tampered entry rather than the checkpoint after it.
        const compareNodes = async () => {
          const mismatches: (Finding & { level: number })[] = [];
          for (const [level, computed] of nodesByLevel) {
            const indexes = [...computed.keys()];
            const stored = await store.getMerkleLevel(
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
          const leaf = hashLeaf(Buffer.from(row.body, 'utf8'));
          if (!bytesEqual(leaf, row.leafHash)) {
            report({
              tenant,
              seq: row.seq,
              kind: 'hash-mismatch',
              message: `event ${row.id}: its stored content does not match its leaf hash (stored ${toHex(row.leafHash).slice(0, 16)}…, content hashes to ${toHex(leaf).slice(0, 16)}…): the event was modified`,
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
          const columns = body ? referenceColumnProblems(row, body) : [];
          if (columns.length > 0) {
            report({
              tenant,
              seq: row.seq,
              kind: 'column-mismatch',
              message: `event ${row.id}: indexed column(s) ${columns.join(', ')} disagree with the stored content, so searches would lie`,
            });
          }
          const appended = appendLeaf(range, leaf);
          range = appended.range;
          for (const node of appended.nodes) {
            if (node.level === 0) continue;
            let level = nodesByLevel.get(node.level);
            if (!level) {
              level = new Map();
              nodesByLevel.set(node.level, level);
            }
            level.set(node.index, node.hash);
          }
          for (const s of signedBySize.get(range.size) ?? []) {
            if (!bytesEqual(rootOf(range), s.root)) {
              await compareNodes();
              report({
                tenant,
                seq: range.size - 1,
                kind: s.source === 'checkpoint' ? 'checkpoint-root' : 'witness-root',
                message: `the first ${range.size} events do not hash to the root signed in the ${s.where}: history up to seq ${range.size - 1} was rewritten (or reordered)`,
              });
            }
          }
        }
        await compareNodes();
        fromSeq = rows[rows.length - 1]!.seq + 1;
        done += rows.length;
        options.onProgress?.(done, total);
      }

      const size = range.size;
      if (log.size !== size) {
        report({
          tenant,
          seq: Math.min(size, log.size),
          kind: 'size-mismatch',
          message: `the log records ${log.size} events but ${size} are stored: ${log.size > size ? 'the newest events were deleted' : 'events were inserted'}`,
        });
      }
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
        if (s.size > size) {
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
  }
  return {
    ok: findings.length === 0,
    tenants: toVerifyCount,
    events: done,
    checkpoints: checkpointCount,
    witnessCopies: witnessCount,
    unsigned,
    redacted: {},
    seconds: (performance.now() - started) / 1000,
    findings,
  };
}

// ---------------------------------------------------------------------------------------------
// A store written through the port, then tampered with directly in SQLite.

const T0 = Date.UTC(2026, 5, 1);
const SIZES: Record<string, number> = { acme: 700, globex: 300, tiny: 3 };
const TENANTS = Object.keys(SIZES);
let dir: string;
let pristine: string;
let key: SigningKey;
let pinned: string;
/** Witness copies per tenant: the checkpoint notes, plus notes signed only for witnesses at other sizes. */
const witnesses: Record<string, WitnessCopy[]> = {};

function input(tenant: string, i: number, random: () => number): EventInput {
  const unusual = i % 37;
  return {
    ...(unusual === 5 ? { id: `q"${i}\\ü` } : {}), // a client id with characters JSON escapes
    tenant,
    occurredAt: new Date(T0 + i * 1000 + Math.floor(random() * 500)).toISOString(),
    action: ['invoice.pay', 'user.login', 'order.ship'][i % 3]!,
    actor: { id: unusual === 7 ? `nul\u0000ü${i}` : `user-${i % 11}`, name: 'A "name"', type: 'user' },
    ...(unusual === 9
      ? {}
      : { target: unusual === 11 ? { name: 'no type' } : { type: 'invoice', id: `inv-${i}` } }),
    outcome: i % 13 === 0 ? 'failure' : 'success',
    description: ['plain', 'line\nbreak "quoted" \\ ✓', '😀 ünïcode'][i % 3],
    ...(unusual === 13 ? {} : { context: { ip: `10.0.0.${i % 250}`, requestId: `r-${i}` } }),
    details: { amount: Math.round(random() * 1e6) / 100, tags: ['a', 'b'], nested: { ok: true, none: null } },
  } as EventInput;
}

async function checkpoint(store: Store, tenant: string): Promise<void> {
  const head = await store.getTreeHead(tenant);
  const rootHash = rootOf(head.range);
  const note = signNote(
    formatCheckpoint({ origin: checkpointOrigin(key.name, tenant), treeSize: head.range.size, rootHash }),
    key,
  );
  await store.saveCheckpoint({ tenant, treeSize: head.range.size, rootHash, createdMs: T0, note });
  witnesses[tenant]!.push({ source: `${tenant}/${head.range.size}`, note });
}

async function witnessOnly(store: Store, tenant: string): Promise<void> {
  const head = await store.getTreeHead(tenant);
  const note = signNote(
    formatCheckpoint({
      origin: checkpointOrigin(key.name, tenant),
      treeSize: head.range.size,
      rootHash: rootOf(head.range),
    }),
    key,
  );
  witnesses[tenant]!.push({ source: `witness-only ${tenant}/${head.range.size}`, note });
}

beforeAll(async () => {
  dir = tempDir('logbook-verifier-equivalence-');
  pristine = path.join(dir, 'pristine.db');
  key = generateSigningKey('logbook');
  pinned = verifierKeyString(key.name, key.publicKey);
  const store = new SqliteStore({ file: pristine });
  await store.migrate();
  const random = seededRandom(7);
  const next: Record<string, number> = {};
  for (const tenant of TENANTS) {
    next[tenant] = 0;
    witnesses[tenant] = [];
  }
  // Checkpoints on window boundaries of the batch sizes used below (97, 256) and off them; one witness-only size.
  const checkpointsAt: Record<string, number[]> = {
    acme: [97, 256, 300, 600, 700],
    globex: [1, 256],
    tiny: [],
  };
  const witnessAt: Record<string, number[]> = { acme: [512, 650], globex: [299], tiny: [2] };
  while (TENANTS.some((t) => next[t]! < SIZES[t]!)) {
    for (const tenant of TENANTS) {
      if (next[tenant]! >= SIZES[tenant]!) continue;
      const marks = [...checkpointsAt[tenant]!, ...witnessAt[tenant]!, SIZES[tenant]!].filter(
        (m) => m > next[tenant]!,
      );
      const upTo = Math.min(next[tenant]! + 1 + Math.floor(random() * 150), ...marks);
      if (next[tenant]! >= upTo) continue;
      const events = [];
      for (; next[tenant]! < upTo; next[tenant]!++) {
        events.push(prepareEvent(input(tenant, next[tenant]!, random), { receivedMs: T0 + next[tenant]! }));
      }
      const [result] = await store.appendEvents([{ events }]);
      if (!result?.ok) throw new Error('append refused');
      if (checkpointsAt[tenant]!.includes(upTo)) await checkpoint(store, tenant);
      if (witnessAt[tenant]!.includes(upTo)) await witnessOnly(store, tenant);
    }
  }
  await store.close();
}, 120_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

type Db = Database.Database;
/** A copy of the pristine database with `tamper` applied to it directly. */
const tampered = (tamper: (db: Db) => void): string => tamperedCopy(pristine, tamper);

function bodyOf(db: Db, tenant: string, seq: number): Record<string, unknown> {
  const row = db.prepare('SELECT body FROM events WHERE tenant = ? AND seq = ?').get(tenant, seq) as {
    body: string;
  };
  return JSON.parse(row.body) as Record<string, unknown>;
}

function setBody(db: Db, tenant: string, seq: number, text: string, rehash: boolean): void {
  const sql = rehash
    ? 'UPDATE events SET body = ?, leaf_hash = ? WHERE tenant = ? AND seq = ?'
    : 'UPDATE events SET body = ? WHERE tenant = ? AND seq = ?';
  const params = rehash ? [text, Buffer.from(hashLeaf(utf8Encode(text))), tenant, seq] : [text, tenant, seq];
  db.prepare(sql).run(...params);
}

/** What an attacker with protocol code does to hide an edit: every node, the range and the size recomputed. */
function recomputeTree(db: Db, tenant: string): void {
  const leaves = db.prepare('SELECT leaf_hash FROM events WHERE tenant = ? ORDER BY seq').all(tenant) as {
    leaf_hash: Buffer;
  }[];
  db.prepare('DELETE FROM merkle_nodes WHERE tenant = ?').run(tenant);
  const insert = db.prepare('INSERT INTO merkle_nodes (tenant, level, idx, hash) VALUES (?, ?, ?, ?)');
  let range: CompactRange = emptyCompactRange();
  for (const { leaf_hash } of leaves) {
    const leaf = leaf_hash.length === 32 ? new Uint8Array(leaf_hash) : new Uint8Array(32);
    const appended = appendLeaf(range, leaf);
    range = appended.range;
    for (const node of appended.nodes) {
      if (node.level > 0) insert.run(tenant, node.level, node.index, Buffer.from(node.hash));
    }
  }
  db.prepare('UPDATE tenant_logs SET size = ?, range_hashes = ? WHERE tenant = ?').run(
    range.size,
    Buffer.concat(range.hashes.map((h) => Buffer.from(h))),
    tenant,
  );
}

/** Rebuilds events without STRICT, as an attacker may, so that any column can hold any type. */
function loosen(db: Db): void {
  db.exec(`
    CREATE TABLE events_loose (order_key INTEGER PRIMARY KEY, tenant, seq, id, occurred_ms, received_ms, action, actor_id,
      target_type, target_id, outcome, ip, body, leaf_hash, input_digest, redacted_by);
    INSERT INTO events_loose SELECT * FROM events;
    DROP TABLE events;
    ALTER TABLE events_loose RENAME TO events;
    CREATE UNIQUE INDEX events_tenant_seq ON events (tenant, seq);
  `);
}

type Outcome = Omit<VerifyReport, 'seconds'> | { threw: string };

async function outcome(
  verify: (store: Store, options: VerifyOptions) => Promise<VerifyReport>,
  file: string,
  options: VerifyOptions,
): Promise<Outcome> {
  const store = new SqliteStore({ file, readonly: true });
  try {
    const { seconds: _seconds, ...report } = await verify(store, options);
    return report;
  } catch (error) {
    return { threw: String(error) };
  } finally {
    await store.close();
  }
}

/** The fast path in this thread always; the exact path alone and the worker paths (checking, reading) once per case. */
const variants = (batchSize: number, all: boolean): Partial<VerifyOptions>[] =>
  batchSize === 97 && all
    ? [
        { workers: 0 },
        { packed: false },
        { workers: 1, workerThreshold: 0, workerReads: false },
        { workers: 2, workerThreshold: 0, workerReads: true },
      ]
    : [{ workers: 0 }];

/** Both verifiers, every batch size and variant, with and without --all: identical outcomes. Returns --all's. */
async function expectSameFindings(file: string, withWitnesses = true, batchSizes = [10_000, 256, 97]) {
  if (!batchSizes.includes(97)) batchSizes.push(97);
  let findings: Finding[] = [];
  for (const batchSize of batchSizes) {
    for (const all of [true, false]) {
      const options: VerifyOptions = {
        verifierKeys: [pinned],
        all,
        batchSize,
        ...(withWitnesses
          ? {
              witnessCopies: async (tenant) => witnesses[tenant] ?? [],
              witnessTenants: async () => TENANTS,
            }
          : {}),
      };
      const expected = await outcome(referenceVerifyStore, file, options);
      for (const variant of variants(batchSize, all)) {
        const actual = await outcome(verifyStore, file, { ...options, ...variant });
        expect(actual, `batch ${batchSize}, all ${all}, ${JSON.stringify(variant)}`).toEqual(expected);
      }
      if (all && 'findings' in expected) findings = expected.findings;
    }
  }
  return findings;
}

const kinds = (findings: Finding[]) => findings.map((f) => `${f.kind}@${f.tenant}:${f.seq ?? '-'}`);

describe('the fast verifier reports exactly what the previous verifier reports', { timeout: 120_000 }, () => {
  it('untouched data: nothing, with every event verified', async () => {
    expect(await expectSameFindings(pristine)).toEqual([]);
    for (const workerReads of [false, true]) {
      const report = await outcome(verifyStore, pristine, {
        verifierKeys: [pinned],
        workers: 2,
        workerThreshold: 0,
        workerReads,
        batchSize: 100,
      });
      expect(report).toMatchObject({ ok: true, events: 1003, tenants: 3, checkpoints: 7 });
    }
  });

  it('content edits: a body field, with the hash, with the whole tree recomputed, not JSON, not UTF-8', async () => {
    const edits: [string, (db: Db) => void][] = [
      [
        'field',
        (db) => setBody(db, 'acme', 600, canonicalJson({ ...bodyOf(db, 'acme', 600), outcome: 'x' }), false),
      ],
      [
        'rehash',
        (db) =>
          setBody(db, 'acme', 255, canonicalJson({ ...bodyOf(db, 'acme', 255), description: 'y' }), true),
      ],
      [
        'tree',
        (db) => {
          setBody(db, 'acme', 650, canonicalJson({ ...bodyOf(db, 'acme', 650), description: 'z' }), true);
          recomputeTree(db, 'acme');
        },
      ],
      ['not JSON', (db) => setBody(db, 'globex', 10, '{"id": oops', true)],
      ['JSON null', (db) => setBody(db, 'globex', 11, 'null', true)],
      ['JSON array', (db) => setBody(db, 'globex', 12, '[1,2]', true)],
      [
        'not UTF-8',
        (db) =>
          db
            .prepare("UPDATE events SET body = CAST(x'7b22ff227d' AS TEXT) WHERE tenant = 'acme' AND seq = 3")
            .run(),
      ],
      [
        'not UTF-8, rehashed over the raw bytes',
        (db) =>
          db
            .prepare(
              "UPDATE events SET body = CAST(x'7b22ff227d' AS TEXT), leaf_hash = ? WHERE tenant = 'acme' AND seq = 3",
            )
            .run(Buffer.from(hashLeaf(Uint8Array.of(0x7b, 0x22, 0xff, 0x22, 0x7d)))),
      ],
    ];
    const seen = [];
    for (const [name, edit] of edits) seen.push(name, kinds(await expectSameFindings(tampered(edit))));
    expect(seen.flat().join(' ')).toMatch(/hash-mismatch/);
    expect(seen.flat().join(' ')).toMatch(/node-mismatch/);
    expect(seen.flat().join(' ')).toMatch(/checkpoint-root/);
    expect(seen.flat().join(' ')).toMatch(/body-mismatch/);
  });

  it('bodies that agree with their columns only as JSON.parse reads them (escapes, duplicates, whitespace)', async () => {
    const rewrite = (db: Db, tenant: string, seq: number, edit: (text: string) => string, tree = false) => {
      const row = db.prepare('SELECT body FROM events WHERE tenant = ? AND seq = ?').get(tenant, seq) as {
        body: string;
      };
      setBody(db, tenant, seq, edit(row.body), true);
      if (tree) recomputeTree(db, tenant);
    };
    const cases: ((db: Db) => void)[] = [
      (db) => rewrite(db, 'acme', 40, (t) => t.replace('"action":"', '"action":"\\u0075'), true), // column now differs
      (db) => rewrite(db, 'acme', 41, (t) => t.replace(/}$/, ',"action":"other"}'), true), // duplicate: last wins
      (db) => rewrite(db, 'acme', 42, (t) => t.replace('{', '{"action":"first",'), true), // duplicate: last wins, same
      (db) => rewrite(db, 'acme', 43, (t) => t.replaceAll(',', ' ,\n\t').replaceAll(':', ' : '), true), // whitespace
      (db) =>
        rewrite(
          db,
          'acme',
          44,
          (t) =>
            t.replace(
              /"id":"([^"]*)"/,
              (_m, id: string) => `"id":"\\u00${id.charCodeAt(0).toString(16)}${id.slice(1)}"`,
            ),
          true,
        ), // escaped, equal
      (db) => rewrite(db, 'acme', 45, (t) => t.replace(/}$/, ',"\\u0061ction":"escaped key"}'), true),
    ];
    for (const edit of cases) await expectSameFindings(tampered(edit), false, [10_000, 97]);
  });

  it('indexed columns changed (every column, to other values and types the table accepts)', async () => {
    const edits = [
      "actor_id = 'someone'",
      'target_type = NULL',
      "target_id = 'x'",
      "ip = '1.2.3.4'",
      'ip = NULL',
      'occurred_ms = occurred_ms + 1',
      "id = 'other-id'",
      "action = 'x.y'",
      "outcome = 'failure'",
    ];
    for (const [i, set] of edits.entries()) {
      const seq = [0, 96, 97, 255, 256, 699, 500, 33, 34][i]!;
      const found = await expectSameFindings(
        tampered((db) => db.prepare(`UPDATE events SET ${set} WHERE tenant = 'acme' AND seq = ?`).run(seq)),
        false,
        [10_000, 256],
      );
      expect(kinds(found)[0], set).toMatch(/^column-mismatch@acme/);
    }
  });

  it('history edits: deleted, inserted, swapped, hidden below seq 0, truncated', async () => {
    const cases: ((db: Db) => void)[] = [
      (db) => db.prepare("DELETE FROM events WHERE tenant = 'acme' AND seq = 256").run(),
      (db) => db.prepare("DELETE FROM events WHERE tenant = 'acme' AND seq IN (0, 1, 2)").run(),
      (db) => db.prepare("DELETE FROM events WHERE tenant = 'globex' AND seq >= 250").run(),
      (db) => db.prepare("UPDATE events SET seq = -1 WHERE tenant = 'acme' AND seq = 577").run(),
      (db) => {
        // A gap that only the seqs show: in the unsigned tail, with every node and the range recomputed.
        db.prepare("DELETE FROM events WHERE tenant = 'globex' AND seq = 280").run();
        recomputeTree(db, 'globex');
      },
      (db) => {
        const move = db.prepare("UPDATE events SET seq = ? WHERE tenant = 'acme' AND seq = ?");
        move.run(-5, 300);
        move.run(300, 301);
        move.run(301, -5);
      },
      (db) => {
        const maxKey = (
          db.prepare('SELECT max(order_key) AS k FROM events').safeIntegers(true).get() as { k: bigint }
        ).k;
        const body = canonicalJson({ ...bodyOf(db, 'acme', 10), id: 'forged' });
        db.prepare(
          `INSERT INTO events (order_key, tenant, seq, id, occurred_ms, received_ms, action, actor_id, target_type, target_id,
             outcome, ip, body, leaf_hash, input_digest)
           SELECT ?, tenant, ?, 'forged', occurred_ms, received_ms, action, actor_id, target_type, target_id, outcome, ip, ?, ?, NULL
           FROM events WHERE tenant = 'acme' AND seq = 10`,
        ).run(maxKey + 1n, 700, body, Buffer.from(hashLeaf(utf8Encode(body))));
      },
      (db) => {
        db.prepare("DELETE FROM events WHERE tenant = 'acme' AND seq >= 620").run();
        recomputeTree(db, 'acme');
        db.prepare("DELETE FROM checkpoints WHERE tenant = 'acme' AND tree_size > 620").run();
      },
      (db) => {
        for (const table of ['events', 'tenant_logs', 'merkle_nodes', 'checkpoints']) {
          db.prepare(`DELETE FROM ${table} WHERE tenant = 'globex'`).run();
        }
      },
    ];
    for (const edit of cases) await expectSameFindings(tampered(edit));
  });

  it('the tree and its records: nodes changed, missing or short; leaf hash short; range and size; checkpoints', async () => {
    const cases: ((db: Db) => void)[] = [
      (db) =>
        db
          .prepare(
            "UPDATE merkle_nodes SET hash = zeroblob(32) WHERE tenant = 'acme' AND level = 1 AND idx = 200",
          )
          .run(),
      (db) =>
        db
          .prepare(
            "UPDATE merkle_nodes SET hash = zeroblob(31) WHERE tenant = 'acme' AND level = 3 AND idx = 20",
          )
          .run(),
      (db) => db.prepare("DELETE FROM merkle_nodes WHERE tenant = 'acme' AND level = 7 AND idx = 1").run(),
      (db) => db.prepare("DELETE FROM merkle_nodes WHERE tenant = 'globex'").run(),
      (db) => db.prepare("INSERT INTO merkle_nodes VALUES ('acme', 1, 99999, zeroblob(32))").run(),
      (db) =>
        db
          .prepare(
            "UPDATE events SET leaf_hash = substr(leaf_hash, 1, 31) WHERE tenant = 'acme' AND seq = 512",
          )
          .run(),
      (db) =>
        db
          .prepare("UPDATE tenant_logs SET range_hashes = substr(range_hashes, 1, 32) WHERE tenant = 'acme'")
          .run(),
      (db) => db.prepare("UPDATE tenant_logs SET size = size + 1 WHERE tenant = 'globex'").run(),
      (db) =>
        db
          .prepare(
            "UPDATE checkpoints SET root_hash = zeroblob(32) WHERE tenant = 'acme' AND tree_size = 256",
          )
          .run(),
      (db) => db.prepare("DELETE FROM checkpoints WHERE tenant = 'acme' AND tree_size = 700").run(),
      (db) =>
        db.prepare("UPDATE checkpoints SET note = 'garbage' WHERE tenant = 'globex' AND tree_size = 1").run(),
    ];
    for (const edit of cases) await expectSameFindings(tampered(edit));
  });

  it('values of types the STRICT table would refuse, after an attacker rebuilt it without STRICT', async () => {
    const cases = [
      "leaf_hash = CAST(leaf_hash AS TEXT) WHERE tenant = 'acme' AND seq = 10",
      "body = CAST(body AS BLOB) WHERE tenant = 'acme' AND seq = 11",
      "body = CAST(body AS BLOB), leaf_hash = zeroblob(32) WHERE tenant = 'acme' AND seq = 11",
      "id = 12345 WHERE tenant = 'acme' AND seq = 12",
      "actor_id = CAST(actor_id AS BLOB) WHERE tenant = 'acme' AND seq = 13",
      "occurred_ms = CAST(occurred_ms AS TEXT) WHERE tenant = 'acme' AND seq = 14",
      "occurred_ms = occurred_ms + 0.0 WHERE tenant = 'acme' AND seq = 15",
      "occurred_ms = occurred_ms + 0.5 WHERE tenant = 'acme' AND seq = 15",
      "seq = 16.0 WHERE tenant = 'acme' AND seq = 16",
      "seq = '17' WHERE tenant = 'acme' AND seq = 17",
      "target_type = 7 WHERE tenant = 'acme' AND seq = 18",
      "ip = x'00' WHERE tenant = 'acme' AND seq = 19",
      "body = 42 WHERE tenant = 'acme' AND seq = 20",
      "body = NULL WHERE tenant = 'acme' AND seq = 21",
    ];
    for (const set of cases) {
      await expectSameFindings(
        tampered((db) => {
          loosen(db);
          db.prepare(`UPDATE events SET ${set}`).run();
        }),
        false,
        [10_000, 97],
      );
    }
  });

  it('random combinations of the above', async () => {
    const random = seededRandom(99);
    const int = (n: number) => Math.floor(random() * n);
    const ops: ((db: Db) => void)[] = [
      (db) => {
        const seq = int(700);
        setBody(
          db,
          'acme',
          seq,
          canonicalJson({ ...bodyOf(db, 'acme', seq), outcome: `o${seq}` }),
          random() < 0.5,
        );
      },
      (db) => db.prepare(`UPDATE events SET actor_id = 'z' WHERE tenant = 'acme' AND seq = ?`).run(int(700)),
      (db) => db.prepare(`DELETE FROM events WHERE tenant = 'globex' AND seq = ?`).run(int(300)),
      (db) =>
        db
          .prepare('UPDATE merkle_nodes SET hash = zeroblob(32) WHERE tenant = ? AND level = ? AND idx = ?')
          .run('acme', 1 + int(4), int(80)),
      (db) => recomputeTree(db, pick(['acme', 'globex'])),
      (db) =>
        db
          .prepare(`UPDATE events SET occurred_ms = occurred_ms - 1 WHERE tenant = 'globex' AND seq = ?`)
          .run(int(300)),
    ];
    const pick = <T>(items: T[]): T => items[int(items.length)]!;
    for (let round = 0; round < 12; round++) {
      const chosen = Array.from({ length: 1 + int(3) }, () => pick(ops));
      await expectSameFindings(
        tampered((db) => {
          for (const op of chosen) op(db);
        }),
        true,
        [10_000, 97],
      );
    }
  });
});
