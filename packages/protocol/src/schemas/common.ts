// Wire schemas shared by every resource: error body, tenant names, ISO dates. Pure data, no I/O.
import Type from 'typebox';
import { ERROR_CODES } from '../errors.ts';

export const TENANT_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
export const DEFAULT_TENANT = 'default';

export const Tenant = Type.String({
  pattern: TENANT_PATTERN,
  description: 'Tenant name: 1–64 of A–Z a–z 0–9 . _ - (starting with a letter or digit). Default "default".',
  examples: ['default', 'acme'],
});

export const IsoDateTime = Type.String({
  description: 'ISO 8601 date-time in UTC or with an offset, e.g. 2026-11-22T10:15:00Z.',
  examples: ['2026-11-22T10:15:00.000Z'],
});

export const ErrorBodySchema = Type.Object(
  {
    error: Type.Object({
      code: Type.Enum(ERROR_CODES),
      status: Type.Integer(),
      message: Type.String(),
      requestId: Type.Optional(Type.String()),
      issues: Type.Optional(
        Type.Array(Type.Object({ field: Type.String(), rule: Type.String(), message: Type.String() })),
      ),
    }),
  },
  { description: 'Every Logbook error: a stable code from the catalog and what to fix.' },
);
