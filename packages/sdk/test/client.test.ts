// The typed client against a real listening server on each backend: writes, reads, pagination over many pages,
// typed errors, logs, admin calls, live tails, and verifyEvent (including tampered answers, which must fail).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../../server/test/support-backends.ts';
import {
  createClient,
  LogbookApiError,
  type LogbookClient,
  LogbookConnectionError,
  LogbookValidationError,
  LogbookVerificationError,
} from '../src/index.ts';
import { type RunningServer, startServer } from './support.ts';

describe.each(BACKENDS)('SDK client (%s)', (backend) => {
  let server: RunningServer;
  let client: LogbookClient;

  beforeAll(async () => {
    server = await startServer(backend);
    client = createClient({ url: server.url, apiKey: server.adminKey, publicKey: server.publicKey });
  });
  afterAll(() => server?.close());

  it('creates events (one and many), reads them back, and a retried create is idempotent', async () => {
    const one = await client.events.create({
      action: 'invoice.pay',
      actor: { id: 'alice' },
      target: { type: 'invoice', id: 'inv-1' },
    });
    expect(one.duplicate).toBe(false);
    expect(one.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    const got = await client.events.get(one.id);
    expect(got).toMatchObject({
      id: one.id,
      action: 'invoice.pay',
      actor: { id: 'alice' },
      seq: one.seq,
      hash: one.hash,
    });

    const many = await client.events.create([
      { action: 'user.login', actor: { id: 'bob' } },
      {
        id: 'client-chosen-1',
        action: 'user.logout',
        actor: { id: 'bob' },
        occurredAt: '2026-01-02T03:04:05.000Z',
      },
    ]);
    expect(many.map((e) => e.id)[1]).toBe('client-chosen-1');
    // The same id with the same content (what a retry sends) is answered as a duplicate, not stored twice.
    const again = await client.events.create({
      id: 'client-chosen-1',
      action: 'user.logout',
      actor: { id: 'bob' },
      occurredAt: '2026-01-02T03:04:05.000Z',
    });
    expect(again).toMatchObject({ id: 'client-chosen-1', duplicate: true, seq: many[1]!.seq });
  });

  it('iterates over many pages with the async iterator, and resumes from a saved cursor', async () => {
    const actor = { id: `pager-${backend}` };
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const batch = Array.from({ length: 50 }, (_, j) => ({
        action: 'page.test',
        actor,
        details: { n: i * 50 + j },
      }));
      ids.push(...(await client.events.create(batch)).map((e) => e.id));
    }
    const seen: string[] = [];
    for await (const event of client.events.list({ actor: actor.id, limit: 40, order: 'asc' }))
      seen.push(event.id);
    expect(seen).toEqual(ids);

    const pager = client.events.list({ actor: actor.id, limit: 100, order: 'asc' });
    const pages = [];
    for await (const page of pager.pages()) {
      pages.push(page.data.length);
      if (pages.length === 1) break;
    }
    const rest = await client.events
      .list({ actor: actor.id, limit: 100, order: 'asc', cursor: pager.cursor! })
      .toArray();
    expect(pages).toEqual([100]);
    expect(rest.map((e) => e.id)).toEqual(ids.slice(100));
    expect((await client.events.page({ actor: actor.id, includeTotal: true, limit: 1 })).total).toBe(250);
    const stats = await client.events.stats();
    expect(stats.byAction['page.test']).toBe(250);
  });

  it('throws typed errors with the server catalog code, status, request id and issues', async () => {
    const missing = await client.events.get('no-such-event').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(LogbookApiError);
    expect(missing).toMatchObject({ code: 'NOT_FOUND', status: 404 });
    expect((missing as LogbookApiError).requestId).toBeTruthy();

    const invalid = await client.events.page({ limit: 5000 }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect((invalid as LogbookApiError).issues?.[0]?.field).toContain('limit');

    const anonymous = createClient({ url: server.url, apiKey: 'lbk_wrong_key_000000000000000000' });
    await expect(anonymous.events.page()).rejects.toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });

    // Refused locally, before any request: the event does not match the protocol schema.
    await expect(client.events.create({ action: '', actor: { id: 'x' } })).rejects.toBeInstanceOf(
      LogbookValidationError,
    );

    const down = createClient({ url: 'http://127.0.0.1:9', retry: { retries: 1, baseDelayMs: 1 } });
    await expect(down.events.page()).rejects.toBeInstanceOf(LogbookConnectionError);
  });

  it('writes, lists, gets and counts system logs', async () => {
    const written = await client.logs.create([
      { level: 'error', service: 'billing', message: 'payment failed for inv-9' },
      { level: 'INFO', service: 'billing', message: 'payment ok' },
    ]);
    expect(written.count).toBe(2);
    const errors = await client.logs.list({ service: 'billing', minLevel: 'WARN' }).toArray();
    expect(errors.map((l) => l.message)).toEqual(['payment failed for inv-9']);
    expect((await client.logs.get(written.logs[1]!.id)).level).toBe('INFO');
    expect((await client.logs.stats({ service: 'billing' })).total).toBe(2);
  });

  it('manages keys and users', async () => {
    const key = await client.keys.create({ name: 'sdk-test', scopes: ['audit:read'] });
    expect(key.key).toBeTruthy();
    const reader = createClient({ url: server.url, apiKey: key.key });
    await expect(reader.events.page({ limit: 1 })).resolves.toHaveProperty('data');
    await expect(reader.events.create({ action: 'x', actor: { id: 'y' } })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    expect((await client.keys.list()).map((k) => k.id)).toContain(key.id);
    expect((await client.keys.revoke(key.id)).revokedAt).not.toBeNull();
    await expect(reader.events.page()).rejects.toMatchObject({ status: 401 });

    const user = await client.users.create({
      username: `carol-${backend}`,
      password: 'correct horse battery',
    });
    const login = await client.auth.login(user.username, 'correct horse battery');
    expect(
      (await createClient({ url: server.url, apiKey: login.token }).events.page({ limit: 1 })).data,
    ).toBeDefined();
    expect((await client.users.disable(user.id)).disabledAt).not.toBeNull();
    expect((await client.users.enable(user.id)).disabledAt).toBeNull();
    expect((await client.users.list()).some((u) => u.id === user.id)).toBe(true);
  });

  it('tails events: live ones as they come, and a bounded replay with follow: false', async () => {
    const controller = new AbortController();
    const received: string[] = [];
    const reading = (async () => {
      for await (const event of client.events.tail({ actor: 'tailer' }, { signal: controller.signal })) {
        received.push(event.action);
        if (received.length === 2) controller.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    const first = await client.events.create({ action: 'tail.one', actor: { id: 'tailer' } });
    await client.events.create({ action: 'ignored', actor: { id: 'someone-else' } });
    await client.events.create({ action: 'tail.two', actor: { id: 'tailer' } });
    await reading;
    expect(received).toEqual(['tail.one', 'tail.two']);

    const replay = [];
    for await (const event of client.events.tail({ lastEventId: String(first.seq - 1), follow: false }))
      replay.push(event);
    expect(replay.map((e) => e.action)).toEqual(['tail.one', 'ignored', 'tail.two']);
    expect(replay[0]!.tailId).toBe(String(first.seq));
  });

  it('verifyEvent proves an event against the pinned key, and rejects tampered answers', async () => {
    const appended = await client.events.create({
      action: 'proof.me',
      actor: { id: 'dave' },
      details: { amount: 10 },
    });
    const result = await client.integrity.verifyEvent(appended.id);
    expect(result).toMatchObject({
      verified: true,
      id: appended.id,
      seq: appended.seq,
      leafHash: appended.hash,
    });
    expect(result.treeSize).toBeGreaterThan(appended.seq);
    expect(result.proved).toContain('signed by');

    /** A client whose answers pass through `edit` (a man in the middle, or a lying server). */
    const tampered = (
      edit: (path: string, body: Record<string, unknown>) => void,
      publicKey = server.publicKey,
    ) =>
      createClient({
        url: server.url,
        apiKey: server.adminKey,
        publicKey,
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          const body = (await response.json()) as Record<string, unknown>;
          edit(new URL(String(input)).pathname, body);
          return new Response(JSON.stringify(body), { status: response.status, headers: response.headers });
        },
      });
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] = (bytes[0] ?? 0) ^ 1;
      return bytes.toString('base64');
    };
    // Make the tree big enough that the proof has hashes to tamper with.
    await client.events.create([
      { action: 'pad', actor: { id: 'p' } },
      { action: 'pad', actor: { id: 'p' } },
    ]);
    const proofTampered = tampered((path, body) => {
      if (path.endsWith('/proof/inclusion'))
        body.proof = (body.proof as string[]).map((h, i) => (i === 0 ? flip(h) : h));
    });
    await expect(proofTampered.integrity.verifyEvent(appended.id)).rejects.toMatchObject({
      reason: 'inclusion-proof',
    });

    const contentTampered = tampered((path, body) => {
      if (path.includes('/events/')) body.details = { amount: 1000 };
    });
    await expect(contentTampered.integrity.verifyEvent(appended.id)).rejects.toMatchObject({
      reason: 'event-hash-mismatch',
    });

    const otherKey = (await import('@logbook/protocol')).generateSigningKey('logbook.test');
    const { verifierKeyString } = await import('@logbook/protocol');
    const wrongKey = tampered(() => {}, verifierKeyString(otherKey.name, otherKey.publicKey));
    await expect(wrongKey.integrity.verifyEvent(appended.id)).rejects.toMatchObject({
      reason: 'checkpoint-signature',
    });

    const unpinned = createClient({ url: server.url, apiKey: server.adminKey });
    const error = await unpinned.integrity.verifyEvent(appended.id).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogbookVerificationError);
    expect(error).toMatchObject({ reason: 'no-public-key' });
  });
});
