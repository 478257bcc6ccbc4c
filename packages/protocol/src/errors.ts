// The one error catalog: every error Logbook answers with has a stable code, an HTTP status and a default
// message here. Shared by server, SDK, CLI and dashboard; it must never import anything with I/O.

export const ERROR_CATALOG = {
  VALIDATION_FAILED: { status: 400, message: 'The request is invalid.' },
  MALFORMED_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  INVALID_DATE: { status: 400, message: 'A date is not in the expected format.' },
  INVALID_CURSOR: { status: 400, message: 'The cursor is not one this server issued.' },
  INVALID_QUERY: { status: 400, message: 'The search query cannot be used.' },
  UNAUTHENTICATED: {
    status: 401,
    message:
      'Authentication required: send an API key or a token as "Authorization: Bearer <credential>", or an API key as "X-API-Key: <key>".',
  },
  FORBIDDEN: { status: 403, message: 'This credential is not allowed to do that.' },
  NOT_FOUND: { status: 404, message: 'Nothing was found with that id.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'There is no such route; see /docs for the API.' },
  ALREADY_EXISTS: { status: 409, message: 'Something with that name already exists.' },
  IDEMPOTENCY_CONFLICT: {
    status: 409,
    message: 'An event with this id already exists with different content.',
  },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'Unsupported Content-Type: send "Content-Type: application/json".',
  },
  TOO_MANY_REQUESTS: { status: 429, message: 'Too many requests; retry later.' },
  INTERNAL: { status: 500, message: 'Internal error; the request id identifies it in the server log.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The service is temporarily unavailable; retry later.' },
  INSUFFICIENT_STORAGE: {
    status: 507,
    message: 'The server is out of storage space; nothing was written. Retry once space has been freed.',
  },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;
export const ERROR_CODES = Object.keys(ERROR_CATALOG) as ErrorCode[];

/** One problem with one input field, so a client can point at it. */
export interface FieldIssue {
  /** JSON-pointer-like path: `body/events/3/actor/id`, `query/limit`. */
  field: string;
  /** The rule that failed: `required`, `maxLength`, `format`, `additionalProperties`, … */
  rule: string;
  message: string;
}

/** The wire shape of every Logbook error response (`/api/v1` and ops routes). */
export interface ErrorBody {
  error: {
    code: ErrorCode;
    status: number;
    message: string;
    requestId?: string;
    issues?: FieldIssue[];
  };
}

/** A failure the caller can act on. Thrown below the HTTP layer; the one handler turns it into ErrorBody. */
export class LogbookError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly issues: FieldIssue[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    options?: { issues?: FieldIssue[]; headers?: Record<string, string>; cause?: unknown },
  ) {
    super(message ?? ERROR_CATALOG[code].message, options?.cause ? { cause: options.cause } : undefined);
    this.name = 'LogbookError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    this.issues = options?.issues;
    this.headers = options?.headers;
  }

  toBody(requestId?: string): ErrorBody {
    return {
      error: {
        code: this.code,
        status: this.status,
        message: this.message,
        ...(requestId ? { requestId } : {}),
        ...(this.issues?.length ? { issues: this.issues } : {}),
      },
    };
  }
}

export function isLogbookError(value: unknown): value is LogbookError {
  return value instanceof LogbookError;
}
