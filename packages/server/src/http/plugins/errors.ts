// The one error handler: every failure leaves as an ErrorBody with a catalog code and the request id.
// It must never put a stack trace, SQL or any other internal detail into a response.
import { ERROR_CATALOG, LogbookError } from '@logbook/protocol';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { storeFailure } from '../../store/failures.ts';
import { validationIssues } from '../validation.ts';

/** Any error a route or hook raised, as a catalog error; null for an unexpected one (a 500). Surfaces reuse it. */
export function toLogbookError(error: FastifyError, bodyLimit: number): LogbookError | null {
  if (error instanceof LogbookError) return error;
  if (error.validation) {
    const issues = validationIssues(error.validationContext ?? 'body', error.validation as never);
    const first = issues[0];
    return new LogbookError('VALIDATION_FAILED', first ? `${first.field} ${first.message}` : error.message, {
      issues,
    });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new LogbookError(
        'PAYLOAD_TOO_LARGE',
        `The request body is larger than the limit of ${bodyLimit} bytes (LOGBOOK_MAX_BODY_BYTES); send fewer events per request.`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new LogbookError('UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new LogbookError('MALFORMED_JSON', 'The request body is empty; send a JSON object.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new LogbookError('MALFORMED_JSON', `The request body is not valid JSON: ${error.message}`);
    case 'FST_ERR_BAD_URL':
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new LogbookError('VALIDATION_FAILED', 'The URL is not valid.');
  }
  if (error instanceof SyntaxError || (error.statusCode === 400 && /JSON|proto/i.test(error.message))) {
    return new LogbookError('MALFORMED_JSON', `The request body is not valid JSON: ${error.message}`);
  }
  // The database unreachable or the disk full: 503/507 with Retry-After, not a 500 (the client can act on it).
  const storage = storeFailure(error);
  if (storage) return storage;
  if (error.statusCode === 413) return new LogbookError('PAYLOAD_TOO_LARGE');
  if (error.statusCode === 415) return new LogbookError('UNSUPPORTED_MEDIA_TYPE');
  if (error.statusCode === 404) return new LogbookError('ROUTE_NOT_FOUND');
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return new LogbookError('VALIDATION_FAILED', error.message);
  }
  return null;
}

/** A compatibility surface's answer for a failure outside its routes (http/compat/index.ts compatErrorFor). */
export type SurfaceErrorLookup = (
  request: FastifyRequest,
  error: LogbookError,
) => { status: number; body: unknown } | undefined;

export function registerErrorHandling(
  app: FastifyInstance,
  bodyLimit: number,
  surfaceError?: SurfaceErrorLookup,
): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toLogbookError(error, bodyLimit);
    if (!known) {
      request.log.error({ err: error }, 'unhandled error');
      const status = ERROR_CATALOG.INTERNAL.status;
      return reply.status(status).send(new LogbookError('INTERNAL').toBody(request.id));
    }
    if (known.status >= 500) request.log.warn({ err: error }, known.message);
    if (known.headers) reply.headers(known.headers);
    return reply.status(known.status).send(known.toBody(request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new LogbookError(
      'ROUTE_NOT_FOUND',
      `There is no route ${request.method} ${request.url.split('?')[0]}; see /docs for the API.`,
    );
    // Under a compatibility surface's paths, that surface's 404 body.
    const own = surfaceError?.(request, error);
    return own ? reply.status(own.status).send(own.body) : reply.status(404).send(error.toBody(request.id));
  });
}
