// System-log use cases (the second stream): append (group-committed, from JSON, NDJSON streams and OTLP), get, list,
// stats, and retention's purge. No Merkle work. Services speak the store port and domain types only: no SQL, no HTTP.
import {
  type AppendedLog,
  DEFAULT_TENANT,
  LOG_LEVELS,
  LOG_LIMITS,
  LogbookError,
  type LogEntry,
  type LogEntryInput,
  type LogListQuery,
  type LogListResponse,
  type LogStats,
  type LogStatsQuery,
} from '@logbook/protocol';
import { type Principal, tenantFor } from '../auth/principal.ts';
import { logFromStored, type PreparedLogEntry, prepareLogEntry } from '../domain/log-entry.ts';
import { mapOtlpLogs } from '../domain/otlp-logs.ts';
import { toIso } from '../domain/time.ts';
import { encodeCursor } from '../query/cursor.ts';
import { BUCKET_MS } from '../query/event-filter.ts';
import { logFilter, logPageRequest, logStatsRequest } from '../query/log-filter.ts';
import type { Store } from '../store/store.ts';
import { AppendQueue } from './append-queue.ts';
import { type RequestContext, SELF_AUDIT_ACTIONS, type SelfAudit } from './self-audit.ts';
import { mapInSlices } from './slices.ts';

const HOUR_MS = BUCKET_MS.hour;

/** One validated input and where it came from, so that errors name it (`body/3`, `body/line/17`). */
export interface LogInputItem {
  input: LogEntryInput;
  field: string;
}

export interface AppendLogsResult {
  logs: AppendedLog[];
  count: number;
}

/** NDJSON chunks committing at once: parsing of the next chunk overlaps the commit of the previous one. */
const CHUNKS_IN_FLIGHT = 2;

export class LogService {
  readonly queue: AppendQueue<PreparedLogEntry[], void>;

  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
    /** Records deletions by id (createServices wires it). */
    private readonly audit: SelfAudit | null = null,
  ) {
    this.queue = new AppendQueue<PreparedLogEntry[], void>(
      {
        write: async (requests, handOff) => {
          await store.appendLogs(requests.flat(), handOff);
          return requests.map(() => undefined);
        },
        sizeOf: (request) => request.length,
        pipelinedCommits: store.capabilities.pipelinedCommits,
      },
      { maxEventsPerCommit: 20_000, maxPendingEvents: 400_000 },
    );
  }

  private prepare(
    principal: Principal,
    { input, field }: LogInputItem,
    receivedMs: number,
  ): PreparedLogEntry {
    return prepareLogEntry(input, {
      receivedMs,
      defaultTenant: tenantFor(principal, input.tenant, DEFAULT_TENANT),
      field,
    });
  }

  private prepareAll(
    principal: Principal,
    items: LogInputItem[],
    receivedMs: number,
  ): Promise<PreparedLogEntry[]> {
    return mapInSlices(items, (item) => this.prepare(principal, item, receivedMs));
  }

  /** Appends all items or none (one group commit); answers after the commit is durable. */
  async append(principal: Principal, items: LogInputItem[]): Promise<AppendLogsResult> {
    const entries = await this.prepareAll(principal, items, this.clock());
    await this.queue.submit(entries);
    return { logs: entries.map(appended), count: entries.length };
  }

  /**
   * Appends a stream of items (an NDJSON body) in chunks of LOG_LIMITS.ndjsonChunk, never holding the whole body.
   * When an item is invalid (the iterator throws, or preparing it does), every item before it is committed and
   * nothing from it on: the error says how many were stored, so a client can resume at the failing line.
   */
  async appendStream(principal: Principal, items: AsyncIterable<LogInputItem>): Promise<AppendLogsResult> {
    const logs: AppendedLog[] = [];
    const inFlight: Promise<void>[] = [];
    let chunk: PreparedLogEntry[] = [];
    let stored = 0;
    const commit = async (entries: PreparedLogEntry[]) => {
      if (entries.length === 0) return;
      const done = this.queue.submit(entries);
      done.catch(() => {}); // awaited below; this only keeps a failure from being reported as unhandled meanwhile
      inFlight.push(done);
      if (inFlight.length >= CHUNKS_IN_FLIGHT) await inFlight.shift();
      for (const e of entries) logs.push(appended(e));
    };
    try {
      for await (const item of items) {
        chunk.push(this.prepare(principal, item, this.clock()));
        if (chunk.length >= LOG_LIMITS.ndjsonChunk) {
          const full = chunk;
          chunk = [];
          await commit(full);
        }
      }
    } catch (error) {
      // Store what came before the bad item, then report both.
      await commit(chunk);
      await Promise.all(inFlight);
      stored = logs.length;
      if (error instanceof LogbookError && error.status < 500) {
        // NDJSON items are named body/line/<n>: say the line first, whoever found the problem.
        const line = /^body\/line\/(\d+)/.exec(error.issues?.[0]?.field ?? '')?.[1];
        const where = line !== undefined && !error.message.startsWith('line ') ? `line ${line}: ` : '';
        throw new LogbookError(
          error.code,
          `${where}${error.message}. The ${stored} entr${stored === 1 ? 'y' : 'ies'} before it ${stored === 1 ? 'was' : 'were'} stored; nothing from there on was: fix it and resend from there.`,
          {
            ...(error.issues ? { issues: error.issues } : {}),
            headers: { ...error.headers, 'x-logbook-stored': String(stored) },
          },
        );
      }
      throw error;
    }
    await commit(chunk);
    await Promise.all(inFlight);
    if (logs.length === 0) {
      throw new LogbookError(
        'VALIDATION_FAILED',
        'The NDJSON body has no entries: send one JSON object per line.',
        {
          issues: [{ field: 'body', rule: 'minItems', message: 'at least one line' }],
        },
      );
    }
    return { logs, count: logs.length };
  }

  /** An OTLP/HTTP export request (already decoded from JSON or protobuf): all its records in one commit. */
  async appendOtlp(principal: Principal, request: unknown): Promise<number> {
    const receivedMs = this.clock();
    const items = mapOtlpLogs(request, receivedMs);
    if (items.length === 0) return 0;
    await this.queue.submit(await this.prepareAll(principal, items, receivedMs));
    return items.length;
  }

  async get(principal: Principal, id: string, requestedTenant?: string): Promise<LogEntry> {
    const tenant = tenantFor(principal, requestedTenant, DEFAULT_TENANT);
    const row = await this.store.getLog(tenant, id);
    if (!row) throw new LogbookError('NOT_FOUND', `No log entry with id "${id}" in tenant "${tenant}".`);
    return logFromStored(row.body);
  }

  async list(principal: Principal, query: LogListQuery): Promise<LogListResponse> {
    const { data, nextCursor } = await this.listJsonRows(principal, query);
    return { data: data.map(logFromStored), nextCursor };
  }

  /**
   * A page of list() with each entry as its stored JSON text, which is the wire entry: list pages and NDJSON exports
   * send it as is instead of parsing and serialising it again.
   */
  async listJsonRows(
    principal: Principal,
    query: LogListQuery,
  ): Promise<{ data: string[]; nextCursor: string | null }> {
    const request = logPageRequest(query, tenantFor(principal, query.tenant, DEFAULT_TENANT));
    const page = await this.store.listLogs(request);
    return {
      data: page.rows.map((row) => row.body),
      nextCursor: page.lastOrderKey === null ? null : encodeCursor(page.lastOrderKey, request.order),
    };
  }

  /** list() as the JSON text of a LogListResponse, for the HTTP route. */
  async listJson(principal: Principal, query: LogListQuery): Promise<string> {
    const { data, nextCursor } = await this.listJsonRows(principal, query);
    return `{"data":[${data.join(',')}],"nextCursor":${JSON.stringify(nextCursor)}}`;
  }

  /** How many entries match the list query's filters (cursor, limit and order play no part). */
  async count(principal: Principal, query: LogListQuery): Promise<number> {
    return this.store.countLogs(logFilter(query, tenantFor(principal, query.tenant, DEFAULT_TENANT)));
  }

  /**
   * Deletes one entry by id (a compatible API's delete). The deletion is recorded as an audit event first, so a
   * crash in between leaves a record of an attempt rather than an unrecorded deletion. NOT_FOUND when absent.
   */
  async delete(
    principal: Principal,
    id: string,
    options: { tenant?: string; reason: string; context?: RequestContext },
  ): Promise<void> {
    const tenant = tenantFor(principal, options.tenant, DEFAULT_TENANT);
    const row = await this.store.getLog(tenant, id);
    if (!row) throw new LogbookError('NOT_FOUND', `No log entry with id "${id}" in tenant "${tenant}".`);
    if (!this.audit) throw new Error('LogService.delete: no self-audit was wired (createServices does it)');
    const entry = logFromStored(row.body);
    await this.audit.record({
      actor: principal,
      tenant,
      action: SELF_AUDIT_ACTIONS.logsDelete,
      target: { type: 'log', id },
      description: `Deleted system log entry ${id}: ${options.reason}`,
      details: {
        reason: options.reason,
        id,
        timestamp: entry.timestamp,
        service: entry.service,
        level: entry.level,
      },
      ...(options.context ? { context: options.context } : {}),
    });
    if (!(await this.store.deleteLog(tenant, id))) {
      throw new LogbookError('NOT_FOUND', `No log entry with id "${id}" in tenant "${tenant}".`);
    }
  }

  async stats(principal: Principal, query: LogStatsQuery): Promise<LogStats> {
    const request = logStatsRequest(query, tenantFor(principal, query.tenant, DEFAULT_TENANT), this.clock());
    const result = await this.store.logStats(request);
    const bucketMs = BUCKET_MS[request.bucket];
    const buckets = new Map<number, Map<number, number>>();
    for (const [hourStart, levels] of result.hours) {
      const start = Math.floor(hourStart / bucketMs) * bucketMs;
      let bucket = buckets.get(start);
      if (!bucket) {
        bucket = new Map();
        buckets.set(start, bucket);
      }
      for (const [level, n] of levels) bucket.set(level, (bucket.get(level) ?? 0) + n);
    }
    const named = (levels: Map<number, number> | undefined): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const [i, name] of LOG_LEVELS.entries()) {
        const n = levels?.get(i + 1);
        if (n) out[name] = n;
      }
      return out;
    };
    const histogram: LogStats['histogram'] = [];
    for (
      let start = Math.floor(request.fromMs / bucketMs) * bucketMs;
      start < request.toMs;
      start += bucketMs
    ) {
      const levels = buckets.get(start);
      let count = 0;
      for (const n of levels?.values() ?? []) count += n;
      histogram.push({ start: toIso(start), count, byLevel: named(levels) });
    }
    let total = 0;
    for (const n of result.byLevel.values()) total += n;
    return {
      total,
      byLevel: named(result.byLevel),
      byService: Object.fromEntries(result.byService.map((s) => [s.service, s.count])),
      histogram,
      // Counts come from hourly rollups, so the window counted is widened to whole hours; say so.
      window: {
        from: toIso(Math.floor(request.fromMs / HOUR_MS) * HOUR_MS),
        to: toIso(Math.ceil(request.toMs / HOUR_MS) * HOUR_MS),
        bucket: request.bucket,
      },
    };
  }

  /** Tenants with log entries (retention). */
  tenants(): Promise<string[]> {
    return this.store.listLogTenants();
  }

  /** Deletes a tenant's entries older than `beforeMs`, in short transactions; resolves how many went (retention). */
  async purgeBefore(tenant: string, beforeMs: number): Promise<number> {
    let deleted = 0;
    for (;;) {
      const n = await this.store.deleteLogsBefore(tenant, beforeMs, 5000);
      deleted += n;
      if (n < 5000) return deleted;
    }
  }
}

function appended(entry: PreparedLogEntry): AppendedLog {
  return { id: entry.id, tenant: entry.tenant, timestamp: toIso(entry.timestampMs) };
}
