// The SQLite writer thread: audit-event and system-log appends run on their own connection in a worker, so the
// inserts, index and full-text work and the fsync of each group commit leave the event loop (docs/storage.md). It
// must never answer an append before its transaction has committed; a failed append rejects with the driver's code.
import { Worker } from 'node:worker_threads';
import type { PreparedLogEntry } from '../../domain/log-entry.ts';
import type { AppendRequest, AppendResult } from '../store.ts';
import type { ConnectionOptions } from './connection.ts';

type WriterWork =
  | { kind: 'events'; requests: AppendRequest[] }
  | { kind: 'logs'; entries: PreparedLogEntry[] }
  | { kind: 'statement'; statement: WriteStatement }
  | { kind: 'close' };

/** One small write (a checkpoint row, a key's last use) the thread runs in its own transaction. */
export interface WriteStatement {
  sql: string;
  params: (string | number | bigint | Uint8Array | null)[];
}

export type WriterJob = WriterWork & { id: number };

export type WriterReply =
  | { id: number; ok: true; results?: AppendResult[] }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

export interface WriterData {
  file: string;
  connection: ConnectionOptions;
}

/** The worker's entry is TypeScript: it registers the same loader (tsx) the server runs under, then loads it. */
function bootstrap(): string {
  const loader = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./event-writer-thread.ts', import.meta.url).href;
  return `import(${JSON.stringify(loader)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); })`;
}

/** Rebuilds a driver error so store/failures.ts classifies it as it would on the main thread (by its code). */
function rebuild(error: { name: string; message: string; code?: string }): Error {
  return Object.assign(new Error(error.message), { name: error.name, code: error.code });
}

export class EventWriterThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(reply: WriterReply): void; reject(e: Error): void }>();
  private nextId = 0;
  private failure: Error | null = null;

  constructor(data: WriterData) {
    this.worker = new Worker(bootstrap(), { eval: true, workerData: data });
    this.worker.on('message', (reply: WriterReply) => {
      const waiter = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      waiter?.resolve(reply);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`the SQLite writer thread exited (code ${code})`)));
  }

  /** An error or exit of the thread fails what is in flight: nothing unanswered is reported as stored. */
  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }

  private run(work: WriterWork): Promise<WriterReply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...work, id } satisfies WriterJob);
    });
  }

  async appendEvents(requests: AppendRequest[]): Promise<AppendResult[]> {
    const reply = await this.run({ kind: 'events', requests });
    if (!reply.ok) throw rebuild(reply.error);
    return reply.results ?? [];
  }

  async appendLogs(entries: PreparedLogEntry[]): Promise<void> {
    const reply = await this.run({ kind: 'logs', entries });
    if (!reply.ok) throw rebuild(reply.error);
  }

  /**
   * Runs one write statement on the thread's connection, after the appends sent before it. A write on the main
   * connection would wait for the thread's transaction inside SQLite's busy handler, which sleeps on the event loop
   * (measured in the soak: a checkpoint row stalled every request for 69 ms).
   */
  async write(statement: WriteStatement): Promise<void> {
    const reply = await this.run({ kind: 'statement', statement });
    if (!reply.ok) throw rebuild(reply.error);
  }

  /** Finishes what was sent, closes the thread's connection and ends the thread. */
  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    await this.run({ kind: 'close' }).catch(() => {});
    await exited;
  }
}
