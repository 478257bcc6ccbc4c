// Retention: how long each tenant's streams are kept (a policy per tenant and stream, else LOGBOOK_RETENTION_DAYS),
// and applying it. It never deletes anything itself: old events go through EventService.redact, so payloads go,
// leaf hashes stay, the deletion is an audit event and `logbook verify` still passes.
import { relative } from 'node:path';
import { DEFAULT_TENANT, LogbookError, MAX_RETENTION_DAYS, RETENTION_STREAMS } from '@logbook/protocol';
import { type Principal, SYSTEM_PRINCIPAL, tenantFor } from '../auth/principal.ts';
import { MIN_TIME_MS, toIso } from '../domain/time.ts';
import type { RetentionPolicyRecord, Store } from '../store/store.ts';
import type { ArchiveService } from './archive.ts';
import type { EventService } from './events.ts';
import { EventRedaction, REDACTION_ACTION, type RedactionJob } from './redaction.ts';
import { type RequestContext, SELF_AUDIT_ACTIONS, type SelfAudit } from './self-audit.ts';

export { MAX_RETENTION_DAYS, RETENTION_STREAMS };
export type RetentionStream = (typeof RETENTION_STREAMS)[number];
export const DAY_MS = 86_400_000;

/** A tenant stream's effective retention. */
export interface RetentionPolicy {
  tenant: string;
  stream: RetentionStream;
  /** Days to keep; 0 = forever. */
  days: number;
  /** `policy`: set for this tenant; `default`: none set, LOGBOOK_RETENTION_DAYS applies. */
  source: 'policy' | 'default';
  updatedAt: string | null;
  updatedBy: string | null;
}

/**
 * How one stream forgets old entries. `events` is built in (redaction); the system-log stream registers its own
 * with registerStream() when it exists, and run() then applies its policies too.
 */
export interface RetentionPurger {
  stream: RetentionStream;
  /** Tenants that have entries in this stream. */
  tenants(): Promise<string[]>;
  /** Removes the tenant's entries that occurred before `beforeMs`; resolves how many went and the deletion record. */
  purgeBefore(principal: Principal, request: PurgeRequest): Promise<PurgerResult>;
  /**
   * Optional: several tenants at once (a run), in input order. The audit-event stream uses it so that a partition
   * shared by tenants can be dropped whole once every one of them has recorded (and archived) its deletion.
   */
  purgeMany?(principal: Principal, requests: PurgeRequest[]): Promise<PurgerResult[]>;
}

export interface PurgeRequest {
  tenant: string;
  beforeMs: number;
  reason: string;
  context?: RequestContext;
}

/** One tenant's share of a partition dropped whole (PostgreSQL), as runs report it. */
export interface PrunedPartition {
  partition: string;
  from: string;
  to: string;
  count: number;
  /** Entries below this seq were covered (later arrivals in that month stay live). */
  belowSeq: number;
}

export interface PurgerResult {
  count: number;
  recordId: string | null;
  /** The archive written before the deletion (events with archiving on), relative to the archive dir. */
  archive?: ArchiveReference | null;
  /** Partitions dropped whole for this tenant; their entries are part of `count`. */
  pruned?: PrunedPartition[];
}

export interface PurgeResult {
  tenant: string;
  stream: RetentionStream;
  /** Entries that occurred before this instant were removed. */
  before: string;
  deleted: number;
  /** Id of the audit event that recorded the deletion (null when nothing was deleted). */
  recordId: string | null;
  /** Entries archived before the deletion, and the archive's data file relative to the archive dir (null: none). */
  archived: number;
  archive: string | null;
  /** Partitions dropped whole (PostgreSQL) instead of redacting their rows one by one; part of `deleted`. */
  pruned?: PrunedPartition[];
}

export interface RetentionRunResult {
  startedAt: string;
  /** One entry per tenant stream whose policy keeps less than forever. */
  purged: (PurgeResult & { days: number })[];
  deleted: number;
  archived: number;
}

export interface RetentionOptions {
  /** LOGBOOK_RETENTION_DAYS: the policy of every tenant stream without its own (default 45; 0 = forever). */
  defaultDays?: number;
  clock?: () => number;
  /** Streams besides `events` (the system logs: logPurger(logs)). */
  streams?: RetentionPurger[];
  /** LOGBOOK_RETENTION_ARCHIVE: audit events are archived here before their payloads are deleted (null: not). */
  archive?: ArchiveService | null;
}

/** What the system-log stream offers retention (LogService): its tenants, and deleting what is older. */
export interface LogPurgeSource {
  tenants(): Promise<string[]>;
  purgeBefore(tenant: string, beforeMs: number): Promise<number>;
}

/**
 * The system-log stream: entries are deleted outright (system logs are not in the Merkle log, so there are no leaf
 * hashes to keep); the run's `logbook.retention.run` event records how many went.
 */
export function logPurger(logs: LogPurgeSource): RetentionPurger {
  return {
    stream: 'logs',
    tenants: () => logs.tenants(),
    async purgeBefore(_principal, { tenant, beforeMs }) {
      return { count: await logs.purgeBefore(tenant, beforeMs), recordId: null };
    },
  };
}

function checkDays(days: number, field: string): void {
  if (!Number.isInteger(days) || days < 0 || days > MAX_RETENTION_DAYS) {
    throw new LogbookError(
      'VALIDATION_FAILED',
      `${field} must be a whole number of days from 0 (keep forever) to ${MAX_RETENTION_DAYS}`,
      { issues: [{ field, rule: 'range', message: `0–${MAX_RETENTION_DAYS}` }] },
    );
  }
}

function checkStream(stream: string): asserts stream is RetentionStream {
  if (!(RETENTION_STREAMS as readonly string[]).includes(stream)) {
    throw new LogbookError('VALIDATION_FAILED', `stream must be one of ${RETENTION_STREAMS.join(', ')}`, {
      issues: [{ field: 'stream', rule: 'enum', message: `one of ${RETENTION_STREAMS.join(', ')}` }],
    });
  }
}

/**
 * The audit-event stream. A run goes in three steps: every tenant's expiring entries are archived (durably) and its
 * deletion recorded; then the store drops the partitions those records cover whole (where it can); then each
 * record is applied row by row to what is left. The redaction is limited to what the archive holds (belowSeq).
 */
function eventPurger(
  store: Store,
  events: EventService,
  redaction: EventRedaction,
  archive: ArchiveService | null,
  clock: () => number,
): RetentionPurger {
  async function purgeMany(principal: Principal, requests: PurgeRequest[]): Promise<PurgerResult[]> {
    const results: PurgerResult[] = requests.map(() => ({ count: 0, recordId: null }));
    const jobs: { index: number; job: RedactionJob }[] = [];
    for (const [index, { tenant, beforeMs, reason, context }] of requests.entries()) {
      // Redacting nothing would still append a deletion record; look first, so idle runs leave no trace.
      const older = await events.list(SYSTEM_PRINCIPAL, { tenant, to: toIso(beforeMs), limit: 1 });
      if (older.data.length === 0) continue;
      const written = archive
        ? await archive.archive({ tenant, beforeMs, skipActions: [REDACTION_ACTION] })
        : null;
      // Archiving on and nothing archivable (only deletion records are that old): nothing to redact either.
      if (archive && !written) {
        results[index]!.archive = null;
        continue;
      }
      const archived: ArchiveReference | null = written
        ? {
            file: relative(archive!.dir, written.file),
            count: written.count,
            sha256: written.sha256,
            manifest: relative(archive!.dir, written.manifest),
            manifestSha256: written.manifestSha256,
          }
        : null;
      const job = await redaction.record(principal, {
        tenant,
        beforeMs,
        reason,
        ...(context ? { context } : {}),
        ...(written ? { belowSeq: written.belowSeq, details: { archive: archived } } : {}),
      });
      results[index] = { count: 0, recordId: job.recordId, archive: archived };
      jobs.push({ index, job });
    }
    const pruned =
      jobs.length > 0 && store.pruneEventPartitions
        ? await store.pruneEventPartitions({
            targets: jobs.map(({ job }) => ({
              tenant: job.tenant,
              beforeMs: job.beforeMs!,
              belowSeq: job.belowSeq ?? job.recordSeq,
              recordSeq: job.recordSeq,
            })),
            keepActions: [REDACTION_ACTION],
            nowMs: clock(),
          })
        : null;
    for (const { index, job } of jobs) {
      const ranges = (pruned?.ranges ?? []).filter((r) => r.tenant === job.tenant);
      const removed = await redaction.apply(job);
      const count = removed.length + ranges.reduce((sum, r) => sum + r.count, 0);
      results[index] = {
        ...results[index]!,
        count,
        recordId: count > 0 ? job.recordId : null,
        ...(ranges.length > 0
          ? {
              pruned: ranges.map((r) => ({
                partition: r.partition,
                from: toIso(r.fromMs),
                to: toIso(r.toMs),
                count: r.count,
                belowSeq: r.belowSeq,
              })),
            }
          : {}),
      };
    }
    return results;
  }
  return {
    stream: 'events',
    tenants: async () => (await store.listTenantLogs()).filter((t) => t.size > 0).map((t) => t.tenant),
    purgeMany,
    purgeBefore: async (principal, request) => (await purgeMany(principal, [request]))[0]!,
  };
}

/** Where an archive is, relative to the archive dir, and what the deletion record states about it. */
export interface ArchiveReference {
  file: string;
  count: number;
  sha256: string;
  manifest: string;
  manifestSha256: string;
}

function purgeResult(
  tenant: string,
  stream: RetentionStream,
  before: string,
  result: PurgerResult,
): PurgeResult {
  return {
    tenant,
    stream,
    before,
    deleted: result.count,
    recordId: result.recordId,
    archived: result.archive?.count ?? 0,
    archive: result.archive?.file ?? null,
    ...(result.pruned ? { pruned: result.pruned } : {}),
  };
}

export class RetentionService {
  readonly defaultDays: number;
  private readonly clock: () => number;
  private readonly purgers = new Map<RetentionStream, RetentionPurger>();
  private running: Promise<RetentionRunResult> | null = null;
  private readonly archiving: boolean;

  constructor(
    private readonly store: Store,
    events: EventService,
    private readonly audit: SelfAudit,
    options: RetentionOptions = {},
  ) {
    this.defaultDays = options.defaultDays ?? 45;
    checkDays(this.defaultDays, 'LOGBOOK_RETENTION_DAYS');
    this.clock = options.clock ?? Date.now;
    this.archiving = Boolean(options.archive);
    this.registerStream(
      eventPurger(store, events, new EventRedaction(store, audit), options.archive ?? null, this.clock),
    );
    for (const purger of options.streams ?? []) this.registerStream(purger);
  }

  /** Whether audit events are archived before retention deletes their payloads. */
  get archives(): boolean {
    return this.archiving;
  }

  /** A run asked for over the API: a tenant-bound caller runs its own tenant only; others all, or `tenant`. */
  runFor(principal: Principal, tenant?: string): Promise<RetentionRunResult> {
    const only =
      principal.tenant !== null || tenant !== undefined
        ? tenantFor(principal, tenant, DEFAULT_TENANT)
        : undefined;
    return this.run(only !== undefined ? { tenant: only } : {});
  }

  registerStream(purger: RetentionPurger): void {
    this.purgers.set(purger.stream, purger);
  }

  private effective(
    tenant: string,
    stream: RetentionStream,
    row: RetentionPolicyRecord | null,
  ): RetentionPolicy {
    return row
      ? {
          tenant,
          stream,
          days: row.days,
          source: 'policy',
          updatedAt: toIso(row.updatedMs),
          updatedBy: row.updatedBy,
        }
      : { tenant, stream, days: this.defaultDays, source: 'default', updatedAt: null, updatedBy: null };
  }

  /** The effective policy of the caller's tenant (or the requested one, if the caller may use it). */
  async get(principal: Principal, request: { tenant?: string; stream: string }): Promise<RetentionPolicy> {
    checkStream(request.stream);
    const tenant = tenantFor(principal, request.tenant, DEFAULT_TENANT);
    return this.effective(
      tenant,
      request.stream,
      await this.store.getRetentionPolicy(tenant, request.stream),
    );
  }

  /** Every tenant stream with a stored policy. */
  async list(principal: Principal): Promise<RetentionPolicy[]> {
    const rows = await this.store.listRetentionPolicies();
    return rows
      .filter((row) => principal.tenant === null || row.tenant === principal.tenant)
      .filter((row) => (RETENTION_STREAMS as readonly string[]).includes(row.stream))
      .map((row) => this.effective(row.tenant, row.stream as RetentionStream, row));
  }

  /** Sets a tenant stream's policy (days; 0 = forever); recorded as a self-audit event in that tenant's log. */
  async set(
    principal: Principal,
    request: { tenant?: string; stream: string; days: number; context?: RequestContext },
  ): Promise<RetentionPolicy> {
    checkStream(request.stream);
    checkDays(request.days, 'body/days');
    const tenant = tenantFor(principal, request.tenant, DEFAULT_TENANT);
    const previous = this.effective(
      tenant,
      request.stream,
      await this.store.getRetentionPolicy(tenant, request.stream),
    );
    const row: RetentionPolicyRecord = {
      tenant,
      stream: request.stream,
      days: request.days,
      updatedMs: this.clock(),
      updatedBy: principal.id,
    };
    await this.store.putRetentionPolicy(row);
    await this.audit.record({
      actor: principal,
      tenant,
      action: SELF_AUDIT_ACTIONS.retentionSet,
      target: { type: 'retention_policy', id: `${tenant}/${request.stream}` },
      description: `${principal.name} set the retention of ${tenant}'s ${request.stream} to ${
        request.days === 0 ? 'forever' : `${request.days} days`
      } (was ${previous.days === 0 ? 'forever' : `${previous.days} days`})`,
      details: { tenant, stream: request.stream, days: request.days, previousDays: previous.days },
      ...(request.context ? { context: request.context } : {}),
    });
    return this.effective(tenant, request.stream, row);
  }

  /**
   * Removes the tenant stream's entries older than `days` days now (a manual cleanup). The stream's purger
   * records the deletion; the caller needs the scope for it (routes require admin).
   */
  async purgeOlderThan(
    principal: Principal,
    request: {
      tenant?: string;
      stream?: RetentionStream;
      days: number;
      reason: string;
      context?: RequestContext;
    },
  ): Promise<PurgeResult> {
    const stream = request.stream ?? 'events';
    if (!Number.isInteger(request.days) || request.days < 1 || request.days > MAX_RETENTION_DAYS) {
      throw new LogbookError(
        'VALIDATION_FAILED',
        `days must be a whole number from 1 to ${MAX_RETENTION_DAYS}`,
        {
          issues: [{ field: 'body/days', rule: 'range', message: `1–${MAX_RETENTION_DAYS}` }],
        },
      );
    }
    const tenant = tenantFor(principal, request.tenant, DEFAULT_TENANT);
    return this.purge(
      principal,
      stream,
      tenant,
      this.clock() - request.days * DAY_MS,
      request.reason,
      request.context,
    );
  }

  private async purge(
    principal: Principal,
    stream: RetentionStream,
    tenant: string,
    beforeMs: number,
    reason: string,
    context?: RequestContext,
  ): Promise<PurgeResult> {
    const purger = this.purgers.get(stream);
    const before = toIso(Math.max(beforeMs, MIN_TIME_MS));
    if (!purger || beforeMs <= MIN_TIME_MS)
      return { tenant, stream, before, deleted: 0, recordId: null, archived: 0, archive: null };
    const result = await purger.purgeBefore(principal, {
      tenant,
      beforeMs,
      reason,
      ...(context ? { context } : {}),
    });
    return purgeResult(tenant, stream, before, result);
  }

  /**
   * Applies every tenant stream's effective policy once (the scheduled job calls this). One run at a time: a call
   * while one is running gets that run's result. Tenants are limited to `tenant` when given.
   */
  run(options: { tenant?: string } = {}): Promise<RetentionRunResult> {
    this.running ??= this.runOnce(options).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async runOnce(options: { tenant?: string }): Promise<RetentionRunResult> {
    const nowMs = this.clock();
    const policies = new Map(
      (await this.store.listRetentionPolicies()).map((row) => [`${row.tenant}\u0000${row.stream}`, row.days]),
    );
    const result: RetentionRunResult = { startedAt: toIso(nowMs), purged: [], deleted: 0, archived: 0 };
    for (const purger of this.purgers.values()) {
      const tenants = options.tenant ? [options.tenant] : await purger.tenants();
      const due: (PurgeRequest & { days: number })[] = [];
      for (const tenant of tenants) {
        const days = policies.get(`${tenant}\u0000${purger.stream}`) ?? this.defaultDays;
        if (days === 0) continue;
        const beforeMs = nowMs - days * DAY_MS;
        if (beforeMs <= MIN_TIME_MS) continue;
        due.push({ tenant, beforeMs, days, reason: `retention: ${purger.stream} older than ${days} days` });
      }
      // All tenants of the stream in one call where the stream can (a shared partition goes once all agreed).
      const outcomes = purger.purgeMany
        ? await purger.purgeMany(SYSTEM_PRINCIPAL, due)
        : await (async () => {
            const list: PurgerResult[] = [];
            for (const request of due) list.push(await purger.purgeBefore(SYSTEM_PRINCIPAL, request));
            return list;
          })();
      for (const [i, { tenant, beforeMs, days }] of due.entries()) {
        const purged = purgeResult(tenant, purger.stream, toIso(beforeMs), outcomes[i]!);
        result.purged.push({ ...purged, days });
        result.deleted += purged.deleted;
        result.archived += purged.archived;
        if (purged.deleted > 0) {
          await this.audit.record({
            actor: SYSTEM_PRINCIPAL,
            tenant,
            action: SELF_AUDIT_ACTIONS.retentionRun,
            target: { type: 'retention_policy', id: `${tenant}/${purger.stream}` },
            description: `Retention removed ${purged.deleted} ${purger.stream} of ${tenant} that occurred before ${purged.before} (kept ${days} days)`,
            details: {
              tenant,
              stream: purger.stream,
              days,
              before: purged.before,
              deleted: purged.deleted,
              archived: purged.archived,
              ...(purged.archive ? { archive: purged.archive } : {}),
              ...(purged.recordId ? { redactionRecordId: purged.recordId } : {}),
              ...(purged.pruned ? { pruned: purged.pruned } : {}),
            },
          });
        }
      }
    }
    return result;
  }
}
