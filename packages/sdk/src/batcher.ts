// The background event batcher: queues events, sends them in batches when a batch is full or a timer fires, and
// retries with backoff. Every event gets a client id when queued, so a retry after a lost answer is idempotent on the
// server (answered `duplicate: true`, never stored twice). Memory is bounded: at most `maxQueueSize` events are held
// (queued or in flight); past that `add` throws LogbookQueueFullError and the new event is NOT queued (the events
// already accepted are never dropped to make room). Browser-safe; Node exit hooks live in node.ts.
import { type AppendEventsResponse, EVENT_LIMITS, type EventInput } from '@logbook/protocol';
import { LogbookApiError, LogbookClosedError, LogbookQueueFullError } from './errors.ts';
import { backoffDelay, isRetryable, type RetryPolicy, sleep, type Transport } from './transport.ts';
import { prepareEventInput } from './validate.ts';

export interface BatcherOptions {
  /** Events per request; a full batch is sent at once (default 500, at most 10 000). */
  maxBatchSize?: number;
  /** A partial batch is sent this long after its first event was queued (default 1000 ms). */
  flushIntervalMs?: number;
  /** Events held at most, queued plus in flight; beyond it add() throws LogbookQueueFullError (default 10 000). */
  maxQueueSize?: number;
  /** Retries per batch for network errors, 429 and 5xx (default: 10 retries, backoff up to 30 s). */
  retry?: RetryPolicy;
  /**
   * Called when events are given up: a batch the server refused (4xx), or one still failing after every retry.
   * Default: console.error. The events passed are exactly the ones not stored.
   */
  onError?: (error: unknown, events: EventInput[]) => void;
}

export interface BatcherStats {
  /** Events the server acknowledged (including duplicates). */
  sent: number;
  /** Acknowledged as already stored: a retry whose first answer was lost. */
  duplicates: number;
  /** Events given up (passed to onError). */
  failed: number;
  /** Retried requests. */
  retries: number;
  /** add() calls refused because the queue was full. */
  rejected: number;
}

/** Which events of a batch a 400 names (`body/events/3/...`), so the others can still be sent. */
function rejectedIndexes(error: LogbookApiError, size: number): Set<number> | null {
  if (error.code !== 'VALIDATION_FAILED' || !error.issues?.length) return null;
  const indexes = new Set<number>();
  for (const issue of error.issues) {
    const match = /^body\/events\/(\d+)(\/|$)/.exec(issue.field);
    if (!match) return null;
    const index = Number(match[1]);
    if (index >= size) return null;
    indexes.add(index);
  }
  return indexes.size < size ? indexes : null;
}

export class EventBatcher {
  private readonly queue: (EventInput & { id: string })[] = [];
  private readonly maxBatchSize: number;
  private readonly flushIntervalMs: number;
  private readonly maxQueueSize: number;
  private readonly retry: Required<RetryPolicy>;
  private readonly onError: (error: unknown, events: EventInput[]) => void;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private draining: Promise<void> | null = null;
  private closed = false;
  readonly stats: BatcherStats = { sent: 0, duplicates: 0, failed: 0, retries: 0, rejected: 0 };

  constructor(
    private readonly transport: Transport,
    options: BatcherOptions = {},
  ) {
    this.maxBatchSize = Math.min(options.maxBatchSize ?? 500, EVENT_LIMITS.maxEventsPerRequest);
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.maxQueueSize = Math.max(options.maxQueueSize ?? 10_000, this.maxBatchSize);
    this.retry = {
      retries: options.retry?.retries ?? 10,
      baseDelayMs: options.retry?.baseDelayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
    };
    this.onError =
      options.onError ??
      ((error, events) =>
        console.error(`logbook: ${events.length} audit event(s) not stored: ${(error as Error).message}`));
  }

  /** Events held (queued or in flight). */
  get pending(): number {
    return this.queue.length;
  }

  /**
   * Queues one event and returns its id (client-generated unless given). Throws LogbookValidationError for an
   * invalid event, LogbookQueueFullError when full, LogbookClosedError after close(). Never waits for the network.
   */
  add(event: EventInput): string {
    if (this.closed) throw new LogbookClosedError();
    if (this.queue.length >= this.maxQueueSize) {
      this.stats.rejected++;
      throw new LogbookQueueFullError(this.maxQueueSize);
    }
    const prepared = prepareEventInput(event);
    this.queue.push(prepared);
    if (this.queue.length >= this.maxBatchSize) void this.drain();
    else if (this.timer === null && this.draining === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        void this.drain();
      }, this.flushIntervalMs);
      // In Node, a pending flush timer must not keep the process alive (flushOnExit sends what is left).
      (this.timer as { unref?: () => void }).unref?.();
    }
    return prepared.id;
  }

  /** Sends everything queued so far; resolves when each event was acknowledged or given up (onError). */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.draining) await this.drain();
  }

  /** Stops taking events, then flushes. Safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private drain(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.draining ??= (async () => {
      try {
        while (this.queue.length > 0) {
          const batch = this.queue.slice(0, this.maxBatchSize);
          await this.sendBatch(batch);
          // The batch stays in the queue while in flight, so maxQueueSize bounds everything held.
          this.queue.splice(0, batch.length);
        }
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  /** Sends one batch until acknowledged or given up. Never throws: failures go to onError. */
  private async sendBatch(batch: EventInput[]): Promise<void> {
    let events = batch;
    for (let attempt = 0; ; attempt++) {
      try {
        const answer = await this.transport.request<AppendEventsResponse>('POST', '/api/v1/events', {
          body: { events },
        });
        this.stats.sent += answer.events.length;
        this.stats.duplicates += answer.events.filter((e) => e.duplicate).length;
        return;
      } catch (error) {
        if (error instanceof LogbookApiError) {
          const bad = rejectedIndexes(error, events.length);
          if (bad) {
            // Only some events are invalid: give those up, send the rest.
            this.giveUp(
              error,
              events.filter((_, i) => bad.has(i)),
            );
            events = events.filter((_, i) => !bad.has(i));
            attempt = -1;
            continue;
          }
        }
        if (!isRetryable(error) || attempt >= this.retry.retries) {
          this.giveUp(error, events);
          return;
        }
        this.stats.retries++;
        const after = error instanceof LogbookApiError ? error.retryAfterSeconds : undefined;
        await sleep(backoffDelay(attempt, this.retry, after));
      }
    }
  }

  private giveUp(error: unknown, events: EventInput[]): void {
    this.stats.failed += events.length;
    try {
      this.onError(error, events);
    } catch {
      // A throwing callback must not stop the batcher.
    }
  }
}
