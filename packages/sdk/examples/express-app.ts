// Express audit middleware example (docs/sdk.md "Middleware"). Run by packages/sdk/test/examples.test.ts.
import { createClient } from '@logbook/sdk';
import { logbookAudit } from '@logbook/sdk/express';
import express from 'express';

export function buildExpressApp(logbookUrl: string, apiKey: string) {
  const batcher = createClient({ url: logbookUrl, apiKey }).events.batcher();
  const audit = logbookAudit({ batcher, actor: (req) => req.get('x-user-id') });
  const app = express();

  app.use(audit); // the one line: POST/PUT/PATCH/DELETE routes are recorded
  app.delete('/users/:userId', (_req, res) => {
    res.status(204).end();
  });
  app.get('/users/:userId', audit.route({ action: 'user.read' }), (_req, res) => {
    res.json({});
  });
  return { app, batcher };
}
