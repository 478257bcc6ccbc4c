// API key use cases: create (the secret is returned once and never stored or logged), list, revoke, and the
// first-start bootstrap of the admin key.
import {
  type ApiKey,
  type ApiKeyCreate,
  type ApiKeyCreated,
  LogbookError,
  type Scope,
} from '@logbook/protocol';
import { hashApiKey, newApiKey } from '../auth/api-keys.ts';
import { bindingFor, mayManage, type Principal, tenantFor } from '../auth/principal.ts';
import { requireIsoTime, toIso } from '../domain/time.ts';
import type { ApiKeyRecord, Store } from '../store/store.ts';
import { type RequestContext, SELF_AUDIT_ACTIONS, type SelfAudit } from './self-audit.ts';

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

/** The wire view of a key: never its secret or hash. */
export function apiKeyView(record: ApiKeyRecord): ApiKey {
  const time = (ms: number | null) => (ms === null ? null : toIso(ms));
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    scopes: record.scopes as Scope[],
    tenant: record.tenant,
    createdAt: toIso(record.createdMs),
    lastUsedAt: time(record.lastUsedMs),
    expiresAt: time(record.expiresMs),
    revokedAt: time(record.revokedMs),
  };
}

/** Admin use cases of API keys. Scopes are checked by the routes; tenants and self-audit here. */
export class KeyService {
  constructor(
    private readonly store: Store,
    private readonly audit: SelfAudit,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(
    principal: Principal,
    input: ApiKeyCreate,
    context: RequestContext = {},
  ): Promise<ApiKeyCreated> {
    const nowMs = this.clock();
    let expiresMs: number | null = null;
    if (input.expiresAt !== undefined) {
      expiresMs = requireIsoTime('body/expiresAt', input.expiresAt, true);
      if (expiresMs <= nowMs) {
        throw new LogbookError(
          'VALIDATION_FAILED',
          'body/expiresAt is in the past; a key must expire in the future.',
          {
            issues: [{ field: 'body/expiresAt', rule: 'future', message: 'must be in the future' }],
          },
        );
      }
    }
    const { record, secret } = newApiKey({
      name: input.name,
      scopes: input.scopes,
      tenant: bindingFor(principal, input.tenant),
      expiresMs,
      nowMs,
    });
    await this.store.insertApiKey(record);
    await this.audit.record({
      actor: principal,
      action: SELF_AUDIT_ACTIONS.keyCreate,
      target: { type: 'api_key', id: record.id, name: record.name },
      description: `${principal.name} created API key "${record.name}" (${record.prefix}…)`,
      details: {
        prefix: record.prefix,
        scopes: record.scopes,
        tenant: record.tenant,
        expiresAt: expiresMs === null ? null : toIso(expiresMs),
      },
      context,
    });
    return { ...apiKeyView(record), key: secret };
  }

  /** Keys the principal may manage: all, or `tenant`'s; a tenant-bound admin only its tenant's. */
  async list(principal: Principal, tenant?: string): Promise<ApiKey[]> {
    const filter =
      principal.tenant !== null
        ? { tenant: tenantFor(principal, tenant, principal.tenant) }
        : tenant
          ? { tenant }
          : {};
    return (await this.store.listApiKeys(filter)).map(apiKeyView);
  }

  /** Revokes at once (idempotent: revoking a revoked key answers it as it is). */
  async revoke(principal: Principal, id: string, context: RequestContext = {}): Promise<ApiKey> {
    const existing = await this.store.findApiKeyById(id);
    if (!existing || !mayManage(principal, existing.tenant)) {
      throw new LogbookError('NOT_FOUND', `No API key with id "${id}".`);
    }
    if (existing.revokedMs !== null) return apiKeyView(existing);
    const revoked = await this.store.revokeApiKey(id, this.clock());
    if (!revoked) throw new LogbookError('NOT_FOUND', `No API key with id "${id}".`);
    await this.audit.record({
      actor: principal,
      action: SELF_AUDIT_ACTIONS.keyRevoke,
      target: { type: 'api_key', id: revoked.id, name: revoked.name },
      description: `${principal.name} revoked API key "${revoked.name}" (${revoked.prefix}…)`,
      details: { prefix: revoked.prefix, tenant: revoked.tenant },
      context,
    });
    return apiKeyView(revoked);
  }
}
