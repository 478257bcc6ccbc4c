// The verifier: re-derives every tenant log from storage alone — leaf hashes from stored content, gap-free seqs,
// the Merkle tree and its stored nodes, every checkpoint's signature and root, witness copies — and reports the first
// discrepancy. It only reads; it trusts nothing stored except what a pinned public key signed.
import {
  appendLeaf,
  bytesEqual,
  type CompactRange,
  emptyCompactRange,
  hashLeaf,
  openCheckpoint,
  parseVerifierKey,
  rootOf,
  toHex,
} from '@logbook/protocol';
import type { EventBody } from '../domain/event.ts';
import type { LogEntryRow, Store } from '../store/store.ts';
import { checkpointOrigin } from './integrity.ts';

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
  batchSize?: number;
}

export interface VerifyReport {
  ok: boolean;
  tenants: number;
  events: number;
  checkpoints: number;
  witnessCopies: number;
  /** Events per tenant after its latest checkpoint: present, but not yet covered by a signature. */
  unsigned: Record<string, number>;
  seconds: number;
  findings: Finding[];
}

class StopVerification extends Error {}

/** A signed root the log must reproduce at `size`, and where the signature came from. */
interface SignedRoot {
  size: number;
  root: Uint8Array;
  source: 'checkpoint' | 'witness';
  where: string;
}

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
      for (let fromSeq = 0; ; ) {
        const rows = await store.readLog(tenant, fromSeq, batchSize);
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
          const columns = body ? columnProblems(row, body) : [];
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
    seconds: (performance.now() - started) / 1000,
    findings,
  };
}
