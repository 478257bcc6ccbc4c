// The one request-body parser: strict JSON in UTF-8. Invalid UTF-8 is refused rather than silently replaced
// with U+FFFD (an audit record must hold exactly what was sent), and __proto__/constructor keys are refused.
import { isUtf8 } from 'node:buffer';
import { LogbookError } from '@logbook/protocol';
import type { FastifyInstance } from 'fastify';
import secureJson from 'secure-json-parse';

export function registerJsonBody(app: FastifyInstance): void {
  // Fastify accepts text/plain by default; every Logbook body is JSON, so anything else is a 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body: Buffer, done) => {
    if (body.length === 0) {
      done(new LogbookError('MALFORMED_JSON', 'The request body is empty; send a JSON object.'), undefined);
      return;
    }
    if (!isUtf8(body)) {
      done(
        new LogbookError(
          'MALFORMED_JSON',
          'The request body is not valid UTF-8; send JSON encoded as UTF-8.',
        ),
        undefined,
      );
      return;
    }
    try {
      done(
        null,
        secureJson.parse(body.toString('utf8'), undefined, {
          protoAction: 'error',
          constructorAction: 'error',
        }),
      );
    } catch (error) {
      const reason =
        error instanceof SyntaxError
          ? error.message
          : 'it uses a forbidden key (__proto__ or constructor.prototype)';
      done(new LogbookError('MALFORMED_JSON', `The request body is not valid JSON: ${reason}`), undefined);
    }
  });
}
