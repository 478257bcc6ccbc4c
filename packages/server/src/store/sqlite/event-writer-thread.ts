// Worker entry of the SQLite writer thread (event-writer.ts): one connection, one transaction per job (an append or
// one small write), in the order the jobs arrive. It must never reply before the transaction has committed.
import { parentPort, workerData } from 'node:worker_threads';
import '../../domain/hashing.ts';
import { openConnection } from './connection.ts';
import { EventAppender } from './event-append.ts';
import type { WriterData, WriterJob, WriterReply } from './event-writer.ts';
import { SqliteLogs } from './logs.ts';
import { StatementCache } from './statements.ts';

const data = workerData as WriterData;
const db = openConnection(data.file, data.connection);
const events = new EventAppender(db);
const logs = new SqliteLogs(db);
const statements = new StatementCache(db);
const port = parentPort!;

port.on('message', (job: WriterJob) => {
  let reply: WriterReply;
  try {
    if (job.kind === 'close') {
      db.close();
      port.postMessage({ id: job.id, ok: true } satisfies WriterReply);
      port.close();
      return;
    }
    if (job.kind === 'events') {
      const results = db.transaction(() => events.appendInTransaction(job.requests)).immediate();
      reply = { id: job.id, ok: true, results };
    } else if (job.kind === 'logs') {
      logs.append(job.entries);
      reply = { id: job.id, ok: true };
    } else {
      // Buffers arrive as plain Uint8Arrays (structured clone); the driver binds Buffers.
      const params = job.statement.params.map((p) => (p instanceof Uint8Array ? Buffer.from(p) : p));
      statements.get(job.statement.sql).run(...params);
      reply = { id: job.id, ok: true };
    }
  } catch (error) {
    const { name, message, code } = error as { name?: string; message?: string; code?: unknown };
    reply = {
      id: job.id,
      ok: false,
      error: {
        name: name ?? 'Error',
        message: message ?? String(error),
        ...(typeof code === 'string' ? { code } : {}),
      },
    };
  }
  port.postMessage(reply);
});
