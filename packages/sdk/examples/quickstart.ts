// SDK quick start (docs/sdk.md): record, batch, search and verify audit events. Run by packages/sdk/test/examples.test.ts.
import { createClient } from '@logbook/sdk';
import { flushOnExit } from '@logbook/sdk/node';

export async function quickstart(url: string, apiKey: string, publicKey: string) {
  // publicKey: the server's verifier key string, pinned out of band (its data dir's checkpoint-signing.pub).
  const logbook = createClient({ url, apiKey, publicKey });

  // One event, stored durably before the promise resolves (retried safely: it carries a client id).
  const paid = await logbook.events.create({
    action: 'invoice.pay',
    actor: { id: 'user-42', name: 'Alice', type: 'user' },
    target: { type: 'invoice', id: 'inv-1001' },
    changes: { before: { status: 'open' }, after: { status: 'paid' } },
    context: { ip: '203.0.113.7' },
  });

  // Many events, in the background: batched by size and time, retried, flushed at exit.
  const batcher = logbook.events.batcher({ maxBatchSize: 500, flushIntervalMs: 1000 });
  flushOnExit(batcher);
  for (let i = 0; i < 3; i++) batcher.add({ action: 'report.view', actor: { id: 'user-42' } });
  await batcher.flush();

  // Search: an async iterator over every page.
  const seen: string[] = [];
  for await (const event of logbook.events.list({ actor: 'user-42', order: 'asc' })) seen.push(event.action);

  // Prove the event is in the signed log, checked locally against the pinned key.
  const proof = await logbook.integrity.verifyEvent(paid.id);
  await batcher.close();
  return { seen, proved: proof.proved };
}
