// Group commit: appends from concurrent requests are gathered and written in one transaction (one fsync),
// and each caller is answered only after that commit. It must never acknowledge a write the store did not commit.
import { LogbookError } from '@logbook/protocol';
import type { AppendRequest, AppendResult, Store } from '../store/store.ts';

interface Pending {
  request: AppendRequest;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

export interface AppendQueueOptions {
  /** Events per transaction; larger batches amortise the fsync, smaller ones bound latency. */
  maxEventsPerCommit: number;
  /** Events waiting at most; beyond it new appends get 503 + Retry-After instead of growing memory. */
  maxPendingEvents: number;
}

export class AppendQueue {
  private pending: Pending[] = [];
  private pendingEvents = 0;
  private flushing: Promise<void> | null = null;
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly options: AppendQueueOptions = { maxEventsPerCommit: 20_000, maxPendingEvents: 200_000 },
  ) {}

  submit(request: AppendRequest): Promise<AppendResult> {
    if (this.pendingEvents + request.events.length > this.options.maxPendingEvents) {
      return Promise.reject(
        new LogbookError('SERVICE_UNAVAILABLE', 'The ingest queue is full; retry after a second.', {
          headers: { 'retry-after': '1' },
        }),
      );
    }
    return new Promise<AppendResult>((resolve, reject) => {
      this.pending.push({ request, resolve, reject });
      this.pendingEvents += request.events.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    // setImmediate lets every request already parsed in this turn of the event loop join the same commit.
    setImmediate(() => {
      this.scheduled = false;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.pending.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const group: Pending[] = [];
    let events = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (group.length > 0 && events + next.request.events.length > this.options.maxEventsPerCommit) break;
      group.push(this.pending.shift()!);
      events += next.request.events.length;
    }
    this.pendingEvents -= events;
    try {
      const results = await this.store.appendEvents(group.map((p) => p.request));
      for (const [i, p] of group.entries()) p.resolve(results[i]!);
    } catch (error) {
      for (const p of group) p.reject(error);
    }
  }

  /** Resolves once everything submitted so far is committed (used at shutdown). */
  async drain(): Promise<void> {
    while (this.flushing || this.scheduled || this.pending.length > 0) {
      await (this.flushing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }
}
