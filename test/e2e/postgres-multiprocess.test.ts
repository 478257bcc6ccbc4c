// Several Logbook processes, one PostgreSQL database (DESIGN.md §6, §7): three real `logbook serve` processes
// (node --import tsx packages/cli/src/main.ts serve, as the README starts it) on distinct ports share a fresh database,
// the admin key and the checkpoint signing key, start at the same moment (concurrent migrations and key bootstrap) and
// append concurrently to one tenant over real HTTP. Afterwards: seqs are 0..n-1 without a gap, every acknowledged
// event is stored exactly once, a client id sent to all three at once is stored once, checkpoints signed by any process
// are consistent with each other, and `logbook verify --database-url` exits 0 — and 1 once a row is edited.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  fromBase64,
  fromHex,
  generateSigningKey,
  openCheckpoint,
  parseVerifierKey,
  signerKeyString,
  verifierKeyString,
  verifyConsistency,
  verifyInclusion,
} from '@logbook/protocol';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  POSTGRES_AVAILABLE,
  type TestDatabase,
} from '../../packages/server/test/support-backends.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const ADMIN_KEY = 'multi-process-admin-key-0123456789';
const TENANT = 'shared';
const PROCESSES = 3;

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

function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => !k.startsWith('LOGBOOK_') && v !== undefined),
  ) as Record<string, string>;
}

class Server {
  readonly child: ChildProcess;
  output = '';
  readonly url: string;
  readonly exited: Promise<number | null>;

  constructor(port: number, env: Record<string, string>) {
    this.url = `http://127.0.0.1:${port}`;
    this.child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', 'serve'], {
      cwd: REPO_ROOT,
      env: { ...cleanEnv(), ...env, LOGBOOK_PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.output += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!/listening on/.test(this.output)) {
      if (this.child.exitCode !== null) throw new Error(`server exited early:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`server did not start:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

interface Ack {
  id: string;
  seq: number;
  hash: string;
  duplicate: boolean;
}

async function call(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const { json, ...rest } = init;
  return fetch(url, {
    ...rest,
    headers: {
      authorization: `Bearer ${ADMIN_KEY}`,
      ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
  });
}

async function append(url: string, events: Record<string, unknown>[]): Promise<Ack[]> {
  const res = await call(`${url}/api/v1/events`, { method: 'POST', json: { events } });
  if (res.status !== 201) throw new Error(`append failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { events: Ack[] }).events;
}

const describeIf = POSTGRES_AVAILABLE ? describe : describe.skip;

describeIf('several logbook serve processes on one PostgreSQL database', () => {
  let database: TestDatabase;
  const servers: Server[] = [];
  const dirs: string[] = [];
  const signer = generateSigningKey('multi.logbook.test');
  const publicKey = verifierKeyString(signer.name, signer.publicKey);

  beforeAll(async () => {
    database = await createTestDatabase();
    const ports = await Promise.all(Array.from({ length: PROCESSES }, () => freePort()));
    for (const port of ports) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-multi-'));
      dirs.push(dataDir);
      servers.push(
        new Server(port, {
          LOGBOOK_DATABASE_URL: database.url,
          LOGBOOK_DATA_DIR: dataDir,
          LOGBOOK_ADMIN_KEY: ADMIN_KEY,
          LOGBOOK_SIGNING_KEY: signerKeyString(signer),
          LOGBOOK_CHECKPOINT_INTERVAL_SECONDS: '1',
          LOGBOOK_LOG_LEVEL: 'warn',
        }),
      );
    }
    await Promise.all(servers.map((s) => s.ready()));
  }, 120_000);

  afterAll(async () => {
    for (const s of servers) {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
    await Promise.all(servers.map((s) => s.exited));
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    await database?.drop();
  }, 60_000);

  it('appends concurrently to one tenant without a gap, a fork or a lost event; every checkpoint verifies', async () => {
    for (const s of servers) expect(s.output).toContain('PostgreSQL at');
    const acked: Ack[] = [];
    const notes: string[] = [];
    const workers: Promise<void>[] = [];
    const BATCHES = 12;
    const BATCH = 25;
    for (const [p, server] of servers.entries()) {
      for (let w = 0; w < 4; w++) {
        workers.push(
          (async () => {
            for (let b = 0; b < BATCHES; b++) {
              const events = Array.from({ length: BATCH }, (_, i) => ({
                tenant: TENANT,
                action: i % 3 ? 'invoice.pay' : 'user.login',
                actor: { id: `actor-p${p}-w${w}` },
                target: { type: 'invoice', id: `inv-${p}-${w}-${b}-${i}` },
                description: `process ${p} worker ${w} batch ${b} event ${i}`,
                // Every third batch carries client ids (idempotent writes), the others get server ids.
                ...(b % 3 === 0 ? { id: `client-${p}-${w}-${b}-${i}` } : {}),
              }));
              acked.push(...(await append(server.url, events)));
              if (b % 4 === 3) {
                const res = await call(`${server.url}/api/v1/integrity/checkpoint`, {
                  method: 'POST',
                  json: { tenant: TENANT },
                });
                expect(res.status).toBeLessThan(300);
                notes.push(((await res.json()) as { note: string }).note);
              }
            }
          })(),
        );
      }
    }
    // The same client id sent to every process at once, several times: stored once, the same answer everywhere.
    const sameId = Array.from({ length: 5 }, (_, round) =>
      Promise.all(
        servers.map((s) =>
          append(s.url, [
            {
              id: `everywhere-${round}`,
              tenant: TENANT,
              action: 'sync',
              actor: { id: 'racer' },
              details: { round },
            },
          ]),
        ),
      ),
    );
    // The verifier over the live database while every process still appends (and checkpoints): the log grows under
    // it, which must not look like tampering. Started once the first acks are in, so it overlaps the load.
    while (acked.length < 200) await new Promise((r) => setTimeout(r, 20));
    const live = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'verify',
          '--database-url',
          database.url,
          '--public-key',
          publicKey,
          '--json',
        ],
        { cwd: REPO_ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
    await Promise.all(workers);
    const during = await live;
    expect(during.status, during.stdout + during.stderr).toBe(0);
    expect((JSON.parse(during.stdout) as { events: number }).events).toBeGreaterThan(0);
    const raced = await Promise.all(sameId);
    for (const answers of raced) {
      const flat = answers.flat();
      expect(new Set(flat.map((a) => `${a.seq}/${a.hash}`)).size).toBe(1);
      expect(flat.filter((a) => !a.duplicate)).toHaveLength(1);
      acked.push(...flat);
    }

    const unique = new Map<string, Ack>();
    for (const a of acked) {
      const before = unique.get(a.id);
      if (before) expect(before.seq).toBe(a.seq);
      else unique.set(a.id, a);
    }
    const n = PROCESSES * 4 * BATCHES * BATCH + 5;
    expect(unique.size).toBe(n);
    const seqs = [...unique.values()].map((a) => a.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: n }, (_, i) => i));

    // Each process reads what all wrote: exactly the acknowledged events, once each, in seq order by time.
    for (const server of servers) {
      const seen = new Map<string, number>();
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ tenant: TENANT, limit: '1000', ...(cursor ? { cursor } : {}) });
        const res = await call(`${server.url}/api/v1/events?${query}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { data: { id: string; seq: number }[]; nextCursor: string | null };
        for (const e of body.data) {
          expect(seen.has(e.id)).toBe(false);
          seen.set(e.id, e.seq);
        }
        cursor = body.nextCursor;
      } while (cursor);
      expect(seen.size).toBe(n);
      for (const [id, a] of unique) expect(seen.get(id)).toBe(a.seq);
    }

    // Checkpoints from every process: validly signed, and each later one consistent with each earlier one, proven by
    // a process other than the one that signed either.
    const final = await call(`${servers[0]!.url}/api/v1/integrity/checkpoint`, {
      method: 'POST',
      json: { tenant: TENANT },
    });
    notes.push(((await final.json()) as { note: string }).note);
    const key = parseVerifierKey(publicKey);
    const opened = notes.map((note) => openCheckpoint(note, [key], `${signer.name}/${TENANT}`).checkpoint);
    expect(opened.at(-1)!.treeSize).toBe(n);
    const sizes = [...new Map(opened.map((c) => [c.treeSize, c])).values()].sort(
      (a, b) => a.treeSize - b.treeSize,
    );
    expect(sizes.length).toBeGreaterThan(3);
    for (const [i, older] of sizes.entries()) {
      const newer = sizes.at(-1)!;
      if (older.treeSize === newer.treeSize) continue;
      const server = servers[i % PROCESSES]!;
      const res = await call(
        `${server.url}/api/v1/integrity/proof/consistency?tenant=${TENANT}&from=${older.treeSize}&to=${newer.treeSize}`,
      );
      expect(res.status).toBe(200);
      const proof = ((await res.json()) as { proof: string[] }).proof.map(fromBase64);
      verifyConsistency(older.treeSize, newer.treeSize, proof, older.rootHash, newer.rootHash);
    }
    // Inclusion of events written by each process, proven by another one, against the final signed root.
    const last = sizes.at(-1)!;
    for (const [i, a] of [...unique.values()].filter((_, j) => j % 97 === 0).entries()) {
      const server = servers[(i + 1) % PROCESSES]!;
      const res = await call(
        `${server.url}/api/v1/integrity/proof/inclusion?tenant=${TENANT}&id=${encodeURIComponent(a.id)}&treeSize=${last.treeSize}`,
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as { leafIndex: number; proof: string[] };
      expect(body.leafIndex).toBe(a.seq);
      verifyInclusion(a.seq, last.treeSize, fromHex(a.hash), body.proof.map(fromBase64), last.rootHash);
    }

    // A clean stop of every process.
    expect(await Promise.all(servers.map((s) => s.stop()))).toEqual(servers.map(() => 0));

    // The independent verifier over the database: intact.
    const verify = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'verify',
          '--database-url',
          database.url,
          '--public-key',
          publicKey,
          ...extra,
        ],
        { cwd: REPO_ROOT, env: cleanEnv(), encoding: 'utf8', timeout: 60_000 },
      );
    const ok = verify();
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`OK: ${n} events in 1 tenant log(s)`);

    // Edit one stored event behind Logbook's back: the verifier finds it and exits 1.
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      await db.query(
        `UPDATE events SET body = replace(body, 'worker 1 batch 2 event 3', 'worker 1 batch 2 event 4')
            WHERE tenant = $1 AND body LIKE '%process 1 worker 1 batch 2 event 3"%'`,
        [TENANT],
      );
    } finally {
      await db.end();
    }
    const tampered = verify('--json');
    expect(tampered.status, tampered.stdout + tampered.stderr).toBe(1);
    const report = JSON.parse(tampered.stdout) as { findings: { kind: string }[] };
    expect(report.findings[0]!.kind).toBe('hash-mismatch');

    // An unreachable database is a usage/connection error (2), not tampering.
    const unreachable = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'packages/cli/src/main.ts',
        'verify',
        '--database-url',
        'postgres://postgres@127.0.0.1:1/none',
        '--public-key',
        publicKey,
      ],
      { cwd: REPO_ROOT, env: cleanEnv(), encoding: 'utf8', timeout: 60_000 },
    );
    expect(unreachable.status, unreachable.stdout + unreachable.stderr).toBe(2);
  }, 180_000);
});
