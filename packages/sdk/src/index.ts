// @logbook/sdk: the typed Logbook client (events, batcher, logs, integrity, keys, users, tails), its typed errors,
// and the pino transport. Framework middleware: "@logbook/sdk/fastify", "@logbook/sdk/express"; Node exit hook:
// "@logbook/sdk/node" (docs/sdk.md).

/** The wire types, re-exported from @logbook/protocol (Static<> of the schemas the server validates with). */
export type {
  ApiKey,
  ApiKeyCreated,
  AppendedEvent,
  AuditEvent,
  CheckpointResponse,
  ErrorCode,
  EventInput,
  EventListQuery,
  EventStats,
  LogEntry,
  LogEntryInput,
  LogListQuery,
  LogStats,
  User,
} from '@logbook/protocol';
export {
  type AuditActor,
  type AuditOptions,
  type AuditRouteOptions,
  auditEvent,
  MUTATING_METHODS,
} from './audit-middleware.ts';
export { type BatcherOptions, type BatcherStats, EventBatcher } from './batcher.ts';
export { createClient, LogbookClient, type LogbookClientOptions } from './client.ts';
export {
  type ApiErrorCode,
  LogbookApiError,
  LogbookClosedError,
  LogbookConnectionError,
  LogbookQueueFullError,
  LogbookValidationError,
  LogbookVerificationError,
  RETRYABLE_STATUSES,
  UNEXPECTED_RESPONSE,
  VERIFICATION_FAILURES,
  type VerificationFailure,
} from './errors.ts';
export { LogbookHttpError, postJson, type RetryOptions } from './http.ts';
export { uuidv7 } from './ids.ts';
export { type Page, Paginator } from './paginate.ts';
// The pino transport is Node-only: it is reached as '@logbook/sdk/pino-transport', never from this browser-safe entry.
export type { SseMessage, Tailed, TailOptions } from './sse.ts';
export { type RequestOptions, type RetryPolicy, Transport, type TransportOptions } from './transport.ts';
export { prepareEventInput } from './validate.ts';
export { type EventVerification, eventLeafHash, verifyEventProof } from './verify.ts';
