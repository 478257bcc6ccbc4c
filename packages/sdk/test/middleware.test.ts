// The audit middleware in a small real Fastify app and a small real Express app, both listening, both recording
// through a batcher into a real Logbook server: actor, action, target, outcome, ip, user agent, request id.
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logbookAudit as expressAudit } from '../src/express.ts';
import { logbookAudit as fastifyAudit } from '../src/fastify.ts';
import { createClient, type LogbookClient } from '../src/index.ts';
import { type RunningServer, startServer } from './support.ts';

let server: RunningServer;
let logbook: LogbookClient;

beforeAll(async () => {
  server = await startServer('sqlite');
  logbook = createClient({ url: server.url, apiKey: server.adminKey });
});
afterAll(() => server?.close());

const byActor = (actor: string) => logbook.events.list({ actor, order: 'asc' }).toArray();

describe('Fastify plugin', () => {
  it('records chosen routes with actor, action, target, outcome and request context', async () => {
    const batcher = logbook.events.batcher({ flushIntervalMs: 60_000 });
    // The app's own request id is recorded; this app takes it from the caller's x-request-id header.
    const app = Fastify({ requestIdHeader: 'x-request-id' });
    await app.register(fastifyAudit, {
      batcher,
      actor: (req) => (req.headers['x-user'] as string | undefined) ?? null,
    });
    app.post('/invoices/:id/pay', async (req, reply) =>
      (req.params as { id: string }).id === 'bad' ? reply.status(402).send({ paid: false }) : { paid: true },
    );
    app.get('/invoices/:id', async () => ({ ok: true }));
    app.get(
      '/reports/:reportId',
      { config: { audit: { action: 'report.read', targetType: 'report' } } },
      async () => ({}),
    );
    app.delete('/health/:x', { config: { audit: false } }, async () => ({}));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    try {
      const headers = {
        'x-user': 'fastify-alice',
        'user-agent': 'sdk-test/1.0',
        'x-request-id': 'req-fastify-1',
      };
      expect((await fetch(`${base}/invoices/inv-7/pay`, { method: 'POST', headers })).status).toBe(200);
      expect((await fetch(`${base}/invoices/bad/pay`, { method: 'POST', headers })).status).toBe(402);
      await fetch(`${base}/invoices/inv-7`, { headers }); // GET: not chosen by default
      await fetch(`${base}/reports/r-1`, { headers }); // GET, but marked per route
      await fetch(`${base}/health/x`, { method: 'DELETE', headers }); // opted out
      await fetch(`${base}/nowhere`, { method: 'POST', headers }); // no route: nothing to record
      await batcher.flush();
      const events = await byActor('fastify-alice');
      expect(events.map((e) => [e.action, e.outcome, e.target])).toEqual([
        ['POST /invoices/:id/pay', 'success', { type: 'invoices', id: 'inv-7' }],
        ['POST /invoices/:id/pay', 'failure', { type: 'invoices', id: 'bad' }],
        ['report.read', 'success', { type: 'report', id: 'r-1' }],
      ]);
      expect(events[0]!.context).toEqual({
        ip: '127.0.0.1',
        userAgent: 'sdk-test/1.0',
        requestId: 'req-fastify-1',
      });
      expect(events[1]!.details).toMatchObject({
        method: 'POST',
        statusCode: 402,
        route: '/invoices/:id/pay',
      });
    } finally {
      await app.close();
      await batcher.close();
    }
  });
});

describe('Express middleware', () => {
  it('records chosen routes with actor, action, target, outcome and request context', async () => {
    const batcher = logbook.events.batcher({ flushIntervalMs: 60_000 });
    const audit = expressAudit({
      batcher,
      actor: (req) => ({ id: req.get('x-user') ?? 'anonymous', type: 'user' }),
      routes: ['POST /orders/:orderId', 'DELETE /orders/:orderId'],
    });
    const app = express();
    app.use(audit);
    app.post('/orders/:orderId', (_req, res) => {
      res.status(201).json({ ok: true });
    });
    app.delete('/orders/:orderId', (_req, res) => {
      res.status(403).json({ ok: false });
    });
    app.put('/orders/:orderId', (_req, res) => {
      res.json({}); // not in `routes`: not recorded
    });
    app.get('/orders/:orderId/lines/:line', audit.route({ action: 'order.line.read' }), (_req, res) => {
      res.json({});
    });
    const listener = app.listen(0, '127.0.0.1');
    await new Promise((r) => listener.once('listening', r));
    const base = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    try {
      const headers = {
        'x-user': 'express-bob',
        'user-agent': 'sdk-test/2.0',
        'x-request-id': 'req-express-1',
      };
      expect((await fetch(`${base}/orders/o-1`, { method: 'POST', headers })).status).toBe(201);
      expect((await fetch(`${base}/orders/o-1`, { method: 'DELETE', headers })).status).toBe(403);
      await fetch(`${base}/orders/o-1`, { method: 'PUT', headers });
      await fetch(`${base}/orders/o-2/lines/3`, { headers });
      await batcher.flush();
      const events = await byActor('express-bob');
      expect(events.map((e) => [e.action, e.outcome, e.target])).toEqual([
        ['POST /orders/:orderId', 'success', { type: 'orders', id: 'o-1' }],
        ['DELETE /orders/:orderId', 'failure', { type: 'orders', id: 'o-1' }],
        ['order.line.read', 'success', { type: 'lines', id: '3' }],
      ]);
      expect(events[0]!.actor).toEqual({ id: 'express-bob', type: 'user' });
      expect(events[0]!.context).toMatchObject({ userAgent: 'sdk-test/2.0', requestId: 'req-express-1' });
      expect(events[0]!.context?.ip).toMatch(/127\.0\.0\.1/);
    } finally {
      await new Promise((r) => listener.close(r));
      await batcher.close();
    }
  });
});
