// The examples in docs/sdk.md are real code: packages/sdk/examples/*.ts are run here against a real server, and the
// docs must quote each example file exactly, so the documentation cannot drift from what is tested.
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExpressApp } from '../examples/express-app.ts';
import { buildFastifyApp } from '../examples/fastify-app.ts';
import { quickstart } from '../examples/quickstart.ts';
import { createClient } from '../src/index.ts';
import { type RunningServer, startServer } from './support.ts';

const EXAMPLES = path.join(import.meta.dirname, '../examples');
const DOC = path.join(import.meta.dirname, '../../../docs/sdk.md');

let server: RunningServer;
beforeAll(async () => {
  server = await startServer('sqlite');
});
afterAll(() => server?.close());

describe('SDK examples', () => {
  it('docs/sdk.md quotes every example file verbatim', () => {
    const doc = fs.readFileSync(DOC, 'utf8');
    for (const file of fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts'))) {
      const code = fs.readFileSync(path.join(EXAMPLES, file), 'utf8').trim();
      expect(doc, `docs/sdk.md must include examples/${file}`).toContain(code);
    }
  });

  it('quickstart records, batches, lists and verifies', async () => {
    const result = await quickstart(server.url, server.adminKey, server.publicKey);
    expect(result.seen).toEqual(['invoice.pay', 'report.view', 'report.view', 'report.view']);
    expect(result.proved).toContain('signed by');
  });

  it('the Fastify and Express examples record their routes', async () => {
    const logbook = createClient({ url: server.url, apiKey: server.adminKey });
    const fastify = await buildFastifyApp(server.url, server.adminKey);
    await fastify.app.listen({ port: 0, host: '127.0.0.1' });
    const fastifyUrl = `http://127.0.0.1:${(fastify.app.server.address() as AddressInfo).port}`;
    await fetch(`${fastifyUrl}/invoices/inv-5/pay`, {
      method: 'POST',
      headers: { 'x-user-id': 'ex-fastify' },
    });
    await fetch(`${fastifyUrl}/invoices/inv-5`, { headers: { 'x-user-id': 'ex-fastify' } });
    await fastify.app.close();

    const { app, batcher } = buildExpressApp(server.url, server.adminKey);
    const listener = app.listen(0, '127.0.0.1');
    await new Promise((r) => listener.once('listening', r));
    const expressUrl = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    await fetch(`${expressUrl}/users/u-9`, { method: 'DELETE', headers: { 'x-user-id': 'ex-express' } });
    await fetch(`${expressUrl}/users/u-9`, { headers: { 'x-user-id': 'ex-express' } });
    await new Promise((r) => listener.close(r));
    await batcher.close();

    const actions = async (actor: string) =>
      (await logbook.events.list({ actor, order: 'asc' }).toArray()).map((e) => [e.action, e.target?.id]);
    expect(await actions('ex-fastify')).toEqual([
      ['POST /invoices/:id/pay', 'inv-5'],
      ['invoice.read', 'inv-5'],
    ]);
    expect(await actions('ex-express')).toEqual([
      ['DELETE /users/:userId', 'u-9'],
      ['user.read', 'u-9'],
    ]);
  });
});
