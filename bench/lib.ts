// Benchmark plumbing: run the real server as a child process, time things, summarise, write results.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** A process's resident memory now (VmRSS), in MiB; 0 once it has exited. */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

export interface ServerHandle {
  url: string;
  key: string;
  child: ChildProcess;
  dataDir: string;
  peakRssMiB(): number;
  /** Starts a new peak, so that each phase of a suite (load, queries) reports its own. */
  resetPeakRss(): void;
  stop(): Promise<void>;
}

/** Starts `logbook serve` exactly as the README does, on a free port and a temp data dir. */
export async function startLogbook(env: Record<string, string> = {}): Promise<ServerHandle> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-bench-'));
  const key = 'bench-admin-key-0123456789abcdef';
  // LOGBOOK_BENCH_NODE_ARGS passes flags to the server's node (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"), which
  // NODE_OPTIONS refuses for profiling flags.
  const nodeArgs = process.env.LOGBOOK_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', 'packages/cli/src/main.ts', 'serve'],
    {
      cwd: REPO,
      env: {
        ...process.env,
        LOGBOOK_PORT: String(port),
        LOGBOOK_DATA_DIR: dataDir,
        LOGBOOK_ADMIN_KEY: key,
        LOGBOOK_LOG_LEVEL: 'warn',
        // The dataset's events are older than the default retention: keep the job from redacting them mid-run.
        LOGBOOK_RETENTION_DAYS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      if (out.includes('listening on')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  let peak = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB(child.pid!));
  }, 100);
  return {
    url: `http://127.0.0.1:${port}`,
    key,
    child,
    dataDir,
    peakRssMiB: () => Math.round(peak),
    resetPeakRss: () => {
      peak = 0;
    },
    async stop() {
      clearInterval(sampler);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function post(
  url: string,
  key: string,
  body: Buffer,
  contentType = 'application/json',
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent,
      headers: {
        'content-type': contentType,
        'content-length': body.length,
        authorization: `Bearer ${key}`,
      },
    });
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** GETs a JSON resource with the benchmark's keep-alive agent (fetch's client costs more than the servers' reads). */
export function getJson<T>(url: string, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${key}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text) as T);
      });
    });
    req.on('error', reject);
  });
}

/**
 * Sends every body once with `concurrency` requests in flight; returns elapsed seconds. Bodies may be a lazy
 * iterable, so a suite can stream millions of events without holding them.
 */
export async function sendAll(
  url: string,
  key: string,
  bodies: Iterable<Buffer>,
  concurrency: number,
  expectStatus = 201,
  contentType = 'application/json',
): Promise<number> {
  const pending = bodies[Symbol.iterator]();
  const started = performance.now();
  const worker = async () => {
    for (let next = pending.next(); !next.done; next = pending.next()) {
      const status = await post(url, key, next.value, contentType);
      if (status !== expectStatus) throw new Error(`unexpected status ${status}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return (performance.now() - started) / 1000;
}

/**
 * CPU milliseconds (user + system) a process has used so far: all its threads, and its main thread (the event loop)
 * alone. Less sensitive to other load on a shared machine than wall time, and it shows where the work runs.
 */
export function processCpuMs(pid: number): { total: number; mainThread: number } {
  const ticks = (file: string) => {
    const fields = fs.readFileSync(file, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  };
  return { total: ticks(`/proc/${pid}/stat`), mainThread: ticks(`/proc/${pid}/task/${pid}/stat`) };
}

/** USER_HZ: the unit of /proc CPU times; 100 on every Linux Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export function writeResults(name: string, data: unknown): string {
  const file = path.join(REPO, 'bench', 'results', `${name}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return file;
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
  };
}
