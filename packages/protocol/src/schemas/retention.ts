// Wire schemas of retention (GET|PUT /api/v1/retention, POST /api/v1/retention/run) and of the exports
// (GET /api/v1/events/export, /api/v1/logs/export). Pure data, no I/O.
import Type, { type Static } from 'typebox';
import { Tenant } from './common.ts';
import { EventListQuery } from './events.ts';
import { LogListQuery } from './logs.ts';

export const RETENTION_STREAMS = ['events', 'logs'] as const;
export const RETENTION_SOURCES = ['policy', 'default'] as const;
/** Longest retention a policy may name (100 years); 0 means forever. */
export const MAX_RETENTION_DAYS = 36_500;

export const RetentionStreamName = Type.Enum(RETENTION_STREAMS, {
  description: '`events`: audit events (payloads redacted, leaf hashes kept); `logs`: system logs (deleted).',
});

export const RetentionPolicyBody = Type.Object({
  tenant: Type.String(),
  stream: RetentionStreamName,
  days: Type.Integer({ description: 'Days kept; 0 = forever.' }),
  source: Type.Enum(RETENTION_SOURCES, {
    description: '`policy`: set for this tenant stream; `default`: LOGBOOK_RETENTION_DAYS applies.',
  }),
  updatedAt: Type.Union([Type.String(), Type.Null()]),
  updatedBy: Type.Union([Type.String(), Type.Null()]),
});
export type RetentionPolicyBody = Static<typeof RetentionPolicyBody>;

export const RetentionQuery = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    stream: Type.Optional(RetentionStreamName),
  },
  { additionalProperties: false },
);
export type RetentionQuery = Static<typeof RetentionQuery>;

export const RetentionListResponse = Type.Object({
  defaultDays: Type.Integer({ description: 'LOGBOOK_RETENTION_DAYS (0 = forever).' }),
  archive: Type.Boolean({ description: 'Whether retention archives audit events before deleting them.' }),
  data: Type.Array(RetentionPolicyBody),
});
export type RetentionListResponse = Static<typeof RetentionListResponse>;

export const RetentionPutInput = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    stream: RetentionStreamName,
    days: Type.Integer({ minimum: 0, maximum: MAX_RETENTION_DAYS, description: 'Days kept; 0 = forever.' }),
  },
  { additionalProperties: false },
);
export type RetentionPutInput = Static<typeof RetentionPutInput>;

export const RetentionRunInput = Type.Object(
  { tenant: Type.Optional(Tenant) },
  { additionalProperties: false, description: 'Limit the run to one tenant (a tenant-bound key: its own).' },
);
export type RetentionRunInput = Static<typeof RetentionRunInput>;

export const RetentionRunResponse = Type.Object({
  startedAt: Type.String(),
  deleted: Type.Integer({ description: 'Entries removed (audit events: payloads redacted; logs: deleted).' }),
  archived: Type.Integer({
    description: 'Audit events written to archives before their payloads were deleted.',
  }),
  purged: Type.Array(
    Type.Object({
      tenant: Type.String(),
      stream: RetentionStreamName,
      days: Type.Integer(),
      before: Type.String({ description: 'Entries that occurred before this instant were removed.' }),
      deleted: Type.Integer(),
      archived: Type.Integer(),
      archive: Type.Union([Type.String(), Type.Null()], {
        description: 'The archive data file, relative to the archive directory.',
      }),
      recordId: Type.Union([Type.String(), Type.Null()], {
        description: 'The `logbook.events.redact` audit event that records the deletion.',
      }),
      pruned: Type.Optional(
        Type.Array(
          Type.Object({
            partition: Type.String(),
            from: Type.String(),
            to: Type.String(),
            count: Type.Integer(),
            belowSeq: Type.Integer(),
          }),
          {
            description:
              'PostgreSQL: monthly partitions dropped whole instead of deleting their rows one by one (part of `deleted`); `logbook verify` lists them as pruned.',
          },
        ),
      ),
    }),
  ),
});
export type RetentionRunResponse = Static<typeof RetentionRunResponse>;

export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
const ExportFormat = Type.Enum(EXPORT_FORMATS, { default: 'ndjson' });

export const EventExportQuery = Type.Object(
  {
    ...Type.Omit(EventListQuery, ['limit', 'cursor', 'includeTotal']).properties,
    format: Type.Optional(ExportFormat),
  },
  { additionalProperties: false },
);
export type EventExportQuery = Static<typeof EventExportQuery>;

export const LogExportQuery = Type.Object(
  {
    ...Type.Omit(LogListQuery, ['limit', 'cursor']).properties,
    format: Type.Optional(ExportFormat),
  },
  { additionalProperties: false },
);
export type LogExportQuery = Static<typeof LogExportQuery>;
