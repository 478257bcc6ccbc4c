// The SDK's typed errors: what the server answered (with its catalog code), what never reached it, and what the
// client itself refused. Browser-safe: no Node imports. It must never invent a server code the server did not send.
import type { ErrorCode, FieldIssue } from '@logbook/protocol';
import { ERROR_CODES } from '@logbook/protocol';

/** A code for answers that are not a Logbook error body (a proxy's HTML page, a truncated body). */
export const UNEXPECTED_RESPONSE = 'UNEXPECTED_RESPONSE' as const;
export type ApiErrorCode = ErrorCode | typeof UNEXPECTED_RESPONSE;

/** Statuses worth sending the same request again for: the request was fine, the server could not take it now. */
export const RETRYABLE_STATUSES = [408, 425, 429, 500, 502, 503, 504] as const;

/** The server answered with an error: `code` is from the server's catalog (@logbook/protocol ERROR_CATALOG). */
export class LogbookApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly requestId: string | undefined;
  readonly issues: FieldIssue[] | undefined;
  /** Seconds the server asked to wait (Retry-After), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: {
    code: ApiErrorCode;
    status: number;
    message: string;
    requestId?: string | undefined;
    issues?: FieldIssue[] | undefined;
    retryAfterSeconds?: number | undefined;
  }) {
    super(init.message);
    this.name = 'LogbookApiError';
    this.code = init.code;
    this.status = init.status;
    this.requestId = init.requestId;
    this.issues = init.issues;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }

  /** True when sending the same request again may succeed (rate limit, server error, unavailable). */
  get retryable(): boolean {
    return (RETRYABLE_STATUSES as readonly number[]).includes(this.status);
  }

  /** Builds the error from a response body; a body that is not Logbook's error shape becomes UNEXPECTED_RESPONSE. */
  static fromResponse(status: number, text: string, headers: Headers): LogbookApiError {
    const retryAfter = Number(headers.get('retry-after'));
    const retryAfterSeconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
    const requestId = headers.get('x-request-id') ?? undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const error = (body as { error?: Record<string, unknown> } | undefined)?.error;
    if (
      error &&
      typeof error.code === 'string' &&
      (ERROR_CODES as string[]).includes(error.code) &&
      typeof error.message === 'string'
    ) {
      return new LogbookApiError({
        code: error.code as ErrorCode,
        status,
        message: error.message,
        requestId: typeof error.requestId === 'string' ? error.requestId : requestId,
        issues: Array.isArray(error.issues) ? (error.issues as FieldIssue[]) : undefined,
        retryAfterSeconds,
      });
    }
    return new LogbookApiError({
      code: UNEXPECTED_RESPONSE,
      status,
      message: `HTTP ${status} without a Logbook error body: ${text.slice(0, 200) || '(empty)'}`,
      requestId,
      retryAfterSeconds,
    });
  }
}

/** The request never got an answer: connection refused or reset, DNS failure, or the per-request timeout. */
export class LogbookConnectionError extends Error {
  readonly timeout: boolean;
  constructor(message: string, options: { timeout: boolean; cause?: unknown }) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'LogbookConnectionError';
    this.timeout = options.timeout;
  }
}

/** The client refused an event before sending it: it does not match the protocol's EventInput schema. */
export class LogbookValidationError extends Error {
  readonly code = 'VALIDATION_FAILED' as const;
  constructor(
    message: string,
    readonly issues: FieldIssue[],
  ) {
    super(message);
    this.name = 'LogbookValidationError';
  }
}

/** The batcher holds `maxQueueSize` events not yet acknowledged: the new event is refused (see docs/sdk.md). */
export class LogbookQueueFullError extends Error {
  constructor(readonly maxQueueSize: number) {
    super(
      `The event queue is full (${maxQueueSize} events waiting for the server); this event was not queued. ` +
        'The server is slow or unreachable: retry later, or raise maxQueueSize.',
    );
    this.name = 'LogbookQueueFullError';
  }
}

/** The batcher was closed: it takes no new events. */
export class LogbookClosedError extends Error {
  constructor() {
    super('The batcher is closed: create a new one to record more events.');
    this.name = 'LogbookClosedError';
  }
}

export const VERIFICATION_FAILURES = [
  'no-public-key',
  'event-hash-mismatch',
  'proof-mismatch',
  'checkpoint-signature',
  'checkpoint-mismatch',
  'inclusion-proof',
] as const;
export type VerificationFailure = (typeof VERIFICATION_FAILURES)[number];

/** verifyEvent could not prove the event is in the signed log; `reason` says which check failed. */
export class LogbookVerificationError extends Error {
  constructor(
    readonly reason: VerificationFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = 'LogbookVerificationError';
  }
}
