// The login lockout is one count per account for every process (issue 12): failed logins are kept in the store
// (login_failures), so with two real `logbook serve` processes on one PostgreSQL database, failures sent to either
// add up, a lockout reached through one holds on the other, and a restart forgets nothing (also on SQLite).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../../packages/server/test/support-backends.ts';
import { ADMIN_KEY, type ServeProcess, Storage, sleep } from './support-serve.ts';

const USERNAME = 'dana';
const PASSWORD = 'correct-horse-battery-9';
/** Lockout after 4 failures; after max(2, 4 / 2) = 2 failures every further attempt waits (1 s after the 3rd). */
const MAX_FAILURES = 4;
const ENV = {
  LOGBOOK_LOGIN_MAX_FAILURES: String(MAX_FAILURES),
  LOGBOOK_LOGIN_LOCKOUT_SECONDS: '600',
  // The per-address request limit is per process by design (SECURITY.md); it is off here so that only the lockout
  // decides.
  LOGBOOK_RATE_LIMIT_LOGIN_PER_MINUTE: '0',
};

async function login(
  server: ServeProcess,
  password: string,
): Promise<{ status: number; retryAfter: number }> {
  const res = await fetch(`${server.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: USERNAME, password }),
  });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: Number(res.headers.get('retry-after') ?? 0) };
}

describe.each(BACKENDS)('login lockout on %s', (backend) => {
  let storage: Storage;
  const servers: ServeProcess[] = [];

  beforeAll(async () => {
    storage = await Storage.create(backend);
    // PostgreSQL: two processes on one database. SQLite has one process per file; it shows the restart part only.
    servers.push(await storage.start(ENV));
    if (backend === 'postgres') servers.push(await storage.start(ENV));
    const created = await fetch(`${servers[0]!.url}/api/v1/users`, {
      method: 'POST',
      headers: { 'x-api-key': ADMIN_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ username: USERNAME, password: PASSWORD }),
    });
    expect(created.status).toBe(201);
  }, 180_000);
  afterAll(async () => {
    for (const server of servers) await server.stop();
    await storage?.cleanup();
  });

  it('failures add up across processes, the lockout holds on every process and survives a restart', async () => {
    const a = servers[0]!;
    const b = servers.at(-1)!;
    // Failures 1–3, spread over the processes: with per-process counters none would have more than two.
    expect((await login(a, 'wrong-1')).status).toBe(401);
    expect((await login(b, 'wrong-2')).status).toBe(401);
    expect((await login(a, 'wrong-3')).status).toBe(401);
    // After 3 the next attempt must wait 1 s, on either process: the count is shared.
    const slowed = await login(b, 'wrong-4');
    expect(slowed.status).toBe(429);
    expect(slowed.retryAfter).toBeGreaterThanOrEqual(1);
    await sleep(1_100);
    expect((await login(b, 'wrong-4')).status).toBe(401); // failure 4: locked out for the window
    // Even the right password is refused now, on both processes, without being checked.
    for (const server of [a, b]) {
      const locked = await login(server, PASSWORD);
      expect(locked.status).toBe(429);
      expect(locked.retryAfter).toBeGreaterThan(500);
    }
    // A restarted process still knows.
    await b.stop();
    const restarted = await storage.start(ENV);
    servers[servers.length - 1] = restarted;
    expect((await login(restarted, PASSWORD)).status).toBe(429);
  }, 120_000);
});
