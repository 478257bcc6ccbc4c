// Smoke test: one event written over HTTP and read back by id, on every backend. Never more than that: the full
// events API is in events-api.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

describe.each(BACKENDS)('events API smoke on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => t.close());

  it('writes an event and reads it back by id', async () => {
    const post = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: sampleEvent(),
    });
    expect(post.statusCode).toBe(201);
    const [written] = post.json().events;
    expect(written.seq).toBe(0);
    expect(written.hash).toMatch(/^[0-9a-f]{64}$/);
    const get = await t.app.inject({ method: 'GET', url: `/api/v1/events/${written.id}`, headers: t.auth });
    expect(get.statusCode).toBe(200);
    expect(get.json()).toMatchObject({
      id: written.id,
      action: 'invoice.pay',
      actor: { id: 'alice' },
      seq: 0,
      hash: written.hash,
    });
  });
});
