// Fastify audit plugin example (docs/sdk.md "Middleware"). Run by packages/sdk/test/examples.test.ts.
import { createClient } from '@logbook/sdk';
import { logbookAudit } from '@logbook/sdk/fastify';
import Fastify from 'fastify';

export async function buildFastifyApp(logbookUrl: string, apiKey: string) {
  const batcher = createClient({ url: logbookUrl, apiKey }).events.batcher();
  const app = Fastify();

  // The one line: every POST/PUT/PATCH/DELETE route is recorded, actor taken from the request.
  await app.register(logbookAudit, {
    batcher,
    actor: (req) => req.headers['x-user-id'] as string | undefined,
  });

  app.post('/invoices/:id/pay', async () => ({ paid: true })); // action "POST /invoices/:id/pay", target invoices/:id
  app.get('/invoices/:id', { config: { audit: { action: 'invoice.read' } } }, async () => ({})); // a read, opted in
  app.addHook('onClose', () => batcher.close());
  return { app, batcher };
}
