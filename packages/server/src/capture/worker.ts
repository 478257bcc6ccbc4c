// The capture worker: moves outbox rows of an application database into Logbook as audit events, exactly once.
// A row is deleted only in the transaction that follows Logbook's durable acknowledgement; it never drops a row unread.
import type { EventInput } from '@logbook/protocol';
import pg from 'pg';
import { databaseNameOf } from './admin.ts';
import { type CaptureEventOptions, eventFromOutboxRow, type OutboxRow } from './events.ts';
import { captureTable, deleteBatchSql, insertRejectedSql, NOTIFY_CHANNEL, selectBatchSql } from './sql.ts';

/**
 * Where captured events go: Logbook in this process (the events service) or over HTTP (the SDK). `append` resolves
 * only once Logbook has durably stored every event; it throws CaptureRejectedError when Logbook refused them for
 * good (the same request would be refused again), and anything else for a failure a retry may cure.
 */
export interface CaptureSink {
  append(events: EventInput[]): Promise<{ duplicates: number }>;
}

/** Logbook refused the events for good (invalid, conflicting id): retrying would not help. */
export class CaptureRejectedError extends Error {
  override name = 'CaptureRejectedError';
}

/** Logbook error codes a retry cannot cure: the events themselves are wrong (or their ids hold other content). */
export const PERMANENT_REFUSALS = ['VALIDATION_FAILED', 'IDEMPOTENCY_CONFLICT', 'PAYLOAD_TOO_LARGE'] as const;

/** The capture schema is missing in the source database (install was not run, or it was uninstalled). */
export class CaptureNotInstalledError extends Error {
  override name = 'CaptureNotInstalledError';
}

export const CAPTURE_LOG_LEVELS = ['info', 'warn', 'error'] as const;
export type CaptureLog = (
  level: (typeof CAPTURE_LOG_LEVELS)[number],
  message: string,
  error?: unknown,
) => void;

export interface CaptureWorkerOptions {
  /** postgres:// URL of the application database (not Logbook's store). */
  sourceUrl: string;
  sink: CaptureSink;
  /** The Logbook tenant the events go to; unset: the credential's tenant (HTTP), else "default". */
  tenant?: string | undefined;
  /** Names the source in every event (details.capture.source); default: the database name in the URL. */
  sourceName?: string;
  /** Outbox rows per batch (default 1000; at most 10,000, the API's events per request). */
  batchSize?: number;
  /** A batch is cut short once its events reach this many bytes of JSON (default 4 MiB). */
  maxBatchBytes?: number;
  /** How often an idle worker looks for new rows (default 500 ms); --notify triggers wake it sooner. */
  pollIntervalMs?: number;
  /** Longest wait between retries after a failure (default 30 s; the wait doubles from 250 ms). */
  maxBackoffMs?: number;
  connectTimeoutMs?: number;
  log?: CaptureLog;
}

export interface CaptureStats {
  /** Events Logbook acknowledged (new ones and duplicates of replayed rows). */
  delivered: number;
  /** Of those, replays Logbook already held (answered `duplicate: true`). */
  duplicates: number;
  /** Rows Logbook refused for good, moved to logbook_capture.rejected. */
  rejected: number;
  batches: number;
  errors: number;
  lastError: string | null;
}

export class CaptureWorker {
  readonly stats: CaptureStats = {
    delivered: 0,
    duplicates: 0,
    rejected: 0,
    batches: 0,
    errors: 0,
    lastError: null,
  };
  private readonly options: Required<Omit<CaptureWorkerOptions, 'log' | 'tenant'>> & {
    log: CaptureLog;
    tenant: string | undefined;
  };
  private client: pg.Client | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private woken = false;
  private wake: (() => void) | null = null;

  constructor(options: CaptureWorkerOptions) {
    this.options = {
      tenant: undefined,
      sourceName: databaseNameOf(options.sourceUrl),
      batchSize: 1000,
      maxBatchBytes: 4 * 1024 * 1024,
      pollIntervalMs: 500,
      maxBackoffMs: 30_000,
      connectTimeoutMs: 5000,
      log: () => {},
      ...options,
    };
    if (this.options.batchSize < 1 || this.options.batchSize > 10_000) {
      throw new RangeError('CaptureWorker: batchSize must be 1 to 10000');
    }
  }

  /** Runs the loop in the background until stop(). */
  start(): void {
    this.loop ??= this.run();
  }

  /** Finishes the batch in flight (so nothing is left half-done), closes the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.notify();
    await this.loop;
    await this.disconnect();
  }

  /** Delivers batches until the outbox is empty (what was there when called, and whatever arrives meanwhile). */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const { taken, more } = await this.processBatch();
      total += taken;
      if (!more) return total;
    }
  }

  private notify(): void {
    this.woken = true;
    this.wake?.();
  }

  private async run(): Promise<void> {
    let backoff = 250;
    const { log } = this.options;
    let failing = false;
    while (!this.stopping) {
      try {
        const { more } = await this.processBatch();
        if (failing) log('info', 'capture: delivering again');
        failing = false;
        backoff = 250;
        if (!more) await this.idle(this.options.pollIntervalMs);
      } catch (error) {
        this.stats.errors++;
        const message = (error as Error).message || String(error);
        if (!failing || message !== this.stats.lastError) {
          log(
            error instanceof CaptureNotInstalledError ? 'warn' : 'error',
            `capture: ${message} (retrying with backoff)`,
            error,
          );
        }
        this.stats.lastError = message;
        failing = true;
        await this.disconnect();
        await this.idle(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
      }
    }
  }

  /** Waits `ms`, or less when woken by a notification or stop(). */
  private async idle(ms: number): Promise<void> {
    if (this.woken || this.stopping) {
      this.woken = false;
      return;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
    this.woken = false;
  }

  private async connect(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client({
      connectionString: this.options.sourceUrl,
      connectionTimeoutMillis: this.options.connectTimeoutMs,
      application_name: 'logbook-capture',
      keepAlive: true,
    });
    // A connection lost while idle is reported here: reconnect at once, since its notifications are lost with it.
    client.on('error', () => {
      if (this.client !== client) return;
      this.client = null;
      client.end().catch(() => {});
      this.notify();
    });
    client.on('notification', () => this.notify());
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(NOTIFY_CHANNEL)}`);
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
    this.client = client;
    return client;
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }

  /**
   * One batch: lock the oldest outbox rows (other workers skip them), append their events, and delete them in the
   * same transaction only after Logbook acknowledged. A crash anywhere before COMMIT leaves the rows for a replay,
   * which Logbook answers as duplicates (the event ids come from the rows).
   */
  async processBatch(): Promise<{ taken: number; more: boolean }> {
    const client = await this.connect();
    await client.query('BEGIN');
    try {
      const meta = await client.query<{ install_id: string }>(
        `SELECT install_id::text FROM ${captureTable('meta')}`,
      );
      const installId = meta.rows[0]?.install_id;
      if (!installId) throw new CaptureNotInstalledError('logbook_capture.meta is empty');
      const { rows } = await client.query<OutboxRow>(selectBatchSql(), [this.options.batchSize]);
      if (rows.length === 0) {
        await client.query('COMMIT');
        return { taken: 0, more: false };
      }
      const eventOptions: CaptureEventOptions = {
        installId,
        source: this.options.sourceName,
        ...(this.options.tenant !== undefined ? { tenant: this.options.tenant } : {}),
      };
      const events: EventInput[] = [];
      let bytes = 0;
      for (const row of rows) {
        const event = eventFromOutboxRow(row, eventOptions);
        const size = Buffer.byteLength(JSON.stringify(event));
        if (events.length > 0 && bytes + size > this.options.maxBatchBytes) break;
        events.push(event);
        bytes += size;
      }
      const taken = rows.slice(0, events.length);
      const rejected = await this.deliver(events, 0);
      await client.query(deleteBatchSql(), [taken.map((r) => r.id)]);
      for (const { index, reason } of rejected) {
        await client.query(insertRejectedSql(), [taken[index]!.id, reason, JSON.stringify(events[index])]);
      }
      await client.query('COMMIT');
      this.stats.batches++;
      this.stats.delivered += taken.length - rejected.length;
      this.stats.rejected += rejected.length;
      for (const { index, reason } of rejected) {
        this.options.log(
          'error',
          `capture: Logbook refused outbox row ${taken[index]!.id} for good (${reason}); kept in logbook_capture.rejected`,
        );
      }
      return {
        taken: taken.length,
        more: rows.length === this.options.batchSize || taken.length < rows.length,
      };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      if ((error as { code?: string }).code === '42P01') {
        throw new CaptureNotInstalledError(
          `change capture is not installed in database "${databaseNameOf(this.options.sourceUrl)}": run logbook capture install --source URL --tables …`,
        );
      }
      throw error;
    }
  }

  /**
   * Appends the events; a batch refused for good is split in halves until the refused events are alone, so one bad
   * row cannot hold back the others. Returns the refused ones (index into `events`, reason).
   */
  private async deliver(events: EventInput[], offset: number): Promise<{ index: number; reason: string }[]> {
    try {
      const { duplicates } = await this.options.sink.append(events);
      this.stats.duplicates += duplicates;
      return [];
    } catch (error) {
      if (!(error instanceof CaptureRejectedError)) throw error;
      if (events.length === 1) return [{ index: offset, reason: error.message }];
      const half = Math.ceil(events.length / 2);
      return [
        ...(await this.deliver(events.slice(0, half), offset)),
        ...(await this.deliver(events.slice(half), offset + half)),
      ];
    }
  }
}
