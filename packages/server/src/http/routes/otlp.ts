// OTLP/HTTP logs receiver: POST /v1/logs in JSON or protobuf (optionally gzip), as OpenTelemetry exporters send it.
// Parse the body, hand the request to the log service, answer an (empty) ExportLogsServiceResponse in the same encoding.
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ErrorBodySchema, LogbookError } from '@logbook/protocol';
import secureJson from 'secure-json-parse';
import Type from 'typebox';
import type { LogService } from '../../services/logs.ts';
import { decodedBody, readBody } from '../ndjson.ts';
import { decodeOtlpLogsProtobuf, OTLP_SUCCESS_RESPONSE } from '../otlp-proto.ts';
import { principalOf } from '../plugins/auth.ts';

const PROTOBUF = 'application/x-protobuf';

export const otlpRoutes: FastifyPluginAsyncTypebox<{ logs: LogService; maxBodyBytes: number }> = async (
  app,
  { logs, maxBodyBytes },
) => {
  // Exporters may gzip either encoding, so both are read as raw streams here (this plugin's parsers only).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/json', PROTOBUF], (request, payload, done) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    let stream: Readable;
    try {
      stream = decodedBody(payload, request.headers['content-encoding']);
    } catch (error) {
      done(error as Error, undefined);
      return;
    }
    readBody(stream, maxBodyBytes)
      .then((body) => {
        if (type === PROTOBUF) {
          done(null, decodeOtlpLogsProtobuf(body));
          return;
        }
        if (body.length === 0)
          throw new LogbookError(
            'MALFORMED_JSON',
            'The request body is empty; send an ExportLogsServiceRequest.',
          );
        try {
          done(
            null,
            secureJson.parse(body.toString('utf8'), undefined, {
              protoAction: 'error',
              constructorAction: 'error',
            }),
          );
        } catch (error) {
          const reason = error instanceof SyntaxError ? error.message : 'it uses a forbidden key';
          done(
            new LogbookError('MALFORMED_JSON', `The request body is not valid JSON: ${reason}`),
            undefined,
          );
        }
      })
      .catch((error: Error) => done(error, undefined));
  });

  app.post(
    '/v1/logs',
    {
      config: { scope: 'logging:write' },
      schema: {
        tags: ['logs'],
        summary: 'OTLP/HTTP logs receiver (OpenTelemetry exporters): JSON or protobuf, optionally gzip',
        description:
          'Point an OTLP log exporter at `<server>/v1/logs` with an `Authorization: Bearer <key>` header (scope logging:write). Maps severity → level, resource `service.name` → service, body → message, attributes → details (other resource attributes under `details.resource`), trace and span ids.',
        response: {
          200: Type.Unknown({
            description: 'ExportLogsServiceResponse (empty: all accepted), in the request encoding.',
          }),
          400: ErrorBodySchema,
          401: ErrorBodySchema,
          403: ErrorBodySchema,
          413: ErrorBodySchema,
          415: ErrorBodySchema,
        },
      },
    },
    async (request, reply) => {
      await logs.appendOtlp(principalOf(request), request.body);
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type === PROTOBUF) return reply.status(200).type(PROTOBUF).send(OTLP_SUCCESS_RESPONSE);
      return reply.status(200).type('application/json').send({ partialSuccess: {} });
    },
  );
};
