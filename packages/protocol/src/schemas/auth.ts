// Scopes and credential shapes (DESIGN.md §5). Pure data shared by server, SDK, CLI and dashboard.
import Type, { type Static } from 'typebox';
import { Tenant } from './common.ts';

/** Every permission a credential can hold. `admin` implies all the others. */
export const SCOPES = ['audit:read', 'audit:write', 'logging:read', 'logging:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export const ApiKeyCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    scopes: Type.Array(Type.Enum(SCOPES), { minItems: 1, uniqueItems: true }),
    tenant: Type.Optional(Tenant),
    expiresAt: Type.Optional(
      Type.String({ description: 'ISO 8601 date-time after which the key stops working.' }),
    ),
  },
  { additionalProperties: false },
);
export type ApiKeyCreate = Static<typeof ApiKeyCreate>;
