// Archives of audit events written before retention deletes their payloads, and their offline verification. An
// archive must be complete and durable (tmp + fsync + rename) before anything is redacted; it never deletes anything.
//
// Layout: <archive dir>/<tenant>/events/<from>_<to>.ndjson.gz (gzip NDJSON, one entry per line, seq ascending:
// {"seq", "id", "occurredAt", "hash" (hex leaf hash), "body" (the stored canonical bytes as a string),
// "proof" (base64 inclusion proof of seq in the checkpoint's tree)}) and <from>_<to>.manifest.json (tenant, counts,
// seq and time range, sha256 of the .gz file, the signed checkpoint note every proof leads to, and `signature`: the
// manifest itself as a C2SP signed note by the log's key, so that its count and digest cannot be rewritten either).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import {
  bytesEqual,
  canonicalJson,
  fromBase64,
  fromHex,
  hashLeaf,
  inclusionProofPlan,
  materializeProof,
  type NodeId,
  nodeKey,
  openCheckpoint,
  openNote,
  type ProofPlan,
  type SigningKey,
  signNote,
  toBase64,
  toHex,
  utf8Encode,
  verifyInclusion,
} from '@logbook/protocol';
import { toIso } from '../domain/time.ts';
import type { Store, StoredCheckpoint } from '../store/store.ts';
import type { IntegrityService } from './integrity.ts';
import { checkpointOrigin } from './integrity.ts';
import { REDACTION_ACTION } from './redaction.ts';

export const ARCHIVE_FORMAT = 'logbook-archive/2';
/**
 * First line of a manifest's signed note; the second is the canonical JSON (RFC 8785) of the manifest without its
 * `signature`. The line keeps the note from ever reading as a checkpoint, which the same key signs.
 */
export const MANIFEST_NOTE_HEADER = 'logbook-archive-manifest/2';
export const ARCHIVE_SUFFIX = '.ndjson.gz';
export const MANIFEST_SUFFIX = '.manifest.json';
/** Entries read (and proved) per store call. */
const PAGE = 1000;

export interface ArchiveManifest {
  format: typeof ARCHIVE_FORMAT;
  tenant: string;
  stream: 'events';
  /** The data file, relative to the manifest's directory. */
  file: string;
  /** SHA-256 (hex) of the data file's bytes as written (gzip). */
  sha256: string;
  count: number;
  /** Lowest and highest archived seq (the seqs need not be contiguous: retention follows occurrence time). */
  seqs: { first: number; last: number };
  /** Earliest and latest occurredAt archived, and the retention cut-off (everything archived occurred before it). */
  occurred: { from: string; to: string; before: string };
  createdAt: string;
  /** The signed checkpoint every line's inclusion proof leads to (treeSize > seqs.last). */
  checkpoint: { treeSize: number; rootHash: string; note: string };
  /** Every field above, signed by the log's key: a C2SP signed note (manifestNoteText). */
  signature: string;
}

/** The text of a manifest's signed note: the header line and the canonical JSON of every field but `signature`. */
export function manifestNoteText(manifest: Omit<ArchiveManifest, 'signature'> | ArchiveManifest): string {
  const { signature: _signature, ...body } = manifest as ArchiveManifest;
  return `${MANIFEST_NOTE_HEADER}\n${canonicalJson(body)}\n`;
}

export interface ArchiveLine {
  seq: number;
  id: string;
  occurredAt: string;
  hash: string;
  body: string;
  proof: string[];
}

export interface WrittenArchive {
  file: string;
  manifest: string;
  count: number;
  /** Only entries with seq below this were archived (the checkpoint's tree size): redact no others. */
  belowSeq: number;
  sha256: string;
  /** SHA-256 (hex) of the manifest file's bytes: the deletion record states it. */
  manifestSha256: string;
}

/** Which entries the archive holds: live, occurred before `beforeMs`, none of `skipActions` (never redacted). */
export interface ArchiveRequest {
  tenant: string;
  beforeMs: number;
  skipActions: readonly string[];
}

const compactTime = (ms: number) => toIso(ms).replaceAll(':', '').replaceAll('-', '');

/** Makes `dir` and writes nothing else; file names stay inside it (tenants are validated names, but be strict). */
function tenantDir(root: string, tenant: string): string {
  const safe = tenant.replace(/[^\w.-]/g, '_').replace(/^\.+/, '_');
  return path.join(root, safe, 'events');
}

async function fsyncPath(file: string, flags = 'r'): Promise<void> {
  const handle = await fsp.open(file, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes `content` (or a stream) to `file` atomically: a temp file, fsync, rename, fsync of the directory. */
async function writeAtomic(file: string, source: [Readable, ...Transform[]] | string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    if (typeof source === 'string') await fsp.writeFile(tmp, source, { flag: 'wx' });
    else await pipeline([...source, fs.createWriteStream(tmp, { flags: 'wx' })]);
    await fsyncPath(tmp, 'r+');
    await fsp.rename(tmp, file);
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    throw error;
  }
  await fsyncPath(path.dirname(file)).catch(() => undefined); // directories cannot be fsynced everywhere
}

export class ArchiveService {
  constructor(
    private readonly store: Store,
    private readonly integrity: IntegrityService,
    readonly dir: string,
    /** The log's key: it signs each manifest, as it signs checkpoints. */
    private readonly signer: SigningKey,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Inclusion proofs of many leaves in one tree, with one node read for the whole page. */
  private async proofs(tenant: string, seqs: number[], treeSize: number): Promise<Uint8Array[][]> {
    const plans: ProofPlan[] = seqs.map((seq) => inclusionProofPlan(seq, treeSize));
    const ids = new Map<string, NodeId>();
    for (const plan of plans) for (const node of plan.nodes) ids.set(nodeKey(node.level, node.index), node);
    const nodes = await this.store.getMerkleNodes(tenant, [...ids.values()]);
    return plans.map((plan) => materializeProof(plan, nodes));
  }

  /**
   * Writes the tenant's events that retention is about to redact to one archive (data file, then manifest), durable
   * before it resolves. Resolves null when there is nothing to archive. The checkpoint is the latest one, made now
   * if it does not cover the log's current size; entries appended after it are left for the next run (belowSeq).
   */
  async archive(request: ArchiveRequest): Promise<WrittenArchive | null> {
    const { tenant, beforeMs } = request;
    const checkpoint = await this.integrity.checkpoint(tenant);
    if (!checkpoint) return null;
    const treeSize = checkpoint.treeSize;
    const skip = new Set(request.skipActions);
    const self = this;
    const stats = { count: 0, first: -1, last: -1, fromMs: Infinity, toMs: -Infinity };

    async function* lines(): AsyncGenerator<string> {
      // Lines follow occurrence order (the index retention deletes by), so seqs are unique but not ascending.
      let after: bigint | undefined;
      for (;;) {
        const page = await self.store.listEvents({
          filter: { tenant, toMs: beforeMs },
          limit: PAGE,
          order: 'asc',
          includeTotal: false,
          ...(after !== undefined ? { after } : {}),
        });
        const rows: { seq: number; leafHash: Uint8Array; body: string; id: string; occurredMs: number }[] =
          [];
        for (const row of page.rows) {
          if (row.seq >= treeSize) continue;
          const parsed = JSON.parse(row.body) as { id: string; action: string; occurredAt: string };
          if (skip.has(parsed.action)) continue;
          rows.push({
            seq: row.seq,
            leafHash: row.leafHash,
            body: row.body,
            id: parsed.id,
            occurredMs: Date.parse(parsed.occurredAt),
          });
        }
        if (rows.length > 0) {
          const proofs = await self.proofs(
            tenant,
            rows.map((r) => r.seq),
            treeSize,
          );
          let out = '';
          rows.forEach((row, i) => {
            stats.count += 1;
            if (stats.first < 0 || row.seq < stats.first) stats.first = row.seq;
            if (row.seq > stats.last) stats.last = row.seq;
            stats.fromMs = Math.min(stats.fromMs, row.occurredMs);
            stats.toMs = Math.max(stats.toMs, row.occurredMs);
            const line: ArchiveLine = {
              seq: row.seq,
              id: row.id,
              occurredAt: toIso(row.occurredMs),
              hash: toHex(row.leafHash),
              body: row.body,
              proof: proofs[i]!.map(toBase64),
            };
            out += `${JSON.stringify(line)}\n`;
          });
          yield out;
        }
        if (page.lastOrderKey === null || page.rows.length === 0) break;
        after = page.lastOrderKey;
      }
    }

    const dir = tenantDir(this.dir, tenant);
    await fsp.mkdir(dir, { recursive: true });
    // Written under a provisional name (the time range is known only at the end), then renamed into place.
    const provisional = path.join(dir, `.pending-${process.pid}-${Date.now()}${ARCHIVE_SUFFIX}`);
    const digest = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        digest.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      await writeAtomic(provisional, [Readable.from(lines()), zlib.createGzip(), tap]);
    } catch (error) {
      await fsp.rm(provisional, { force: true });
      throw error;
    }
    if (stats.count === 0) {
      await fsp.rm(provisional, { force: true });
      return null;
    }
    let base = `${compactTime(stats.fromMs)}_${compactTime(stats.toMs)}`;
    // Never replace an archive whose entries may already be gone: a second archive of the same time range (late,
    // backdated events) gets its seq range in the name.
    if (fs.existsSync(path.join(dir, base + MANIFEST_SUFFIX))) base += `_seq${stats.first}-${stats.last}`;
    const file = path.join(dir, base + ARCHIVE_SUFFIX);
    await fsp.rename(provisional, file);
    const sha256 = digest.digest('hex');
    const body: Omit<ArchiveManifest, 'signature'> = {
      format: ARCHIVE_FORMAT,
      tenant,
      stream: 'events',
      file: path.basename(file),
      sha256,
      count: stats.count,
      seqs: { first: stats.first, last: stats.last },
      occurred: { from: toIso(stats.fromMs), to: toIso(stats.toMs), before: toIso(beforeMs) },
      createdAt: toIso(this.clock()),
      checkpoint: checkpointFields(checkpoint),
    };
    const manifest: ArchiveManifest = { ...body, signature: signNote(manifestNoteText(body), this.signer) };
    const manifestFile = path.join(dir, base + MANIFEST_SUFFIX);
    const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeAtomic(manifestFile, manifestText);
    return {
      file,
      manifest: manifestFile,
      count: stats.count,
      belowSeq: treeSize,
      sha256,
      manifestSha256: createHash('sha256').update(manifestText).digest('hex'),
    };
  }
}

function checkpointFields(checkpoint: StoredCheckpoint): ArchiveManifest['checkpoint'] {
  return {
    treeSize: checkpoint.treeSize,
    rootHash: toBase64(checkpoint.rootHash),
    note: checkpoint.note,
  };
}

// ---------------------------------------------------------------------------------------------
// Offline verification: the archive directory and the public key, nothing else.

export interface ArchiveFinding {
  /** The file at fault (manifest or data file). */
  file: string;
  line?: number;
  message: string;
}

export interface ArchiveVerifyReport {
  ok: boolean;
  archives: number;
  entries: number;
  findings: ArchiveFinding[];
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

class ArchiveProblem extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

function isManifest(value: unknown): value is ArchiveManifest {
  const m = value as ArchiveManifest;
  return (
    typeof m === 'object' &&
    m !== null &&
    m.format === ARCHIVE_FORMAT &&
    typeof m.tenant === 'string' &&
    typeof m.file === 'string' &&
    typeof m.sha256 === 'string' &&
    Number.isSafeInteger(m.count) &&
    Number.isSafeInteger(m.seqs?.first) &&
    Number.isSafeInteger(m.seqs?.last) &&
    Number.isSafeInteger(m.checkpoint?.treeSize) &&
    typeof m.checkpoint?.rootHash === 'string' &&
    typeof m.checkpoint?.note === 'string' &&
    typeof m.signature === 'string'
  );
}

/** Verifies one archive (manifest + data file); throws ArchiveProblem at the first thing wrong. */
async function verifyOne(manifestFile: string, verifierKey: string): Promise<number> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await fsp.readFile(manifestFile, 'utf8'));
  } catch (error) {
    throw new ArchiveProblem(manifestFile, `unreadable manifest: ${(error as Error).message}`);
  }
  if (!isManifest(manifest)) {
    const format = (manifest as { format?: unknown } | null)?.format;
    throw new ArchiveProblem(
      manifestFile,
      format === 'logbook-archive/1'
        ? 'an unsigned logbook-archive/1 manifest: its count and digest could have been rewritten (check it against the log with --data-dir or --database-url)'
        : `not a ${ARCHIVE_FORMAT} manifest (format, tenant, file, sha256, count, seqs, checkpoint and signature are required)`,
    );
  }
  const m = manifest;
  // The manifest itself: signed by the pinned key, over exactly these fields (count, digest, ranges, checkpoint).
  let signedText: string;
  try {
    signedText = openNote(m.signature, verifierKey).text;
  } catch (error) {
    throw new ArchiveProblem(
      manifestFile,
      `the manifest is not signed by the given public key: ${(error as Error).message}`,
    );
  }
  if (signedText !== manifestNoteText(m)) {
    throw new ArchiveProblem(
      manifestFile,
      'the manifest differs from what the key signed (its count, digest, file, range or checkpoint was edited)',
    );
  }
  // The checkpoint: signed by the pinned key, for this tenant's log, and the root the manifest states.
  let signed: { treeSize: number; rootHash: Uint8Array; origin: string };
  try {
    signed = openCheckpoint(m.checkpoint.note, verifierKey).checkpoint;
  } catch (error) {
    throw new ArchiveProblem(
      manifestFile,
      `the checkpoint is not signed by the given public key: ${(error as Error).message}`,
    );
  }
  const keyName = verifierKey.split('+')[0]!;
  if (signed.origin !== checkpointOrigin(keyName, m.tenant)) {
    throw new ArchiveProblem(
      manifestFile,
      `the checkpoint is for log "${signed.origin}", not tenant "${m.tenant}"'s`,
    );
  }
  if (signed.treeSize !== m.checkpoint.treeSize || toBase64(signed.rootHash) !== m.checkpoint.rootHash) {
    throw new ArchiveProblem(
      manifestFile,
      'the manifest states a tree size or root the checkpoint does not sign',
    );
  }
  const root = signed.rootHash;
  const dataFile = path.join(path.dirname(manifestFile), path.basename(m.file));
  if (!fs.existsSync(dataFile)) throw new ArchiveProblem(manifestFile, `its data file ${m.file} is missing`);
  const digest = createHash('sha256');
  const seen = new Set<number>();
  let minSeq = Infinity;
  let maxSeq = -Infinity;
  let count = 0;
  let lineNo = 0;
  const raw = fs.createReadStream(dataFile);
  raw.on('data', (chunk) => digest.update(chunk));
  const gunzip = zlib.createGunzip();
  const input = raw.pipe(gunzip);
  const gzError = new Promise<never>((_, reject) => {
    const fail = (error: Error) =>
      reject(new ArchiveProblem(dataFile, `not a readable gzip file: ${error.message}`));
    gunzip.on('error', fail);
    raw.on('error', fail);
  });
  gzError.catch(() => undefined);
  const read = (async () => {
    for await (const text of readline.createInterface({ input, crlfDelay: Infinity })) {
      lineNo += 1;
      if (text === '') continue;
      let line: ArchiveLine;
      try {
        line = JSON.parse(text) as ArchiveLine;
      } catch {
        throw new ArchiveProblem(dataFile, 'not a JSON line', lineNo);
      }
      if (
        !Number.isSafeInteger(line.seq) ||
        typeof line.body !== 'string' ||
        typeof line.hash !== 'string' ||
        !Array.isArray(line.proof)
      ) {
        throw new ArchiveProblem(dataFile, 'an entry needs seq, hash, body and proof', lineNo);
      }
      if (seen.has(line.seq)) throw new ArchiveProblem(dataFile, `seq ${line.seq} appears twice`, lineNo);
      seen.add(line.seq);
      minSeq = Math.min(minSeq, line.seq);
      maxSeq = Math.max(maxSeq, line.seq);
      const leaf = hashLeaf(utf8Encode(line.body));
      let stated: Uint8Array;
      try {
        stated = fromHex(line.hash);
      } catch {
        throw new ArchiveProblem(dataFile, `seq ${line.seq}: hash is not hex`, lineNo);
      }
      if (!bytesEqual(leaf, stated)) {
        throw new ArchiveProblem(
          dataFile,
          `seq ${line.seq}: the body does not hash to the stated leaf hash (the event was altered)`,
          lineNo,
        );
      }
      let body: { tenant?: unknown; id?: unknown };
      try {
        body = JSON.parse(line.body) as typeof body;
      } catch {
        throw new ArchiveProblem(dataFile, `seq ${line.seq}: the body is not JSON`, lineNo);
      }
      if (body.tenant !== m.tenant) {
        throw new ArchiveProblem(dataFile, `seq ${line.seq}: the event belongs to another tenant`, lineNo);
      }
      try {
        verifyInclusion(
          line.seq,
          signed.treeSize,
          leaf,
          line.proof.map((p) => fromBase64(String(p))),
          root,
        );
      } catch (error) {
        throw new ArchiveProblem(
          dataFile,
          `seq ${line.seq}: not in the signed log at that position: ${(error as Error).message}`,
          lineNo,
        );
      }
      count += 1;
    }
  })();
  await Promise.race([read, gzError]);
  const sha = digest.digest('hex');
  if (count !== m.count) {
    throw new ArchiveProblem(
      dataFile,
      `holds ${count} entries, the manifest says ${m.count} (entries were removed or added)`,
    );
  }
  if (sha !== m.sha256) {
    throw new ArchiveProblem(dataFile, 'its SHA-256 differs from the manifest (the file was changed)');
  }
  if (count > 0 && (minSeq !== m.seqs.first || maxSeq !== m.seqs.last)) {
    throw new ArchiveProblem(dataFile, 'its seq range differs from the manifest');
  }
  return count;
}

/**
 * Verifies every archive under `dir` with the public key alone: each manifest's checkpoint signature, each entry's
 * leaf hash recomputed from its body, each entry's inclusion proof against the signed root, and the manifest's
 * count and digest. A data file without a manifest is a finding too.
 */
export async function verifyArchive(dir: string, verifierKey: string): Promise<ArchiveVerifyReport> {
  const files = listFiles(dir);
  const manifests = files.filter((f) => f.endsWith(MANIFEST_SUFFIX));
  const findings: ArchiveFinding[] = [];
  let entries = 0;
  const covered = new Set<string>();
  for (const manifest of manifests) {
    try {
      const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { file?: unknown };
      if (typeof parsed.file === 'string') covered.add(path.join(path.dirname(manifest), parsed.file));
    } catch {
      // verifyOne reports it
    }
    try {
      entries += await verifyOne(manifest, verifierKey);
    } catch (error) {
      if (!(error instanceof ArchiveProblem)) throw error;
      findings.push({
        file: error.file,
        ...(error.line !== undefined ? { line: error.line } : {}),
        message: error.message,
      });
    }
  }
  for (const file of files) {
    if (file.endsWith(ARCHIVE_SUFFIX) && !path.basename(file).startsWith('.pending-') && !covered.has(file)) {
      findings.push({ file, message: 'an archive data file without a manifest' });
    }
  }
  return { ok: findings.length === 0, archives: manifests.length, entries, findings };
}

// ---------------------------------------------------------------------------------------------
// Against the log: every deletion record that names an archive (details.archive) must find it in the directory,
// with the digest, count and manifest digest it states. The records are in the signed log, so this catches what the
// key alone cannot: a whole archive (data file and manifest) removed.

export interface ArchiveLogReport {
  /** Deletion records that name an archive, all tenants. */
  records: number;
  findings: ArchiveFinding[];
  /** Manifests no deletion record names (a run that archived, then stopped before deleting): not a finding. */
  unreferenced: string[];
}

interface RecordedArchive {
  file?: unknown;
  count?: unknown;
  sha256?: unknown;
  manifest?: unknown;
  manifestSha256?: unknown;
}

const sha256Of = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Compares the archive directory `dir` (the archive root) with the deletion records of every tenant log in `store`. */
export async function checkArchivesAgainstLog(store: Store, dir: string): Promise<ArchiveLogReport> {
  const report: ArchiveLogReport = { records: 0, findings: [], unreferenced: [] };
  const named = new Set<string>();
  for (const { tenant } of await store.listTenantLogs()) {
    let after: bigint | undefined;
    for (;;) {
      const page = await store.listEvents({
        filter: { tenant, actions: { exact: [REDACTION_ACTION], prefixes: [] } },
        limit: PAGE,
        order: 'asc',
        includeTotal: false,
        ...(after !== undefined ? { after } : {}),
      });
      for (const row of page.rows) {
        const body = JSON.parse(row.body) as { details?: { archive?: RecordedArchive | null } };
        const recorded = body.details?.archive;
        if (!recorded || typeof recorded.file !== 'string') continue;
        report.records += 1;
        const where = `tenant "${tenant}", deletion record seq ${row.seq}`;
        const dataFile = path.resolve(dir, recorded.file);
        const manifestFile = path.resolve(
          dir,
          typeof recorded.manifest === 'string'
            ? recorded.manifest
            : recorded.file.slice(0, -ARCHIVE_SUFFIX.length) + MANIFEST_SUFFIX,
        );
        named.add(manifestFile);
        const problem = (message: string) => report.findings.push({ file: manifestFile, message });
        if (!fs.existsSync(manifestFile) || !fs.existsSync(dataFile)) {
          problem(`${where} names archive ${recorded.file}, which is missing (the archive was removed)`);
          continue;
        }
        if (
          typeof recorded.manifestSha256 === 'string' &&
          sha256Of(manifestFile) !== recorded.manifestSha256
        ) {
          problem(`${where}: the manifest differs from the one the deletion record names (SHA-256)`);
          continue;
        }
        let manifest: Partial<ArchiveManifest>;
        try {
          manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as Partial<ArchiveManifest>;
        } catch (error) {
          problem(`${where}: unreadable manifest: ${(error as Error).message}`);
          continue;
        }
        if (manifest.sha256 !== recorded.sha256 || sha256Of(dataFile) !== recorded.sha256) {
          problem(`${where}: the data file's SHA-256 differs from the one the deletion record states`);
        } else if (manifest.count !== recorded.count) {
          problem(
            `${where}: the manifest's count ${manifest.count} differs from the record's ${recorded.count}`,
          );
        }
      }
      if (page.lastOrderKey === null || page.rows.length === 0) break;
      after = page.lastOrderKey;
    }
  }
  report.unreferenced = listFiles(dir).filter(
    (f) => f.endsWith(MANIFEST_SUFFIX) && !named.has(path.resolve(f)),
  );
  return report;
}
