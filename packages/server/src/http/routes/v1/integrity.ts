// /api/v1/integrity: signed checkpoints, inclusion and consistency proofs, the public key. Parse, call, reply.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  CheckpointCreate,
  CheckpointQuery,
  CheckpointResponse,
  ConsistencyProofQuery,
  ConsistencyProofResponse,
  ErrorBodySchema,
  InclusionProofQuery,
  InclusionProofResponse,
  PublicKeyResponse,
} from '@logbook/protocol';
import type { IntegrityService } from '../../../services/integrity.ts';
import { principalOf } from '../../plugins/auth.ts';

const errors = { 400: ErrorBodySchema, 401: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema };

export const integrityRoutes: FastifyPluginAsyncTypebox<{ integrity: IntegrityService }> = async (
  app,
  { integrity },
) => {
  app.get(
    '/api/v1/integrity/checkpoint',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['integrity'],
        summary: 'The latest signed checkpoint of a tenant log (or the one at treeSize)',
        querystring: CheckpointQuery,
        response: { 200: CheckpointResponse, ...errors },
      },
    },
    async (request) =>
      integrity.getCheckpoint(principalOf(request), request.query.tenant, request.query.treeSize),
  );

  app.post(
    '/api/v1/integrity/checkpoint',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['integrity'],
        summary: 'Sign a checkpoint of the current tree head now (no-op when the latest already covers it)',
        body: CheckpointCreate,
        response: { 200: CheckpointResponse, ...errors },
      },
    },
    async (request) => integrity.createCheckpoint(principalOf(request), request.body?.tenant),
  );

  app.get(
    '/api/v1/integrity/proof/inclusion',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['integrity'],
        summary: 'Proof that an event (by id or seq) is in the log at a tree size',
        querystring: InclusionProofQuery,
        response: { 200: InclusionProofResponse, ...errors },
      },
    },
    async (request) => integrity.inclusionProof(principalOf(request), request.query),
  );

  app.get(
    '/api/v1/integrity/proof/consistency',
    {
      config: { scope: 'audit:read' },
      schema: {
        tags: ['integrity'],
        summary: 'Proof that the log at size `to` extends the log at size `from` (nothing rewritten)',
        querystring: ConsistencyProofQuery,
        response: { 200: ConsistencyProofResponse, ...errors },
      },
    },
    async (request) => integrity.consistencyProof(principalOf(request), request.query),
  );

  app.get(
    '/api/v1/integrity/public-key',
    {
      config: { scope: 'public' },
      schema: {
        tags: ['integrity'],
        summary: 'The checkpoint signing public key',
        response: { 200: PublicKeyResponse },
      },
    },
    async () => integrity.publicKey(),
  );
};
