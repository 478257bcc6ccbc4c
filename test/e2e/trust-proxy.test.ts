// LOGBOOK_TRUST_PROXY over real HTTP against a real `logbook serve`: the client address used by the per-address rate
// limit, the login lockout and the audit `ip` field comes from X-Forwarded-For only when the peer is a trusted proxy.
// Off (the default) or with a trust list that does not include the peer, a spoofed header changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, ServeProcess, Storage } from './support-serve.ts';

const PER_IP = 4;

/** A read with a given X-Forwarded-For; its status. */
async function list(url: string, forwardedFor?: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/events?limit=1`, {
    headers: { 'x-api-key': ADMIN_KEY, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) },
  });
  await res.arrayBuffer();
  return res.status;
}

/** A failed login sent with a given X-Forwarded-For, then the `ip` its audit event recorded. */
async function failedLoginIp(
  url: string,
  username: string,
  forwardedFor: string,
): Promise<string | undefined> {
  const res = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ username, password: 'wrong-password-123' }),
  });
  expect(res.status).toBe(401);
  await res.arrayBuffer();
  const found = await fetch(`${url}/api/v1/events?action=logbook.auth.login&targetId=${username}&limit=1`, {
    headers: { 'x-api-key': ADMIN_KEY, 'x-forwarded-for': forwardedFor },
  });
  const body = (await found.json()) as { data: { context?: { ip?: string } }[] };
  expect(body.data).toHaveLength(1);
  return body.data[0]!.context?.ip;
}

describe.each([
  { setting: undefined, trusted: false },
  { setting: '10.0.0.0/8,192.168.0.0/16', trusted: false },
  { setting: 'loopback', trusted: true },
  { setting: '10.0.0.0/8, 127.0.0.1', trusted: true },
])('LOGBOOK_TRUST_PROXY=$setting', ({ setting, trusted }) => {
  let storage: Storage;
  let server: ServeProcess;

  beforeAll(async () => {
    storage = await Storage.create('sqlite');
    server = await storage.start({
      LOGBOOK_RATE_LIMIT_PER_IP_PER_MINUTE: String(PER_IP * 4),
      ...(setting !== undefined ? { LOGBOOK_TRUST_PROXY: setting } : {}),
    });
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await storage?.cleanup();
  });

  it(`the audit ip of a login is ${trusted ? 'the forwarded address' : 'the socket peer, whatever the header says'}`, async () => {
    expect(await failedLoginIp(server.url, 'mallory', '203.0.113.7')).toBe(
      trusted ? '203.0.113.7' : '127.0.0.1',
    );
    // The client's address is the hop the trusted proxy appended last; what the client sent before it is not trusted.
    if (trusted)
      expect(await failedLoginIp(server.url, 'mallory2', '198.51.100.1, 203.0.113.8')).toBe('203.0.113.8');
  });

  it(`per-address limits ${trusted ? 'count each forwarded address' : 'cannot be escaped by rotating the header'}`, async () => {
    // Fresh minute budget: the previous test spent a few requests of 127.0.0.1 (and of the forwarded addresses).
    const statuses: number[] = [];
    for (let i = 0; i < PER_IP * 4 + 2; i++) statuses.push(await list(server.url, `198.51.100.${100 + i}`));
    if (trusted) {
      expect(statuses.every((s) => s === 200)).toBe(true);
      // One forwarded address alone still hits its own limit.
      const same: number[] = [];
      for (let i = 0; i < PER_IP * 4 + 1; i++) same.push(await list(server.url, '198.51.100.50'));
      expect(same.at(-1)).toBe(429);
      expect(await list(server.url, '198.51.100.51')).toBe(200);
    } else {
      expect(statuses).toContain(429);
      expect(statuses.at(-1)).toBe(429);
    }
  });
});

describe('LOGBOOK_TRUST_PROXY refuses settings that let a client pick its address, and typos', () => {
  it.each(['true', '*', '1', 'not-an-address', '10.0.0.0/33'])(
    '%s: serve exits with a message naming the setting',
    async (value) => {
      const storage = await Storage.create('sqlite');
      try {
        const server = new ServeProcess(storage.env({ LOGBOOK_PORT: '0', LOGBOOK_TRUST_PROXY: value }));
        const { code } = await server.exited;
        expect(code).not.toBe(0);
        expect(server.stderr + server.stdout).toContain('LOGBOOK_TRUST_PROXY');
      } finally {
        await storage.cleanup();
      }
    },
  );
});
