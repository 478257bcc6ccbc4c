// Replies whose JSON text a service built itself from stored JSON (list pages spliced from stored bodies). Fastify
// sends a string of this type unchanged, past the route's response schema: never for text the server did not write.
import type { FastifyReply } from 'fastify';

const JSON_UTF8 = 'application/json; charset=utf-8';

export function sendJsonText(reply: FastifyReply, json: string): FastifyReply {
  return reply.type(JSON_UTF8).send(json);
}
