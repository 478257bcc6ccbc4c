// Who is calling, as every service sees it, whatever the credential was. Pure types and checks.
import { LogbookError, SCOPES, type Scope } from '@logbook/protocol';

/** `system` is Logbook itself (its own audit events); no credential ever authenticates as it. */
export const PRINCIPAL_KINDS = ['api_key', 'user', 'jwt', 'system'] as const;
export type PrincipalKind = (typeof PRINCIPAL_KINDS)[number];

export interface Principal {
  kind: PrincipalKind;
  id: string;
  name: string;
  scopes: readonly Scope[];
  /** Bound tenant: the principal sees and writes nothing else. Null = may choose any tenant. */
  tenant: string | null;
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope);
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (!hasScope(principal, scope)) {
    throw new LogbookError(
      'FORBIDDEN',
      `This credential lacks the "${scope}" scope needed here; ask an admin for a key with it.`,
    );
  }
}

/** The tenant a request acts on: the requested one if allowed, else the bound one, else `fallback`. */
export function tenantFor(principal: Principal, requested: string | undefined, fallback: string): string {
  if (principal.tenant !== null) {
    if (requested !== undefined && requested !== principal.tenant) {
      throw new LogbookError(
        'FORBIDDEN',
        `This credential is bound to tenant "${principal.tenant}" and cannot use tenant "${requested}".`,
      );
    }
    return principal.tenant;
  }
  return requested ?? fallback;
}

/** Logbook acting on its own behalf, e.g. appending its self-audit events to any tenant. */
export const SYSTEM_PRINCIPAL: Principal = {
  kind: 'system',
  id: 'logbook',
  name: 'Logbook',
  scopes: ['admin'],
  tenant: null,
};

/**
 * The tenant a new credential (key, user) is bound to: a bound principal can only create credentials bound to
 * its own tenant; an unbound one binds to the requested tenant, or to none.
 */
export function bindingFor(principal: Principal, requested: string | undefined): string | null {
  if (principal.tenant !== null) return tenantFor(principal, requested, principal.tenant);
  return requested ?? null;
}

/** Whether a principal may see or change a credential bound to `boundTenant` (null = unbound). */
export function mayManage(principal: Principal, boundTenant: string | null): boolean {
  return principal.tenant === null || principal.tenant === boundTenant;
}

/** The scopes a local user holds: role `admin` holds every scope, a member the ones it was given. */
export function userScopes(role: string, scopes: readonly string[]): Scope[] {
  if (role === 'admin') return ['admin'];
  return scopes.filter(
    (scope): scope is Scope => scope !== 'admin' && (SCOPES as readonly string[]).includes(scope),
  );
}
