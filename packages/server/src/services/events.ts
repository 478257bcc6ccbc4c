// Audit-event use cases: append (validated, idempotent, group-committed), get, list, stats.
// Services speak the store port and domain types only: no SQL, no HTTP objects.
import {
  type AppendedEvent,
  type AuditEvent,
  DEFAULT_TENANT,
  type EventInput,
  type EventListQuery,
  type EventListResponse,
  type EventStats,
  type EventStatsQuery,
  LogbookError,
  toHex,
} from '@logbook/protocol';
import { type Principal, tenantFor } from '../auth/principal.ts';
import { eventFromStored, eventJsonFromStored, prepareEvent } from '../domain/event.ts';
import { MAX_TIME_MS, MIN_TIME_MS, toIso } from '../domain/time.ts';
import { encodeCursor } from '../query/cursor.ts';
import { BUCKET_MS, eventPageRequest, statsRequest } from '../query/event-filter.ts';

const HOUR_MS = BUCKET_MS.hour;
const alignDown = (ms: number, step: number) => Math.floor(ms / step) * step;
const alignUp = (ms: number, step: number) => Math.ceil(ms / step) * step;

import type { Store } from '../store/store.ts';
import { AppendQueue, type AppendQueueOptions } from './append-queue.ts';
import type { EventRedaction, RedactRequest, RedactResult } from './redaction.ts';
import { mapInSlices } from './slices.ts';

/** A listed event as JSON text, and its place in the tenant log. */
export interface EventJsonRow {
  seq: number;
  json: string;
}

export class EventService {
  readonly queue: AppendQueue;

  constructor(
    private readonly store: Store,
    private readonly clock: () => number = Date.now,
    /** Group-commit size and the bound on waiting events (back-pressure); AppendQueue's defaults when unset. */
    queueOptions?: AppendQueueOptions,
  ) {
    this.queue = new AppendQueue(store, queueOptions);
  }

  private redaction: EventRedaction | null = null;

  /** Wired by createServices: redaction records through self-audit, which itself appends through this service. */
  useRedaction(redaction: EventRedaction): void {
    this.redaction = redaction;
  }

  /** Deletes event payloads with a record in the log (see services/redaction.ts); leaf hashes stay. */
  async redact(principal: Principal, request: RedactRequest): Promise<RedactResult> {
    if (!this.redaction)
      throw new Error('EventService.redact: no redaction service was wired (createServices does it)');
    return this.redaction.redact(principal, request);
  }

  /** `batch` tells whether the client sent `{ events: [...] }`, so errors can name `body/events/3`. */
  async append(principal: Principal, inputs: EventInput[], batch: boolean): Promise<AppendedEvent[]> {
    const receivedMs = this.clock();
    const events = await mapInSlices(inputs, (input, index) =>
      prepareEvent(input, {
        receivedMs,
        defaultTenant: tenantFor(principal, input.tenant, DEFAULT_TENANT),
        fieldPrefix: batch ? `body/events/${index}` : 'body',
      }),
    );
    const result = await this.queue.submit({ events });
    if (!result.ok) {
      const where = batch ? `events[${result.conflictIndex}]` : 'the event';
      throw new LogbookError(
        'IDEMPOTENCY_CONFLICT',
        `${where} has id "${result.id}", which is already stored with different content; use a new id for a new event, or resend the original content to retry`,
        {
          issues: [
            {
              field: batch ? `body/events/${result.conflictIndex}/id` : 'body/id',
              rule: 'idempotency',
              message: 'id reused with different content',
            },
          ],
        },
      );
    }
    return result.rows.map((row) => ({
      id: row.id,
      tenant: row.tenant,
      seq: row.seq,
      hash: toHex(row.leafHash),
      occurredAt: toIso(row.occurredMs),
      receivedAt: toIso(row.receivedMs),
      duplicate: row.duplicate,
    }));
  }

  async get(principal: Principal, id: string, requestedTenant?: string): Promise<AuditEvent> {
    const tenant = tenantFor(principal, requestedTenant, DEFAULT_TENANT);
    const row = await this.store.getEvent(tenant, id);
    if (!row) throw new LogbookError('NOT_FOUND', `No event with id "${id}" in tenant "${tenant}".`);
    return eventFromStored(row.body, row.seq, row.leafHash);
  }

  async list(principal: Principal, query: EventListQuery): Promise<EventListResponse> {
    const { page, nextCursor } = await this.page(principal, query);
    return {
      data: page.rows.map((row) => eventFromStored(row.body, row.seq, row.leafHash)),
      nextCursor,
      ...(page.total !== undefined ? { total: page.total } : {}),
    };
  }

  /** list() as the JSON text of an EventListResponse, for the HTTP route: the stored bodies are never parsed. */
  async listJson(principal: Principal, query: EventListQuery): Promise<string> {
    const page = await this.listJsonRows(principal, query);
    const data = page.data.map((row) => row.json).join(',');
    const total = page.total !== undefined ? `,"total":${page.total}` : '';
    return `{"data":[${data}],"nextCursor":${JSON.stringify(page.nextCursor)}${total}}`;
  }

  /** list() with each event as its JSON text (eventJsonFromStored) beside its seq: pages of lists and NDJSON exports. */
  async listJsonRows(
    principal: Principal,
    query: EventListQuery,
  ): Promise<{ data: EventJsonRow[]; nextCursor: string | null; total?: number }> {
    const { page, nextCursor } = await this.page(principal, query);
    return {
      data: page.rows.map((row) => ({
        seq: row.seq,
        json: eventJsonFromStored(row.body, row.seq, row.leafHash),
      })),
      nextCursor,
      ...(page.total !== undefined ? { total: page.total } : {}),
    };
  }

  private async page(principal: Principal, query: EventListQuery) {
    const request = eventPageRequest(query, tenantFor(principal, query.tenant, DEFAULT_TENANT));
    const page = await this.store.listEvents(request);
    return {
      page,
      nextCursor: page.lastOrderKey === null ? null : encodeCursor(page.lastOrderKey, request.order),
    };
  }

  /**
   * All-time counts of a tenant (no time window, no histogram), from the same rollups as stats(): what the
   * compatibility surfaces' summaries report. `top` bounds the actors listed.
   */
  async totals(
    principal: Principal,
    options: { tenant?: string; top?: number } = {},
  ): Promise<Pick<EventStats, 'total' | 'last24h' | 'byAction' | 'byTargetType' | 'topActors'>> {
    const tenant = tenantFor(principal, options.tenant, DEFAULT_TENANT);
    const result = await this.store.eventStats({
      tenant,
      fromMs: MIN_TIME_MS,
      toMs: MAX_TIME_MS,
      bucket: 'day',
      top: options.top ?? 10,
      nowMs: this.clock(),
    });
    return {
      total: result.total,
      last24h: result.last24h,
      byAction: result.byAction,
      byTargetType: result.byTargetType,
      topActors: result.topActors,
    };
  }

  async stats(principal: Principal, query: EventStatsQuery): Promise<EventStats> {
    const request = statsRequest(query, tenantFor(principal, query.tenant, DEFAULT_TENANT), this.clock());
    const result = await this.store.eventStats(request);
    const bucketMs = BUCKET_MS[request.bucket];
    const histogram: EventStats['histogram'] = [];
    for (
      let start = Math.floor(request.fromMs / bucketMs) * bucketMs;
      start < request.toMs;
      start += bucketMs
    ) {
      histogram.push({ start: toIso(start), count: result.histogram.get(start) ?? 0 });
    }
    return {
      total: result.total,
      last24h: result.last24h,
      byAction: result.byAction,
      byTargetType: result.byTargetType,
      topActors: result.topActors,
      histogram,
      // Counts come from hourly rollups, so the window actually counted is widened to whole hours; say so.
      window: {
        from: toIso(alignDown(request.fromMs, HOUR_MS)),
        to: toIso(alignUp(request.toMs, HOUR_MS)),
        bucket: request.bucket,
      },
    };
  }
}
