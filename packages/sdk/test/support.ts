// Test support for the SDK: the real app over a real store (SQLite file or PostgreSQL), listening on 127.0.0.1:0, so
// the SDK talks real HTTP through global fetch. Also a TCP-level proxy that can lose answers, to test retries.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeTestApp, type TestApp } from '../../server/test/helpers.ts';
import type { Backend } from '../../server/test/support-backends.ts';

export interface RunningServer {
  url: string;
  adminKey: string;
  /** The checkpoint verifier key string (obtained out of band: we started the server). */
  publicKey: string;
  test: TestApp;
  close(): Promise<void>;
}

export async function startServer(backend: Backend): Promise<RunningServer> {
  const test = await makeTestApp({ backend });
  await test.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = test.app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const publicKey = ((await (await fetch(`${url}/api/v1/integrity/public-key`)).json()) as { note: string })
    .note;
  return { url, adminKey: test.adminKey, publicKey, test, close: () => test.close() };
}

/**
 * An HTTP proxy in front of `target` that forwards every request, and for the first `dropFirst` requests matching
 * `match` lets the server process it fully but destroys the client's connection instead of answering: the server
 * committed, the client never heard. Counts what it saw.
 */
export async function lossyProxy(
  target: string,
  options: { dropFirst: number; match: (req: http.IncomingMessage) => boolean },
): Promise<{ url: string; seen: number; dropped: number; close(): Promise<void> }> {
  const state = { seen: 0, dropped: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const matches = options.match(req);
      if (matches) state.seen++;
      const headers = { ...req.headers } as Record<string, string>;
      delete headers.host;
      delete headers['content-length'];
      const upstream = await fetch(`${target}${req.url}`, {
        method: req.method ?? 'GET',
        headers,
        ...(chunks.length ? { body: Buffer.concat(chunks) } : {}),
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      if (matches && state.dropped < options.dropFirst) {
        state.dropped++;
        req.socket.destroy();
        return;
      }
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'text/plain',
      });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get seen() {
      return state.seen;
    },
    get dropped() {
      return state.dropped;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` until it returns true or `ms` pass. */
export async function eventually(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}
