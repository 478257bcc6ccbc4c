// API key use cases, including the first-start bootstrap of the admin key.
// The secret of a new key is returned once and never stored or logged.
import type { Scope } from '@logbook/protocol';
import { hashApiKey, newApiKey } from '../auth/api-keys.ts';
import type { Store } from '../store/store.ts';

export type BootstrapOutcome =
  | { kind: 'created'; secret: string }
  | { kind: 'configured' }
  | { kind: 'existing' };

/**
 * First start without credentials: create an admin key and hand its secret to the caller to print once.
 * With LOGBOOK_ADMIN_KEY: make sure that key exists (only its hash is stored).
 */
export async function bootstrapAdminKey(
  store: Store,
  configuredKey: string | undefined,
  nowMs: number,
): Promise<BootstrapOutcome> {
  const adminScopes: Scope[] = ['admin'];
  if (configuredKey !== undefined) {
    if (!(await store.findApiKeyByHash(hashApiKey(configuredKey)))) {
      const { record } = newApiKey({
        name: 'admin (LOGBOOK_ADMIN_KEY)',
        scopes: adminScopes,
        nowMs,
        secret: configuredKey,
      });
      await store.insertApiKey(record);
    }
    return { kind: 'configured' };
  }
  if ((await store.countApiKeys()) > 0) return { kind: 'existing' };
  const { record, secret } = newApiKey({ name: 'admin (first start)', scopes: adminScopes, nowMs });
  await store.insertApiKey(record);
  return { kind: 'created', secret };
}
