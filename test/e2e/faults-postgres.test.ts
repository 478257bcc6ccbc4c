// PostgreSQL going away during ingest, without touching the shared PostgreSQL server: a TCP proxy (node:net) sits
// between a real `logbook serve` and PostgreSQL and is cut in two ways — connections reset and refused (a crash or
// restart) and a black hole (a network partition: nothing answers, nothing closes). Clients must get 503 with
// Retry-After promptly (never a hanging request), the service must recover by itself once the path is back, and
// every acknowledged event must be stored once (verify exits 0).
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { POSTGRES_AVAILABLE } from '../../packages/server/test/support-backends.ts';
import { postEvents, readAll, type ServeProcess, Storage, sleep } from './support-serve.ts';

type ProxyMode = 'up' | 'refuse' | 'blackhole';

/** A TCP proxy whose path to the upstream can be cut and restored. */
class CuttableProxy {
  private server: net.Server;
  private pairs = new Set<[net.Socket, net.Socket | null]>();
  mode: ProxyMode = 'up';
  port = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => {});
    if (this.mode === 'refuse') {
      client.destroy();
      return;
    }
    const pair: [net.Socket, net.Socket | null] = [client, null];
    this.pairs.add(pair);
    client.on('close', () => {
      pair[1]?.destroy();
      this.pairs.delete(pair);
    });
    // A black hole accepts and then never answers.
    if (this.mode === 'blackhole') return;
    const upstream = net.connect(this.upstreamPort, this.upstreamHost);
    pair[1] = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Resets every open connection and refuses new ones (PostgreSQL crashed or restarts). */
  refuse(): void {
    this.mode = 'refuse';
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream?.destroy();
    }
  }

  /** Stops forwarding in both directions; sockets stay open and silent (a partition). */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const pair of this.pairs) {
      const [client, upstream] = pair;
      client.unpipe();
      upstream?.unpipe();
      // Whatever PostgreSQL still sends is swallowed, as a dead network would.
      upstream?.removeAllListeners('close');
      upstream?.pause();
      client.pause();
    }
  }

  /** The path is back. Silent sockets of the partition are dropped (TCP keepalive would, later). */
  restore(): void {
    const silent = this.mode === 'blackhole';
    this.mode = 'up';
    if (silent)
      for (const [client, upstream] of this.pairs) {
        client.destroy();
        upstream?.destroy();
      }
  }

  async close(): Promise<void> {
    for (const [client, upstream] of this.pairs) {
      client.destroy();
      upstream?.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Ack {
  id: string;
  seq: number;
  hash: string;
}

describe.skipIf(!POSTGRES_AVAILABLE)('PostgreSQL faults during ingest', () => {
  it('a reset and a silent database both give prompt 503 + Retry-After; recovery is automatic; nothing acknowledged is lost', async () => {
    const storage = await Storage.create('postgres');
    const upstream = new URL(storage.database!.url);
    const proxy = new CuttableProxy(upstream.hostname, Number(upstream.port || 5432));
    await proxy.listen();
    const viaProxy = new URL(storage.database!.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    let server: ServeProcess | null = null;
    try {
      server = await storage.start(
        // Short limits so that the test is quick; the defaults (5 s connect, 60 s statements) behave the same.
        { LOGBOOK_DB_CONNECT_TIMEOUT_MS: '1500', LOGBOOK_DB_QUERY_TIMEOUT_MS: '2000' },
        viaProxy.toString(),
      );
      const url = server.url;
      const acked = new Map<string, Ack>();
      const failures: {
        status: number;
        ms: number;
        retryAfter: string | null;
        code: string;
        phase: string;
      }[] = [];
      const latencies: { ms: number; phase: string }[] = [];
      let phase = 'before';
      let stopping = false;
      let lastOkAt = 0;

      // Each writer retries its request (same client ids, so a retry is idempotent) until it is acknowledged, as an
      // SDK would, honouring Retry-After loosely (it polls faster to measure recovery).
      const writer = async (w: number) => {
        for (let n = 0; !stopping; n++) {
          const body = {
            events: Array.from({ length: 5 }, (_, j) => ({
              id: `w${w}-${n}-${j}`,
              action: 'fault.test',
              actor: { id: `writer-${w}` },
              details: { n, j },
            })),
          };
          for (;;) {
            const started = Date.now();
            const res = await postEvents(url, body);
            const ms = Date.now() - started;
            latencies.push({ ms, phase });
            if (res.status === 201) {
              for (const a of ((await res.json()) as { events: Ack[] }).events) acked.set(a.id, a);
              lastOkAt = Date.now();
              break;
            }
            const error = ((await res.json()) as { error: { code: string } }).error;
            failures.push({
              status: res.status,
              ms,
              retryAfter: res.headers.get('retry-after'),
              code: error.code,
              phase,
            });
            await sleep(200);
          }
        }
      };
      const writers = Array.from({ length: 4 }, (_, w) => writer(w));
      const ackedBefore = async (n: number) => {
        while (acked.size < n) await sleep(20);
      };

      await ackedBefore(100);
      // 1. PostgreSQL resets every connection and refuses new ones for 3 s.
      phase = 'refuse';
      proxy.refuse();
      await sleep(3000);
      const readyDuring = await fetch(`${url}/ready`);
      expect(readyDuring.status).toBe(503);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      phase = 'recover-1';
      const restored1 = Date.now();
      proxy.restore();
      await ackedBefore(acked.size + 100);
      const recovery1 = lastOkAt - restored1;

      // 2. The network path goes silent for 5 s: no reset, no answer.
      phase = 'blackhole';
      proxy.blackhole();
      await sleep(5000);
      const readyStarted = Date.now();
      const readyBlackhole = await fetch(`${url}/ready`);
      expect(readyBlackhole.status).toBe(503);
      expect(Date.now() - readyStarted).toBeLessThan(10_000);
      phase = 'recover-2';
      const restored2 = Date.now();
      proxy.restore();
      await ackedBefore(acked.size + 100);
      const recovery2 = lastOkAt - restored2;
      stopping = true;
      await Promise.all(writers);
      expect((await fetch(`${url}/ready`)).status).toBe(200);

      // Every refusal is a catalog 503 with Retry-After; none is a 500, none hangs.
      expect(failures.length).toBeGreaterThan(0);
      for (const f of failures) {
        expect(f.status, JSON.stringify(f)).toBe(503);
        expect(f.code).toBe('SERVICE_UNAVAILABLE');
        expect(Number(f.retryAfter)).toBeGreaterThan(0);
      }
      expect(failures.some((f) => f.phase === 'refuse')).toBe(true);
      expect(failures.some((f) => f.phase === 'blackhole')).toBe(true);
      // Prompt: connect timeout 1.5 s, statement timeout 2 s (+2 s client margin), on a busy 2-core machine.
      const slowest = Math.max(...latencies.map((l) => l.ms));
      expect(slowest, 'no request hangs').toBeLessThan(15_000);
      expect(recovery1, 'recovers by itself after a reset').toBeLessThan(15_000);
      expect(recovery2, 'recovers by itself after a partition').toBeLessThan(15_000);

      // Nothing acknowledged is lost; retries stored nothing twice; the log is intact.
      const stored = await readAll(url);
      const byId = new Map(stored.map((e) => [e.id, e]));
      expect(byId.size).toBe(stored.length);
      expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i));
      for (const a of acked.values()) expect(byId.get(a.id)?.hash, a.id).toBe(a.hash);
      // Retries of requests whose answer was lost stored nothing extra: exactly the acknowledged events.
      expect(stored.filter((e) => /^w\d+-/.test(e.id)).length).toBe(acked.size);
      await server.stop();
      server = null;
      const verify = await storage.verify();
      expect(verify.status, verify.output).toBe(0);
      console.info(
        `faults-postgres: ${acked.size} acked, ${failures.length} 503s (refuse ${failures.filter((f) => f.phase === 'refuse').length}, ` +
          `blackhole ${failures.filter((f) => f.phase === 'blackhole').length}), slowest answer ${slowest} ms, ` +
          `recovery ${recovery1} ms / ${recovery2} ms`,
      );
    } finally {
      await server?.kill();
      await proxy.close();
      await storage.cleanup();
    }
  }, 180_000);
});
