// API key secrets: generation, hashing and verification. Secrets exist only in the response that creates
// them; the store keeps SHA-256 hashes (keys are 240-bit random, so a fast hash is enough), compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LogbookError, type Scope } from '@logbook/protocol';
import { v7 as uuidv7 } from 'uuid';
import type { ApiKeyRecord, Store } from '../store/store.ts';
import type { Principal } from './principal.ts';

const KEY_PREFIX = 'lbk_';

export const hashApiKey = (secret: string): Uint8Array => createHash('sha256').update(secret).digest();

export function newApiKey(options: {
  name: string;
  scopes: Scope[];
  tenant?: string | null;
  expiresMs?: number | null;
  nowMs: number;
  secret?: string;
}): { record: ApiKeyRecord; secret: string } {
  const secret = options.secret ?? `${KEY_PREFIX}${randomBytes(30).toString('base64url')}`;
  return {
    secret,
    record: {
      id: uuidv7(),
      name: options.name,
      prefix: secret.slice(0, 12),
      secretHash: hashApiKey(secret),
      scopes: options.scopes,
      tenant: options.tenant ?? null,
      createdMs: options.nowMs,
      expiresMs: options.expiresMs ?? null,
      lastUsedMs: null,
      revokedMs: null,
    },
  };
}

/** Resolves a presented key to its principal, or throws the 401 that says why. */
export async function authenticateApiKey(store: Store, secret: string, nowMs: number): Promise<Principal> {
  const hash = hashApiKey(secret);
  const record = await store.findApiKeyByHash(hash);
  if (!record || !timingSafeEqual(Buffer.from(record.secretHash), Buffer.from(hash))) {
    throw new LogbookError(
      'UNAUTHENTICATED',
      'The API key is not valid. Check it was copied whole, or create a new one.',
    );
  }
  if (record.revokedMs !== null) throw new LogbookError('UNAUTHENTICATED', 'This API key has been revoked.');
  if (record.expiresMs !== null && record.expiresMs <= nowMs) {
    throw new LogbookError('UNAUTHENTICATED', 'This API key has expired.');
  }
  return {
    kind: 'api_key',
    id: record.id,
    name: record.name,
    scopes: record.scopes as Scope[],
    tenant: record.tenant,
  };
}
