// End to end: `logbook verify` against a data dir written by the real server and then tampered with directly in
// SQLite (better-sqlite3, outside Logbook). The server runs as `node --import tsx packages/cli/src/main.ts serve` from
// the repo root; ~300 events over real HTTP in two tenants, checkpoints on demand and at shutdown, a directory witness.
// Each case copies the pristine data and witness dirs, tampers with the copy, and runs the real CLI on it with the
// public key pinned from the pristine data dir.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  appendLeaf,
  type CompactRange,
  canonicalJson,
  emptyCompactRange,
  formatCheckpoint,
  generateSigningKey,
  hashLeaf,
  openCheckpoint,
  parseCheckpoint,
  rootOf,
  type SigningKey,
  signerKeyString,
  signNote,
  utf8Encode,
  verifierKeyString,
} from '@logbook/protocol';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const ADMIN_KEY = 'verify-e2e-admin-key-0123456789';
const CLI = ['--import', 'tsx', 'packages/cli/src/main.ts'];

/** Rounds of [acme batch, globex batch, which tenants get a checkpoint POST afterwards]. */
const ROUNDS: [number, number, ('acme' | 'globex')[]][] = [
  [40, 25, ['acme', 'globex']],
  [35, 30, []],
  [50, 20, ['acme', 'globex']],
  [30, 25, ['acme']],
  [25, 20, []], // covered only by the checkpoint made at shutdown
];
const SIZES = {
  acme: ROUNDS.reduce((n, r) => n + r[0], 0),
  globex: ROUNDS.reduce((n, r) => n + r[1], 0),
};
const TOTAL = SIZES.acme + SIZES.globex;
/** Expected checkpoint sizes: after each POST, plus the final one at shutdown. */
const CHECKPOINTS = { acme: [40, 125, 155, 180], globex: [25, 75, 120] };

interface Finding {
  tenant: string;
  seq?: number;
  kind: string;
  message: string;
}
interface Report {
  ok: boolean;
  tenants: number;
  events: number;
  checkpoints: number;
  witnessCopies: number;
  unsigned: Record<string, number>;
  seconds: number;
  findings: Finding[];
}
interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The environment without any LOGBOOK_* setting of the machine running the tests. */
function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => !k.startsWith('LOGBOOK_') && v !== undefined),
  ) as Record<string, string>;
  return { ...base, ...extra };
}

function runCli(args: string[], timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], {
      cwd: REPO_ROOT,
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`logbook ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function inputEvent(tenant: string, i: number): Record<string, unknown> {
  return {
    id: `${tenant}-${i}`,
    tenant,
    occurredAt: new Date(Date.UTC(2026, 1, 1) + i * 60_000).toISOString(),
    action: ['invoice.pay', 'user.login', 'order.ship'][i % 3],
    actor: { id: `user-${i % 9}`, name: `User ${i % 9}`, type: 'user' },
    target: { type: 'invoice', id: `inv-${i}` },
    outcome: i % 13 === 0 ? 'failure' : 'success',
    description: `${tenant} event ${i} ✓`,
    context: { ip: `192.168.1.${i % 200}`, requestId: `req-${tenant}-${i}` },
    details: { amount: i * 3, currency: 'EUR' },
  };
}

// ---------------------------------------------------------------------------------------------
// The pristine data, written once by the real server.

let pristineData: string;
let pristineWitness: string;
/** The verifier key string from the pristine data dir's checkpoint-signing.pub: the pinned key. */
let pinnedKey: string;

async function buildPristine(): Promise<void> {
  pristineData = tempDir('logbook-verify-data-');
  pristineWitness = tempDir('logbook-verify-witness-');
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [...CLI, 'serve'], {
    cwd: REPO_ROOT,
    env: cleanEnv({
      LOGBOOK_PORT: String(port),
      LOGBOOK_DATA_DIR: pristineData,
      LOGBOOK_ADMIN_KEY: ADMIN_KEY,
      LOGBOOK_WITNESS_DIR: pristineWitness,
      LOGBOOK_CHECKPOINT_INTERVAL_SECONDS: '0',
      LOGBOOK_LOG_LEVEL: 'warn',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => {
    out += c;
  });
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('listening on')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`server did not start\nstdout:\n${out}\nstderr:\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
    const next = { acme: 0, globex: 0 };
    for (const [acmeCount, globexCount, checkpoint] of ROUNDS) {
      for (const [tenant, count] of [
        ['acme', acmeCount],
        ['globex', globexCount],
      ] as const) {
        const events = Array.from({ length: count }, () => inputEvent(tenant, next[tenant]++));
        const res = await fetch(`${url}/api/v1/events`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ events }),
        });
        expect(res.status, await res.clone().text()).toBe(201);
        const body = (await res.json()) as { events: { seq: number }[] };
        expect(body.events.at(-1)!.seq).toBe(next[tenant] - 1);
      }
      for (const tenant of checkpoint) {
        const res = await fetch(`${url}/api/v1/integrity/checkpoint`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ tenant }),
        });
        expect(res.status, await res.clone().text()).toBe(200);
        expect(((await res.json()) as { treeSize: number }).treeSize).toBe(next[tenant]);
      }
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  pinnedKey = fs.readFileSync(path.join(pristineData, 'checkpoint-signing.pub'), 'utf8').trim();
}

// ---------------------------------------------------------------------------------------------
// Tampering helpers: plain SQL on a copy, plus protocol code for an attacker who recomputes hashes.

interface Copy {
  data: string;
  witness: string;
}

function copyPristine(): Copy {
  const root = tempDir('logbook-verify-case-');
  const data = path.join(root, 'data');
  const witness = path.join(root, 'witness');
  fs.cpSync(pristineData, data, { recursive: true });
  fs.cpSync(pristineWitness, witness, { recursive: true });
  return { data, witness };
}

function withDb<T>(copy: Copy, run: (db: Database.Database) => T): T {
  const db = new Database(path.join(copy.data, 'logbook.db'));
  try {
    return run(db);
  } finally {
    db.close();
  }
}

function bodyOf(db: Database.Database, tenant: string, seq: number): Record<string, unknown> {
  const row = db.prepare('SELECT body FROM events WHERE tenant = ? AND seq = ?').get(tenant, seq) as {
    body: string;
  };
  return JSON.parse(row.body) as Record<string, unknown>;
}

/** Rewrites an event's body (canonical JSON), optionally recomputing its stored leaf hash as a careful forger would. */
function rewriteBody(
  db: Database.Database,
  tenant: string,
  seq: number,
  edit: (body: Record<string, unknown>) => void,
  options: { rehash: boolean },
): void {
  const body = bodyOf(db, tenant, seq);
  edit(body);
  const text = canonicalJson(body);
  if (options.rehash) {
    db.prepare('UPDATE events SET body = ?, leaf_hash = ? WHERE tenant = ? AND seq = ?').run(
      text,
      Buffer.from(hashLeaf(utf8Encode(text))),
      tenant,
      seq,
    );
  } else {
    const changed = db
      .prepare('UPDATE events SET body = ? WHERE tenant = ? AND seq = ?')
      .run(text, tenant, seq).changes;
    expect(changed).toBe(1);
  }
}

/**
 * Recomputes a tenant's whole Merkle state from the stored leaf hashes, as an attacker with protocol code would: every
 * interior node, the compact range and the size in tenant_logs. Returns the root at each size in `at`.
 */
function recomputeTree(db: Database.Database, tenant: string, at: number[] = []): Map<number, Uint8Array> {
  const leaves = db.prepare('SELECT leaf_hash FROM events WHERE tenant = ? ORDER BY seq').all(tenant) as {
    leaf_hash: Buffer;
  }[];
  db.prepare('DELETE FROM merkle_nodes WHERE tenant = ?').run(tenant);
  const insert = db.prepare('INSERT INTO merkle_nodes (tenant, level, idx, hash) VALUES (?, ?, ?, ?)');
  let range: CompactRange = emptyCompactRange();
  const roots = new Map<number, Uint8Array>();
  for (const { leaf_hash } of leaves) {
    const appended = appendLeaf(range, new Uint8Array(leaf_hash));
    range = appended.range;
    for (const node of appended.nodes) {
      if (node.level > 0) insert.run(tenant, node.level, node.index, Buffer.from(node.hash));
    }
    if (at.includes(range.size)) roots.set(range.size, rootOf(range));
  }
  db.prepare('UPDATE tenant_logs SET size = ?, range_hashes = ? WHERE tenant = ?').run(
    range.size,
    Buffer.concat(range.hashes.map((h) => Buffer.from(h))),
    tenant,
  );
  return roots;
}

function checkpointRows(db: Database.Database, tenant?: string) {
  return db
    .prepare(
      `SELECT tenant, tree_size AS treeSize, note FROM checkpoints ${tenant ? 'WHERE tenant = ?' : ''} ORDER BY tenant, tree_size`,
    )
    .all(...(tenant ? [tenant] : [])) as { tenant: string; treeSize: number; note: string }[];
}

/** The signed text of a note (up to and including the newline before the blank line). */
function noteText(note: string): string {
  return note.slice(0, note.lastIndexOf('\n\n') + 1);
}

/** Signs every checkpoint row again with `key`, over the roots in `roots` (tenant → size → root) where given. */
function resignCheckpoints(
  db: Database.Database,
  key: SigningKey,
  roots: Record<string, Map<number, Uint8Array>> = {},
): number {
  const update = db.prepare(
    'UPDATE checkpoints SET note = ?, root_hash = ? WHERE tenant = ? AND tree_size = ?',
  );
  let n = 0;
  for (const row of checkpointRows(db)) {
    const parsed = parseCheckpoint(noteText(row.note));
    const rootHash = roots[row.tenant]?.get(row.treeSize) ?? parsed.rootHash;
    const note = signNote(formatCheckpoint({ ...parsed, rootHash }), key);
    update.run(note, Buffer.from(rootHash), row.tenant, row.treeSize);
    n += 1;
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Running the verifier.

interface Verified {
  json: Run & { report: Report };
  human: Run;
}

async function verify(
  copy: Copy | string,
  options: { witness?: boolean; pinned?: boolean; extra?: string[] } = {},
): Promise<Verified> {
  const data = typeof copy === 'string' ? copy : copy.data;
  const args = [
    'verify',
    '--data-dir',
    data,
    ...(options.pinned === false ? [] : ['--public-key', pinnedKey]),
    ...(options.witness && typeof copy !== 'string' ? ['--witness-dir', copy.witness] : []),
    ...(options.extra ?? []),
  ];
  const [json, human] = await Promise.all([runCli([...args, '--json']), runCli(args)]);
  let report: Report;
  try {
    report = JSON.parse(json.stdout) as Report;
  } catch {
    throw new Error(
      `verify --json did not print JSON (exit ${json.code})\nstdout:\n${json.stdout}\nstderr:\n${json.stderr}`,
    );
  }
  return { json: { ...json, report }, human };
}

/** Exit 1 and a first finding of this kind naming this tenant (and seq); the human output names them too. */
function expectTampered(result: Verified, expected: { kind: string; tenant: string; seq?: number }): Finding {
  const { json, human } = result;
  expect(json.code, `${json.stdout}\n${json.stderr}`).toBe(1);
  expect(json.report.ok).toBe(false);
  const first = json.report.findings[0];
  expect(first, json.stdout).toBeDefined();
  expect({ kind: first!.kind, tenant: first!.tenant, seq: first!.seq }, first!.message).toEqual({
    kind: expected.kind,
    tenant: expected.tenant,
    seq: expected.seq,
  });
  expect(first!.message.length).toBeGreaterThan(10);
  expect(human.code, `${human.stdout}\n${human.stderr}`).toBe(1);
  const line = human.stdout.split('\n').find((l) => l.includes(expected.kind));
  expect(line, human.stdout).toBeDefined();
  expect(line).toContain(`tenant "${expected.tenant}"`);
  if (expected.seq !== undefined) expect(line).toMatch(new RegExp(`\\bseq ${expected.seq}\\b`));
  expect(human.stdout).not.toMatch(/^OK:/m);
  return first!;
}

beforeAll(buildPristine, 120_000);
afterAll(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe('logbook verify on a data dir written by the real server', { timeout: 120_000 }, () => {
  it('the pristine data has every checkpoint in the table and in the witness dir, each signed by the pinned key', () => {
    const rows = withDb({ data: pristineData, witness: pristineWitness }, (db) => checkpointRows(db));
    for (const tenant of ['acme', 'globex'] as const) {
      expect(rows.filter((r) => r.tenant === tenant).map((r) => r.treeSize)).toEqual(CHECKPOINTS[tenant]);
      const files = fs
        .readdirSync(path.join(pristineWitness, tenant))
        .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
      expect(files).toEqual(CHECKPOINTS[tenant].map((n) => `${n}.checkpoint`));
      for (const size of CHECKPOINTS[tenant]) {
        const note = fs.readFileSync(path.join(pristineWitness, tenant, `${size}.checkpoint`), 'utf8');
        expect(openCheckpoint(note, pinnedKey, `logbook/${tenant}`).checkpoint.treeSize).toBe(size);
        expect(rows.find((r) => r.tenant === tenant && r.treeSize === size)!.note).toBe(note);
      }
    }
  });

  it('untouched data: exit 0 and a summary of events, tenants and checkpoints (with and without witnesses)', async () => {
    const copy = copyPristine();
    const withWitness = await verify(copy, { witness: true });
    expect(withWitness.json.code, withWitness.json.stderr).toBe(0);
    expect(withWitness.json.report).toMatchObject({
      ok: true,
      tenants: 2,
      events: TOTAL,
      checkpoints: CHECKPOINTS.acme.length + CHECKPOINTS.globex.length,
      witnessCopies: CHECKPOINTS.acme.length + CHECKPOINTS.globex.length,
      unsigned: {},
      findings: [],
    });
    expect(withWitness.human.code).toBe(0);
    expect(withWitness.human.stdout).toMatch(
      new RegExp(
        `^OK: ${TOTAL} events in 2 tenant log\\(s\\), 7 checkpoint\\(s\\), 7 witness copies verified in [0-9.]+ s`,
        'm',
      ),
    );
    expect(withWitness.human.stdout).not.toMatch(/TAMPERED/);

    const plain = await verify(copy);
    expect(plain.json.code).toBe(0);
    expect(plain.json.report).toMatchObject({
      ok: true,
      tenants: 2,
      events: TOTAL,
      checkpoints: 7,
      witnessCopies: 0,
    });
    expect(plain.human.stdout).toMatch(
      new RegExp(`^OK: ${TOTAL} events in 2 tenant log\\(s\\), 7 checkpoint\\(s\\) verified`, 'm'),
    );
    // Verification only reads: the copy is byte-identical to the pristine database afterwards.
    expect(
      fs
        .readFileSync(path.join(copy.data, 'logbook.db'))
        .equals(fs.readFileSync(path.join(pristineData, 'logbook.db'))),
    ).toBe(true);
  });

  it('one field of one event body changed → hash-mismatch at that tenant and seq', async () => {
    const copy = copyPristine();
    withDb(copy, (db) =>
      rewriteBody(
        db,
        'acme',
        57,
        (b) => {
          (b.details as Record<string, unknown>).amount = 1_000_000;
        },
        { rehash: false },
      ),
    );
    expectTampered(await verify(copy, { witness: true }), { kind: 'hash-mismatch', tenant: 'acme', seq: 57 });
  });

  it('an indexed column changed but not the body → column-mismatch (searches would lie)', async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      db.prepare("UPDATE events SET actor_id = 'someone-else' WHERE tenant = 'globex' AND seq = 33").run();
    });
    const finding = expectTampered(await verify(copy), {
      kind: 'column-mismatch',
      tenant: 'globex',
      seq: 33,
    });
    expect(finding.message).toContain('actor_id');
  });

  it('an event deleted → seq-gap naming the missing seq', async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      expect(db.prepare("DELETE FROM events WHERE tenant = 'globex' AND seq = 60").run().changes).toBe(1);
    });
    expectTampered(await verify(copy, { witness: true }), { kind: 'seq-gap', tenant: 'globex', seq: 60 });
  });

  it('a forged event appended at the end (valid hash, new seq, unused id) → size-mismatch naming its seq', async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      const body = { ...bodyOf(db, 'acme', 10), id: 'forged-1', description: 'never happened' };
      const text = canonicalJson(body);
      const maxKey = (
        db.prepare('SELECT max(order_key) AS k FROM events').safeIntegers(true).get() as { k: bigint }
      ).k;
      db.prepare(
        `INSERT INTO events (order_key, tenant, seq, id, occurred_ms, received_ms, action, actor_id, target_type, target_id,
           outcome, ip, body, leaf_hash, input_digest)
         SELECT ?, tenant, ?, ?, occurred_ms, received_ms, action, actor_id, target_type, target_id, outcome, ip, ?, ?, NULL
         FROM events WHERE tenant = 'acme' AND seq = 10`,
      ).run(maxKey + 1n, SIZES.acme, 'forged-1', text, Buffer.from(hashLeaf(utf8Encode(text))));
    });
    expectTampered(await verify(copy, { witness: true }), {
      kind: 'size-mismatch',
      tenant: 'acme',
      seq: SIZES.acme,
    });
  });

  it('a forged event for a brand-new tenant → orphan-tenant naming that tenant', async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      const body = { ...bodyOf(db, 'acme', 3), id: 'evil-0', tenant: 'evil' };
      const text = canonicalJson(body);
      const maxKey = (
        db.prepare('SELECT max(order_key) AS k FROM events').safeIntegers(true).get() as { k: bigint }
      ).k;
      db.prepare(
        `INSERT INTO events (order_key, tenant, seq, id, occurred_ms, received_ms, action, actor_id, target_type, target_id,
           outcome, ip, body, leaf_hash, input_digest)
         SELECT ?, 'evil', 0, 'evil-0', occurred_ms, received_ms, action, actor_id, target_type, target_id, outcome, ip, ?, ?, NULL
         FROM events WHERE tenant = 'acme' AND seq = 3`,
      ).run(maxKey + 1n, text, Buffer.from(hashLeaf(utf8Encode(text))));
    });
    expectTampered(await verify(copy), { kind: 'orphan-tenant', tenant: 'evil' });
  });

  it('two events swapped (their seq values exchanged) → named at the first reordered seq', async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      const move = db.prepare("UPDATE events SET seq = ? WHERE tenant = 'globex' AND seq = ?");
      db.transaction(() => {
        expect(move.run(-1, 30).changes).toBe(1);
        expect(move.run(30, 50).changes).toBe(1);
        expect(move.run(50, -1).changes).toBe(1);
      })();
    });
    const result = await verify(copy, { witness: true });
    // Every finding (--all): the stored Merkle nodes already pinpoint the swapped pair, seq 30 and seq 50…
    const all = await verify(copy, { witness: true, extra: ['--all'] });
    const found = all.json.report.findings.map((f) => `${f.kind}@${f.tenant}:${f.seq}`);
    expect(found).toContain('node-mismatch@globex:30');
    expect(found).toContain('node-mismatch@globex:50');
    expect(found).toContain('checkpoint-root@globex:74');
    // …so the first finding, the one reported without --all, must name the first reordered entry, not a later seq.
    expectTampered(result, { kind: 'node-mismatch', tenant: 'globex', seq: 30 });
  });

  it('the newest events truncated with size, range, nodes and checkpoints fixed up → caught by the witness copies', async () => {
    const copy = copyPristine();
    const keep = 160;
    withDb(copy, (db) => {
      db.transaction(() => {
        expect(db.prepare("DELETE FROM events WHERE tenant = 'acme' AND seq >= ?").run(keep).changes).toBe(
          SIZES.acme - keep,
        );
        recomputeTree(db, 'acme');
        expect(
          db.prepare("DELETE FROM checkpoints WHERE tenant = 'acme' AND tree_size > ?").run(keep).changes,
        ).toBe(1);
      })();
      const state = db.prepare("SELECT size FROM tenant_logs WHERE tenant = 'acme'").get() as {
        size: number;
      };
      expect(state.size).toBe(keep);
    });
    expectTampered(await verify(copy, { witness: true }), {
      kind: 'witness-beyond-log',
      tenant: 'acme',
      seq: keep,
    });
  });

  it('the newest events truncated with size and range fixed up but checkpoints left → checkpoint-beyond-log, no witness needed', async () => {
    const copy = copyPristine();
    const keep = 100;
    withDb(copy, (db) => {
      db.transaction(() => {
        db.prepare("DELETE FROM events WHERE tenant = 'globex' AND seq >= ?").run(keep);
        recomputeTree(db, 'globex');
      })();
    });
    expectTampered(await verify(copy), { kind: 'checkpoint-beyond-log', tenant: 'globex', seq: keep });
  });

  it('an event edited together with its stored leaf hash → caught by the stored Merkle nodes at that seq', async () => {
    const copy = copyPristine();
    withDb(copy, (db) =>
      rewriteBody(
        db,
        'acme',
        100,
        (b) => {
          b.outcome = 'success';
          b.description = 'rewritten history';
        },
        { rehash: true },
      ),
    );
    // Every finding (--all): the stored node over seq 100…101 no longer matches, nor does the signed root at 125.
    const all = await verify(copy, { witness: true, extra: ['--all'] });
    const found = all.json.report.findings.map((f) => `${f.kind}@${f.tenant}:${f.seq}`);
    expect(found).toContain('node-mismatch@acme:100');
    expect(found).toContain('checkpoint-root@acme:124');
    // The first finding must name the edited entry (seq 100), not the end of the checkpoint that covers it.
    expectTampered(await verify(copy, { witness: true }), {
      kind: 'node-mismatch',
      tenant: 'acme',
      seq: 100,
    });
  });

  it('an event, its leaf hash, every Merkle node and the range rewritten → only the signed checkpoint catches it', async () => {
    const copy = copyPristine();
    withDb(copy, (db) =>
      db.transaction(() => {
        rewriteBody(
          db,
          'acme',
          100,
          (b) => {
            b.description = 'rewritten history';
          },
          { rehash: true },
        );
        recomputeTree(db, 'acme');
      })(),
    );
    // The first signed size above seq 100 is 125: the root of the first 125 events no longer matches its signature.
    const finding = expectTampered(await verify(copy), { kind: 'checkpoint-root', tenant: 'acme', seq: 124 });
    expect(finding.message).toContain('125');
    // The witness copy at the same size says the same.
    const all = await verify(copy, { witness: true, extra: ['--all'] });
    expect(all.json.code).toBe(1);
    const kinds = all.json.report.findings.map((f) => `${f.kind}@${f.tenant}:${f.seq}`);
    expect(kinds).toContain('checkpoint-root@acme:124');
    expect(kinds).toContain('witness-root@acme:124');
    expect(all.json.report.findings.every((f) => f.tenant === 'acme')).toBe(true);
  });

  it('a whole tenant truncated away (events, log row, nodes, checkpoints) → caught by its witness copies', async () => {
    const copy = copyPristine();
    withDb(copy, (db) =>
      db.transaction(() => {
        for (const table of ['events', 'tenant_logs', 'merkle_nodes', 'checkpoints']) {
          expect(db.prepare(`DELETE FROM ${table} WHERE tenant = 'globex'`).run().changes).toBeGreaterThan(0);
        }
      })(),
    );
    // Without witnesses nothing in the database is left to notice: acme alone verifies.
    const blind = await verify(copy);
    expect(blind.json.report).toMatchObject({ tenants: 1, events: SIZES.acme });
    // The witness dir still holds globex's signed checkpoints (up to 120 events): they must not be ignored.
    const { json, human } = await verify(copy, { witness: true });
    expect(json.code, json.stdout).toBe(1);
    expect(json.report.ok).toBe(false);
    const first = json.report.findings[0]!;
    expect(first.tenant).toBe('globex');
    expect(first.kind).toMatch(/^witness-/);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('tenant "globex"');
  });

  it("a tenant's stored tree state (compact range) cut short → range-mismatch", async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      // 180 events = 4 perfect subtrees = 128 bytes of range; keep only the first hash. New appends would now fail
      // (or, with forged hashes, extend a forged tree).
      const before = db
        .prepare("SELECT length(range_hashes) AS n FROM tenant_logs WHERE tenant = 'acme'")
        .get() as {
        n: number;
      };
      expect(before.n).toBe(4 * 32);
      db.prepare(
        "UPDATE tenant_logs SET range_hashes = substr(range_hashes, 1, 32) WHERE tenant = 'acme'",
      ).run();
    });
    expectTampered(await verify(copy), { kind: 'range-mismatch', tenant: 'acme' });
  });

  it("a checkpoint row's root column edited (note intact) → checkpoint-record-mismatch", async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      db.prepare(
        "UPDATE checkpoints SET root_hash = zeroblob(32) WHERE tenant = 'acme' AND tree_size = 155",
      ).run();
    });
    const finding = expectTampered(await verify(copy), {
      kind: 'checkpoint-record-mismatch',
      tenant: 'acme',
    });
    expect(finding.message).toContain('155');
  });

  it("a checkpoint's note replaced by one signed with another key → checkpoint-signature", async () => {
    const copy = copyPristine();
    const other = generateSigningKey('logbook');
    withDb(copy, (db) => {
      const row = checkpointRows(db, 'globex').find((r) => r.treeSize === 75)!;
      const forged = signNote(noteText(row.note), other);
      expect(
        db.prepare("UPDATE checkpoints SET note = ? WHERE tenant = 'globex' AND tree_size = 75").run(forged)
          .changes,
      ).toBe(1);
    });
    const finding = expectTampered(await verify(copy), { kind: 'checkpoint-signature', tenant: 'globex' });
    expect(finding.message).toContain('75');
  });

  it("a checkpoint's root edited in its note (signature kept) → checkpoint-signature", async () => {
    const copy = copyPristine();
    withDb(copy, (db) => {
      const row = checkpointRows(db, 'acme').find((r) => r.treeSize === 40)!;
      const lines = row.note.split('\n');
      lines[2] = Buffer.alloc(32, 7).toString('base64');
      db.prepare("UPDATE checkpoints SET note = ? WHERE tenant = 'acme' AND tree_size = 40").run(
        lines.join('\n'),
      );
    });
    expectTampered(await verify(copy), { kind: 'checkpoint-signature', tenant: 'acme' });
  });

  it('history rewritten and everything re-signed with another key (key files replaced too) → caught by the pinned key', async () => {
    const copy = copyPristine();
    const other = generateSigningKey('logbook');
    withDb(copy, (db) =>
      db.transaction(() => {
        rewriteBody(
          db,
          'acme',
          7,
          (b) => {
            b.action = 'user.delete';
          },
          { rehash: true },
        );
        db.prepare("UPDATE events SET action = 'user.delete' WHERE tenant = 'acme' AND seq = 7").run();
        const roots = recomputeTree(db, 'acme', CHECKPOINTS.acme);
        expect(resignCheckpoints(db, other, { acme: roots })).toBe(7);
      })(),
    );
    fs.writeFileSync(path.join(copy.data, 'checkpoint-signing.key'), signerKeyString(other));
    fs.writeFileSync(
      path.join(copy.data, 'checkpoint-signing.pub'),
      verifierKeyString(other.name, other.publicKey),
    );

    // Pinned to the original key: the very first checkpoint is rejected.
    const pinned = expectTampered(await verify(copy), { kind: 'checkpoint-signature', tenant: 'acme' });
    expect(pinned.message).toContain('40');
    // Trusting the replaced key file in the data dir, the witness copies (signed by the real key) still catch it.
    expectTampered(await verify(copy, { pinned: false, witness: true }), {
      kind: 'witness-signature',
      tenant: 'acme',
    });
  });

  it('a missing data dir → exit 2 with a clear message', async () => {
    const missing = path.join(tempDir('logbook-verify-missing-'), 'nope');
    const run = await runCli(['verify', '--data-dir', missing, '--public-key', pinnedKey, '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(missing);
    expect(run.stderr).toMatch(/no Logbook database/i);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(missing)).toBe(false);
    // Without --public-key the message says what is missing as well.
    const nokey = await runCli(['verify', '--data-dir', missing]);
    expect(nokey.code).toBe(2);
    expect(nokey.stderr.trim().length).toBeGreaterThan(0);
    expect(nokey.stderr).not.toMatch(/\n\s+at /);
  });

  it('an unusable --public-key (missing file, malformed key) → exit 2 with a clear message, never exit 1 "tampered"', async () => {
    const copy = copyPristine();
    const missingFile = path.join(copy.data, '..', 'no-such-dir', 'logbook.pub');
    for (const key of [missingFile, 'not-a-key']) {
      const run = await runCli(['verify', '--data-dir', copy.data, '--public-key', key, '--json']);
      expect(run.code, `--public-key ${key}\n${run.stdout}\n${run.stderr}`).toBe(2);
      expect(run.stderr).toMatch(/public.key|verifier key/i);
      expect(run.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
    }
  });

  it('a database whose schema predates this verifier → exit 2 naming the migration to apply, not a crash or "tampered"', async () => {
    const copy = copyPristine();
    const latest = withDb(copy, (db) => {
      const row = db.prepare('SELECT name FROM schema_migrations ORDER BY name DESC LIMIT 1').get() as {
        name: string;
      };
      db.prepare('DELETE FROM schema_migrations WHERE name = ?').run(row.name);
      return row.name;
    });
    const run = await runCli(['verify', '--data-dir', copy.data, '--public-key', pinnedKey, '--json']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`not applied: ${latest}`);
    expect(run.stderr).toContain('logbook migrate');
    expect(run.stderr, 'no stack trace').not.toMatch(/\n\s+at /);
  });

  it('verify --help → exit 0 and lists the options', async () => {
    const run = await runCli(['verify', '--help']);
    expect(run.code).toBe(0);
    for (const option of ['--data-dir', '--public-key', '--witness-dir', '--json', '--all']) {
      expect(run.stdout).toContain(option);
    }
    expect(run.stdout).toMatch(/exit codes/i);
    const bad = await runCli(['verify', '--no-such-option']);
    expect(bad.code).toBe(2);
  });
});
