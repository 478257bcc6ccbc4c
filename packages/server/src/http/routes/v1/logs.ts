// /api/v1/logs: parse (JSON or streamed NDJSON), call the log service, reply. No logic beyond choosing the call.
// A JSON body is validated entry by entry here, so every error names its entry (body/3/level, body/line/17/level).
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  AppendLogsResponse,
  ErrorBodySchema,
  LOG_LIMITS,
  LogbookError,
  LogEntry,
  LogEntryInput,
  LogListQuery,
  LogListResponse,
  LogStats,
  LogStatsQuery,
  LogWriteBody,
  Tenant,
} from '@logbook/protocol';
import type { FastifySchemaCompiler } from 'fastify';
import Type from 'typebox';
import type { LogInputItem, LogService } from '../../../services/logs.ts';
import { sendJsonText } from '../../json-text.ts';
import { decodedBody, ndjsonLines } from '../../ndjson.ts';
import { principalOf } from '../../plugins/auth.ts';
import { compileItemValidator, validatorCompiler } from '../../validation.ts';

const errors = {
  400: ErrorBodySchema,
  401: ErrorBodySchema,
  403: ErrorBodySchema,
};

/** NDJSON media types accepted (the first is the registered one; the others are common spellings). */
export const NDJSON_TYPES = [
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
] as const;

const validateEntry: (value: unknown, field: string) => asserts value is LogEntryInput =
  compileItemValidator<LogEntryInput>(LogEntryInput);

/** Entries of a JSON body (one entry, an array, or { "logs": [...] }), each validated and named. */
function jsonItems(body: unknown): LogInputItem[] {
  let entries: unknown[];
  let prefix: string;
  if (Array.isArray(body)) {
    entries = body;
    prefix = 'body';
  } else if (body !== null && typeof body === 'object' && 'logs' in body) {
    const keys = Object.keys(body);
    const extra = keys.find((k) => k !== 'logs');
    if (extra !== undefined) {
      throw new LogbookError('VALIDATION_FAILED', `body/${extra} is not a known field (known: logs)`, {
        issues: [
          {
            field: `body/${extra}`,
            rule: 'additionalProperties',
            message: 'is not a known field (known: logs)',
          },
        ],
      });
    }
    const logs = (body as { logs: unknown }).logs;
    if (!Array.isArray(logs)) {
      throw new LogbookError('VALIDATION_FAILED', 'body/logs must be an array of log entries', {
        issues: [{ field: 'body/logs', rule: 'type', message: 'must be array' }],
      });
    }
    entries = logs;
    prefix = 'body/logs';
  } else {
    validateEntry(body, 'body');
    return [{ input: body, field: 'body' }];
  }
  if (entries.length === 0 || entries.length > LOG_LIMITS.maxEntriesPerRequest) {
    const message = `must hold 1 to ${LOG_LIMITS.maxEntriesPerRequest} entries (send more as NDJSON)`;
    throw new LogbookError('VALIDATION_FAILED', `${prefix} ${message}`, {
      issues: [{ field: prefix, rule: entries.length === 0 ? 'minItems' : 'maxItems', message }],
    });
  }
  return entries.map((entry, i) => {
    const field = `${prefix}/${i}`;
    validateEntry(entry, field);
    return { input: entry, field };
  });
}

async function* ndjsonItems(stream: Readable): AsyncGenerator<LogInputItem> {
  for await (const { line, value } of ndjsonLines(stream, {
    maxLineBytes: LOG_LIMITS.maxLineBytes,
    maxBodyBytes: LOG_LIMITS.maxNdjsonBytes,
  })) {
    const field = `body/line/${line}`;
    try {
      validateEntry(value, field);
    } catch (error) {
      if (error instanceof LogbookError) {
        throw new LogbookError(error.code, `line ${line}: ${error.message}`, {
          ...(error.issues ? { issues: error.issues } : {}),
        });
      }
      throw error;
    }
    yield { input: value, field };
  }
}

/** The body is validated per entry in the handler (see jsonItems); the schema is for the OpenAPI document. */
const bodyValidatedInHandler: FastifySchemaCompiler<object> = (route) =>
  route.httpPart === 'body' ? () => true : validatorCompiler(route);

export const logRoutes: FastifyPluginAsyncTypebox<{ logs: LogService }> = async (app, { logs }) => {
  // NDJSON reaches the handler as the raw stream, read line by line: the body is never held at once.
  app.addContentTypeParser([...NDJSON_TYPES], (_request, payload, done) => done(null, payload));

  app.post(
    '/api/v1/logs',
    {
      config: { scope: 'logging:write' },
      validatorCompiler: bodyValidatedInHandler,
      schema: {
        tags: ['logs'],
        summary:
          'Record system log entries: one, an array, { "logs": [...] }, or NDJSON (one entry per line)',
        description:
          'Answers after the entries are durably committed. JSON bodies are all-or-nothing. NDJSON (`Content-Type: application/x-ndjson`, optionally gzip) is streamed and committed in chunks; at an invalid line, every line before it is stored and nothing from it on — the error names the line and the `x-logbook-stored` header says how many were stored.',
        body: {
          content: {
            'application/json': { schema: LogWriteBody },
            'application/x-ndjson': {
              schema: Type.String({ description: 'One LogEntryInput JSON object per line.' }),
            },
          },
        },
        response: { 201: AppendLogsResponse, ...errors, 413: ErrorBodySchema, 415: ErrorBodySchema },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const result = (NDJSON_TYPES as readonly string[]).includes(type)
        ? await logs.appendStream(
            principal,
            ndjsonItems(decodedBody(request.body as Readable, request.headers['content-encoding'])),
          )
        : await logs.append(principal, jsonItems(request.body));
      return reply.status(201).send(result);
    },
  );

  app.get(
    '/api/v1/logs',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags: ['logs'],
        summary: 'List and search system log entries, newest first by timestamp',
        querystring: LogListQuery,
        response: { 200: LogListResponse, ...errors },
      },
    },
    // The response schema documents the page; its text is the stored entries' (LogService.listJson).
    async (request, reply) => sendJsonText(reply, await logs.listJson(principalOf(request), request.query)),
  );

  app.get(
    '/api/v1/logs/stats',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags: ['logs'],
        summary: 'Counts by level and by service, and a histogram by level over time (from hourly rollups)',
        querystring: LogStatsQuery,
        response: { 200: LogStats, ...errors },
      },
    },
    async (request) => logs.stats(principalOf(request), request.query),
  );

  app.get(
    '/api/v1/logs/:id',
    {
      config: { scope: 'logging:read' },
      schema: {
        tags: ['logs'],
        summary: 'One system log entry by id',
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }),
        querystring: Type.Object({ tenant: Type.Optional(Tenant) }, { additionalProperties: false }),
        response: { 200: LogEntry, ...errors, 404: ErrorBodySchema },
      },
    },
    async (request) => logs.get(principalOf(request), request.params.id, request.query.tenant),
  );
};
