// API key secrets: generation, hashing and verification. Secrets exist only in the response that creates
// them; the store keeps SHA-256 hashes (keys are 240-bit random, so a fast hash is enough), compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { LogbookError, type Scope } from '@logbook/protocol';
import { v7 as uuidv7 } from 'uuid';
import type { ApiKeyRecord, Store } from '../store/store.ts';
import type { Principal } from './principal.ts';

const KEY_PREFIX = 'lbk_';

/** "Last used" is recorded at most once per this interval per key: a write a minute, not a write a request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export const hashApiKey = (secret: string): Uint8Array => createHash('sha256').update(secret).digest();

/**
 * The shown part of a secret: `lbk_` and 8 random characters of a generated key (48 of its 240 random bits);
 * only 4 characters of a chosen one (LOGBOOK_ADMIN_KEY may be as short as 16), so the rest stays unguessable.
 */
export function keyPrefix(secret: string): string {
  return secret.startsWith(KEY_PREFIX) && secret.length >= 40 ? secret.slice(0, 12) : secret.slice(0, 4);
}

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
      prefix: keyPrefix(secret),
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
  if (record.lastUsedMs === null || nowMs - record.lastUsedMs >= LAST_USED_RESOLUTION_MS) {
    try {
      await store.touchApiKey(record.id, nowMs);
    } catch {
      // Best effort: "last used" is informational and must never fail an otherwise valid request.
    }
  }
  return {
    kind: 'api_key',
    id: record.id,
    name: record.name,
    scopes: record.scopes as Scope[],
    tenant: record.tenant,
  };
}
