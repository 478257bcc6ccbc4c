// Who is calling, as every service sees it, whatever the credential was. Pure types and checks.
import { LogbookError, type Scope } from '@logbook/protocol';

export const PRINCIPAL_KINDS = ['api_key', 'user', 'jwt'] as const;
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
