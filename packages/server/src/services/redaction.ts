// Redaction: deleting event payloads (erasure requests, retention, a compatible API's delete) without breaking the
// proof. The deletion is first recorded as an audit event in the same log; only older entries are redacted, and each
// names that record, so `logbook verify` tells a recorded deletion from tampering. Leaf hashes are never deleted.
import { DEFAULT_TENANT, LogbookError, MAX_REDACT_IDS } from '@logbook/protocol';
import { type Principal, tenantFor } from '../auth/principal.ts';
import { toIso } from '../domain/time.ts';
import type { Store } from '../store/store.ts';
import { type RequestContext, SELF_AUDIT_ACTIONS, type SelfAudit } from './self-audit.ts';

export const REDACTION_ACTION = SELF_AUDIT_ACTIONS.eventsRedact;
/** Entries per transaction: a large cut-off (retention) never holds the database for long. */
const CHUNK = 2000;

export interface RedactRequest {
  /** Requested tenant; a tenant-bound credential may name only its own. */
  tenant?: string;
  /** These events (1…MAX_REDACT_IDS ids)… */
  ids?: string[];
  /** …or every event that occurred before this instant (epoch ms). */
  beforeMs?: number;
  /** Why (an erasure ticket, a retention policy, the API that was called): kept in the record. */
  reason: string;
  context?: RequestContext;
  /** Only entries with seq below this (retention: exactly the entries it archived first). */
  belowSeq?: number;
  /** Extra facts for the record's details (retention: the archive file and its digest). */
  details?: Record<string, unknown>;
}

/** A recorded deletion whose payloads are still to be removed (apply): what record() returns. */
export interface RedactionJob {
  tenant: string;
  recordId: string;
  recordSeq: number;
  ids?: string[];
  beforeMs?: number;
  belowSeq?: number;
}

export interface RedactResult {
  tenant: string;
  /** Events whose payload was removed now (already redacted or unknown ids are not counted). */
  count: number;
  /** The ids removed, when the request named ids. */
  ids?: string[];
  /** Id and seq of the audit event that records the deletion. */
  recordId: string;
  recordSeq: number;
}

function invalid(field: string, message: string): LogbookError {
  return new LogbookError('VALIDATION_FAILED', `${field} ${message}`, {
    issues: [{ field, rule: 'redaction', message }],
  });
}

export class EventRedaction {
  constructor(
    private readonly store: Store,
    private readonly audit: SelfAudit,
  ) {}

  async redact(principal: Principal, request: RedactRequest): Promise<RedactResult> {
    const job = await this.record(principal, request);
    const removed = await this.apply(job);
    return {
      tenant: job.tenant,
      count: removed.length,
      ...(job.ids ? { ids: removed } : {}),
      recordId: job.recordId,
      recordSeq: job.recordSeq,
    };
  }

  /**
   * Validates a deletion and appends its record; nothing is removed yet. Retention records every tenant's deletion
   * first, drops the partitions they cover whole (stores that can), then applies each job to what is left.
   */
  async record(principal: Principal, request: RedactRequest): Promise<RedactionJob> {
    const { ids, beforeMs } = request;
    if ((ids === undefined) === (beforeMs === undefined)) {
      throw invalid('ids', 'or a cut-off time (before) must be given, not both and not neither');
    }
    if (ids !== undefined) {
      if (ids.length === 0 || ids.length > MAX_REDACT_IDS) {
        throw invalid('ids', `must name 1 to ${MAX_REDACT_IDS} events`);
      }
      if (ids.some((id) => typeof id !== 'string' || id.length === 0 || id.length > 256)) {
        throw invalid('ids', 'must be non-empty strings of at most 256 characters');
      }
    }
    if (beforeMs !== undefined && !Number.isFinite(beforeMs)) {
      throw invalid('before', 'must be a valid time (ISO 8601)');
    }
    const reason = request.reason.trim().slice(0, 500);
    if (reason.length === 0) throw invalid('reason', 'must say why the events are deleted');
    const tenant = tenantFor(principal, request.tenant, DEFAULT_TENANT);
    const unique = ids ? [...new Set(ids)] : undefined;

    // The record first: if the process dies halfway, what was redacted is covered by it and a retry finishes.
    const record = await this.audit.record({
      actor: principal,
      tenant,
      action: REDACTION_ACTION,
      description: unique
        ? `Deleted the payload of ${unique.length === 1 ? 'one event' : `${unique.length} events`} by id: ${reason}`
        : `Deleted the payloads of events that occurred before ${toIso(beforeMs!)}: ${reason}`,
      details: {
        ...request.details,
        reason,
        ...(unique ? { ids: unique } : { before: toIso(beforeMs!) }),
        ...(request.belowSeq !== undefined ? { belowSeq: request.belowSeq } : {}),
      },
      ...(request.context ? { context: request.context } : {}),
    });
    return {
      tenant,
      recordId: record.id,
      recordSeq: record.seq,
      ...(unique ? { ids: unique } : { beforeMs: beforeMs! }),
      ...(request.belowSeq !== undefined ? { belowSeq: request.belowSeq } : {}),
    };
  }

  /** Removes the payloads a recorded deletion covers, in short transactions; resolves the ids removed now. */
  async apply(job: RedactionJob): Promise<string[]> {
    const removed: string[] = [];
    for (;;) {
      const chunk = await this.store.redactEvents({
        tenant: job.tenant,
        ...(job.ids ? { ids: job.ids } : { beforeMs: job.beforeMs! }),
        recordSeq: job.recordSeq,
        ...(job.belowSeq !== undefined ? { belowSeq: job.belowSeq } : {}),
        // Deletion records are the proof of every deletion: never deleted themselves (by id or by age).
        keepActions: [REDACTION_ACTION],
        limit: CHUNK,
      });
      removed.push(...chunk);
      if (chunk.length < CHUNK) break;
    }
    return removed;
  }
}
