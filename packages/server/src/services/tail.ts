// Live tail of both streams: follows a tenant's entries in arrival order (seq) from a resume point, keeping those that
// match the list filters. Pull-based: it reads the store only when its consumer asks for more, so a slow client costs
// a cursor, never a growing buffer. It must never skip an entry: the cursor is a seq, and seqs commit in order.
import {
  type AuditEvent,
  DEFAULT_TENANT,
  type EventTailQuery,
  LogbookError,
  type LogEntry,
  type LogTailQuery,
} from '@logbook/protocol';
import { type Principal, tenantFor } from '../auth/principal.ts';
import { eventFromStored } from '../domain/event.ts';
import { logFromStored } from '../domain/log-entry.ts';
import { eventPageRequest } from '../query/event-filter.ts';
import { logTailFilter } from '../query/log-filter.ts';
import { eventMatches, logMatches } from '../query/tail-match.ts';
import type { Store } from '../store/store.ts';

export const TAIL_STREAMS = ['events', 'logs'] as const;
export type TailStream = (typeof TAIL_STREAMS)[number];

export interface TailOptions {
  /**
   * How often a waiting tail looks at the store even without an in-process notification: what another process's
   * writes wait at most (PostgreSQL shared by several servers), and the bound on a wake-up lost to a race between a
   * read and the next wait. Default 500 ms.
   */
  pollMs?: number;
  /** Entries read per store query. */
  batch?: number;
}

/** One entry for the client: its resume id (the seq) and the wire entry. */
export interface TailItem {
  id: string;
  data: AuditEvent | LogEntry;
}

/** In-process wake-ups: the append paths notify after each commit, waiting tails of that tenant read at once. */
export class TailHub {
  private readonly waiters = new Map<string, Set<() => void>>();

  notify(stream: TailStream, tenant: string): void {
    const key = `${stream}\u0000${tenant}`;
    const set = this.waiters.get(key);
    if (!set) return;
    this.waiters.delete(key);
    for (const wake of set) wake();
  }

  /** Resolves on a notification for (stream, tenant), after `ms`, or when `signal` aborts, whichever is first. */
  wait(stream: TailStream, tenant: string, ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    const key = `${stream}\u0000${tenant}`;
    return new Promise((resolve) => {
      let set = this.waiters.get(key);
      if (!set) {
        set = new Set();
        this.waiters.set(key, set);
      }
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.get(key)?.delete(done);
        if (this.waiters.get(key)?.size === 0) this.waiters.delete(key);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      set.add(done);
    });
  }

  /** Waiting tails (for tests and metrics). */
  get waiting(): number {
    let n = 0;
    for (const set of this.waiters.values()) n += set.size;
    return n;
  }
}

function parseResumeId(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new LogbookError(
      'INVALID_CURSOR',
      'Last-Event-ID must be the id of an event this tail sent (a non-negative integer); omit it to start from now',
      { issues: [{ field: 'header/last-event-id', rule: 'format', message: 'a non-negative integer' }] },
    );
  }
  return Number(text);
}

export class TailService {
  readonly hub = new TailHub();
  private readonly pollMs: number;
  private readonly batch: number;

  constructor(
    private readonly store: Store,
    options: TailOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.batch = options.batch ?? 500;
  }

  /**
   * The matching audit events after `lastEventId` (or from now), batch by batch, until `signal` aborts. Checks the
   * query before the first yield, so a bad filter is a 400 before any stream starts.
   */
  async events(
    principal: Principal,
    query: EventTailQuery,
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<TailItem[]>> {
    const tenant = tenantFor(principal, query.tenant, DEFAULT_TENANT);
    const { filter } = eventPageRequest(query, tenant);
    const resume = parseResumeId(lastEventId ?? query.lastEventId);
    const start = resume ?? (await this.store.getTreeHead(tenant)).range.size - 1;
    return this.follow('events', tenant, start, query.follow ?? true, signal, async (after) => {
      const rows = await this.store.readLog(tenant, after + 1, this.batch);
      return rows.map((row) => {
        if (row.redactedBy !== null) return { seq: row.seq, item: null };
        const event = eventFromStored(row.body, row.seq, row.leafHash);
        return { seq: row.seq, item: eventMatches(event, filter) ? event : null };
      });
    });
  }

  /** The matching system-log entries after `lastEventId` (or from now); see events(). */
  async logs(
    principal: Principal,
    query: LogTailQuery,
    lastEventId: string | undefined,
    signal: AbortSignal,
  ): Promise<AsyncGenerator<TailItem[]>> {
    const tenant = tenantFor(principal, query.tenant, DEFAULT_TENANT);
    const filter = logTailFilter(query, tenant);
    const resume = parseResumeId(lastEventId ?? query.lastEventId);
    const start = resume ?? (await this.store.logHeadSeq(tenant));
    return this.follow('logs', tenant, start, query.follow ?? true, signal, async (after) => {
      const rows = await this.store.readLogsAfter(tenant, after, this.batch);
      return rows.map((row) => {
        const entry = logFromStored(row.body);
        return { seq: row.seq, item: logMatches(entry, filter) ? entry : null };
      });
    });
  }

  private async *follow(
    stream: TailStream,
    tenant: string,
    start: number,
    follow: boolean,
    signal: AbortSignal,
    read: (after: number) => Promise<{ seq: number; item: AuditEvent | LogEntry | null }[]>,
  ): AsyncGenerator<TailItem[]> {
    let cursor = start;
    while (!signal.aborted) {
      const rows = await read(cursor);
      const items: TailItem[] = [];
      for (const row of rows) {
        cursor = row.seq;
        if (row.item) items.push({ id: String(row.seq), data: row.item });
      }
      if (items.length > 0) yield items;
      // A full batch means more may be waiting: read on at once. Otherwise wait for a commit or the poll interval.
      if (rows.length < this.batch) {
        if (!follow) return;
        await this.hub.wait(stream, tenant, this.pollMs, signal);
      }
    }
  }
}
