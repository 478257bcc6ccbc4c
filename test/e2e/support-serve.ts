// Support for the crash and fault tests: a real `logbook serve` child process (started as the README does), fresh
// storage per test on either backend, the real `logbook verify` CLI, and a full read-back over HTTP.
// It must never talk to a store directly: everything goes through the processes a user would run.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  type Backend,
  createTestDatabase,
  type TestDatabase,
} from '../../packages/server/test/support-backends.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
/** A fixed admin key (LOGBOOK_ADMIN_KEY), so restarts need not parse the first start's output. */
export const ADMIN_KEY = 'lbk_reliability_test_admin_key_0123456789';

export async function freePort(): Promise<number> {
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

/** The parent's environment without any LOGBOOK_ variable, so a developer's settings cannot leak into a test. */
export function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k, v]) => !k.startsWith('LOGBOOK_') && v !== undefined),
  ) as Record<string, string>;
}

/** One `logbook serve` process with its output collected. */
export class ServeProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  url = '';

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', 'serve'], {
      cwd: REPO_ROOT,
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      // Request logs are long; keep the head (start-up lines) and the tail (the last errors) only.
      this.stdout = (this.stdout + chunk).slice(-200_000);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-50_000);
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits for the "listening on" line; fails if the process exits or 60 s pass first (a busy 2-core CI). */
  async listening(timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.stdout.match(/listening on (http:\/\/\S+?)[\s(,;]/i);
      if (match) {
        this.url = match[1]!;
        return this.url;
      }
      if (!this.running || Date.now() > deadline) {
        throw new Error(
          `server did not start (${this.running ? 'timeout' : 'exited'})\nstdout:\n${this.stdout.slice(-4000)}\nstderr:\n${this.stderr}`,
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: no shutdown hook runs, whatever was in flight is cut. */
  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** Where one test's servers keep their data: a temp data dir (key files), plus a fresh database on PostgreSQL. */
export class Storage {
  readonly dataDir: string;
  private constructor(
    readonly backend: Backend,
    dataDir: string,
    readonly database: TestDatabase | null,
  ) {
    this.dataDir = dataDir;
  }

  static async create(backend: Backend, dataDir?: string): Promise<Storage> {
    const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-rel-'));
    const database = backend === 'postgres' ? await createTestDatabase() : null;
    return new Storage(backend, dir, database);
  }

  /** The serve environment; `databaseUrl` overrides the database address (e.g. a proxy in front of it). */
  env(extra: Record<string, string> = {}, databaseUrl?: string): Record<string, string> {
    return {
      LOGBOOK_DATA_DIR: this.dataDir,
      LOGBOOK_ADMIN_KEY: ADMIN_KEY,
      LOGBOOK_LOG_LEVEL: 'warn',
      ...(this.database ? { LOGBOOK_DATABASE_URL: databaseUrl ?? this.database.url } : {}),
      ...extra,
    };
  }

  async start(extra: Record<string, string> = {}, databaseUrl?: string): Promise<ServeProcess> {
    const server = new ServeProcess(
      this.env({ LOGBOOK_PORT: String(await freePort()), ...extra }, databaseUrl),
    );
    await server.listening();
    return server;
  }

  /** `logbook verify` (the real CLI) over this storage: exit status and output. */
  async verify(): Promise<{ status: number | null; output: string }> {
    const args = ['verify', '--json'];
    if (this.database) {
      args.push('--database-url', this.database.url);
      args.push('--public-key', path.join(this.dataDir, 'checkpoint-signing.pub'));
    } else {
      args.push('--data-dir', this.dataDir);
    }
    return runCli(args);
  }

  async cleanup(): Promise<void> {
    fs.rmSync(this.dataDir, { recursive: true, force: true });
    await this.database?.drop();
  }
}

export interface StoredEvent {
  id: string;
  seq: number;
  hash: string;
  tenant?: string;
}

/** Every event of a tenant, oldest first, through the public API. */
export async function readAll(url: string, tenant = 'default'): Promise<StoredEvent[]> {
  const all: StoredEvent[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: '1000', order: 'asc', tenant, ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${url}/api/v1/events?${query}`, { headers: { 'x-api-key': ADMIN_KEY } });
    if (res.status !== 200) throw new Error(`read-back failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: StoredEvent[]; nextCursor: string | null };
    all.push(...body.data);
    cursor = body.nextCursor;
  } while (cursor);
  return all;
}

export function postEvents(url: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}/api/v1/events`, {
    method: 'POST',
    headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `logbook …` (the real CLI, started as the README does) with the given arguments: exit status and output. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...cleanEnv(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    child.on('close', (status) => resolve({ status, output }));
  });
}
