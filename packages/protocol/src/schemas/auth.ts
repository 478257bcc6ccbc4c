// Scopes, credentials and users on the wire (DESIGN.md §5). Pure data shared by server, SDK, CLI and dashboard.
import Type, { type Static } from 'typebox';
import { IsoDateTime, Tenant } from './common.ts';

/** Every permission a credential can hold. `admin` implies all the others. */
export const SCOPES = ['audit:read', 'audit:write', 'logging:read', 'logging:write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Roles of local users: `admin` holds every scope; a `member` holds the scopes it was given. */
export const USER_ROLES = ['admin', 'member'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** Scopes a member gets when it is created without any: read-only, for the dashboard. */
export const DEFAULT_MEMBER_SCOPES: readonly Scope[] = ['audit:read', 'logging:read'];

export const USERNAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$';
export const PASSWORD_LIMITS = { minLength: 8, maxLength: 1024 } as const;

const nullableTime = (description: string) =>
  Type.Union([IsoDateTime, Type.Null()], { description: `${description} (null: never).` });
const ScopeList = Type.Array(Type.Enum(SCOPES), { minItems: 1, uniqueItems: true });
const BoundTenant = Type.Union([Type.String(), Type.Null()], {
  description: 'The tenant the credential is bound to; null = not bound (may choose any tenant).',
});

export const ApiKeyCreate = Type.Object(
  {
    name: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'What the key is for, e.g. "billing-service".',
    }),
    scopes: ScopeList,
    tenant: Type.Optional(Tenant),
    expiresAt: Type.Optional(
      Type.String({ description: 'ISO 8601 date-time after which the key stops working.' }),
    ),
  },
  { additionalProperties: false },
);
export type ApiKeyCreate = Static<typeof ApiKeyCreate>;

const apiKeyProperties = {
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the secret, to recognise a key.' }),
  scopes: Type.Array(Type.Enum(SCOPES)),
  tenant: BoundTenant,
  createdAt: IsoDateTime,
  lastUsedAt: nullableTime('Last successful use, to the minute'),
  expiresAt: nullableTime('When the key stops working'),
  revokedAt: nullableTime('When the key was revoked'),
};

/** An API key as listed: never its secret. */
export const ApiKey = Type.Object(apiKeyProperties);
export type ApiKey = Static<typeof ApiKey>;

/** The answer to creating a key: the only time its secret is shown. */
export const ApiKeyCreated = Type.Object({
  ...apiKeyProperties,
  key: Type.String({ description: 'The secret. Shown only in this response; Logbook keeps only its hash.' }),
});
export type ApiKeyCreated = Static<typeof ApiKeyCreated>;

export const ApiKeyList = Type.Object({ data: Type.Array(ApiKey) });
export type ApiKeyList = Static<typeof ApiKeyList>;

export const AdminListQuery = Type.Object({ tenant: Type.Optional(Tenant) }, { additionalProperties: false });
export type AdminListQuery = Static<typeof AdminListQuery>;

export const UserCreate = Type.Object(
  {
    username: Type.String({
      pattern: USERNAME_PATTERN,
      description:
        '1–128 of A–Z a–z 0–9 . _ @ + - (starting with a letter or digit); unique, case-insensitively.',
    }),
    password: Type.String({
      minLength: PASSWORD_LIMITS.minLength,
      maxLength: PASSWORD_LIMITS.maxLength,
      description: `${PASSWORD_LIMITS.minLength}–${PASSWORD_LIMITS.maxLength} characters; stored only as a scrypt hash.`,
    }),
    role: Type.Optional(
      Type.Enum(USER_ROLES, { description: '`admin` holds every scope. Default `member`.' }),
    ),
    scopes: Type.Optional(
      Type.Array(Type.Enum(SCOPES), {
        uniqueItems: true,
        description: `A member's scopes (not \`admin\`: use the role). Default ${DEFAULT_MEMBER_SCOPES.join(', ')}.`,
      }),
    ),
    tenant: Type.Optional(Tenant),
  },
  { additionalProperties: false },
);
export type UserCreate = Static<typeof UserCreate>;

/** A local user as listed: never the password or its hash. */
export const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: Type.Enum(USER_ROLES),
  scopes: Type.Array(Type.Enum(SCOPES), { description: 'Effective scopes.' }),
  tenant: BoundTenant,
  createdAt: IsoDateTime,
  disabledAt: nullableTime('When the user was disabled'),
  lastLoginAt: nullableTime('Last successful login'),
});
export type User = Static<typeof User>;

export const UserList = Type.Object({ data: Type.Array(User) });
export type UserList = Static<typeof UserList>;

export const LoginRequest = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 256 }),
    password: Type.String({ minLength: 1, maxLength: PASSWORD_LIMITS.maxLength }),
  },
  { additionalProperties: false },
);
export type LoginRequest = Static<typeof LoginRequest>;

export const LoginResponse = Type.Object({
  token: Type.String({ description: 'A JWT to send as "Authorization: Bearer <token>".' }),
  tokenType: Type.Literal('Bearer'),
  expiresAt: IsoDateTime,
  user: User,
});
export type LoginResponse = Static<typeof LoginResponse>;
