// Wire schemas of audit events (DESIGN.md §3): the one source for request validation, OpenAPI and SDK types.
// Pure data: limits here are the documented limits of the API.
import Type, { type Static } from 'typebox';
import { IsoDateTime, Tenant } from './common.ts';

export const EVENT_OUTCOMES = ['success', 'failure'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

export const ACTOR_TYPES = ['user', 'api_key', 'service', 'system'] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export const SORT_ORDERS = ['desc', 'asc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export const STATS_BUCKETS = ['hour', 'day'] as const;
export type StatsBucket = (typeof STATS_BUCKETS)[number];

/** Documented limits of the events API. */
export const EVENT_LIMITS = {
  maxEventsPerRequest: 10_000,
  maxDetailsBytes: 65_536,
  maxChangesBytes: 262_144,
  maxNestingDepth: 32,
  maxListLimit: 1000,
  defaultListLimit: 50,
  maxQueryLength: 256,
} as const;

const text = (maxLength: number, description?: string) =>
  Type.String({ minLength: 1, maxLength, ...(description ? { description } : {}) });

export const Actor = Type.Object(
  {
    id: text(256, 'Who acted: user id, key id, service name.'),
    name: Type.Optional(text(256)),
    type: Type.Optional(Type.Enum(ACTOR_TYPES)),
    email: Type.Optional(text(320)),
  },
  { additionalProperties: false },
);

export const Target = Type.Object(
  {
    type: Type.Optional(text(128, 'Kind of thing acted on, e.g. a table name or "invoice".')),
    id: Type.Optional(text(256, 'Id of the thing acted on, e.g. a record id.')),
    name: Type.Optional(text(256)),
  },
  { additionalProperties: false },
);

export const Changes = Type.Object(
  {
    before: Type.Optional(Type.Unknown({ description: 'State before the action (old values).' })),
    after: Type.Optional(Type.Unknown({ description: 'State after the action (new values).' })),
  },
  { additionalProperties: false },
);

export const EventContext = Type.Object(
  {
    ip: Type.Optional(text(64)),
    userAgent: Type.Optional(text(1024)),
    requestId: Type.Optional(text(256)),
    sessionId: Type.Optional(text(256)),
  },
  { additionalProperties: false },
);

export const Details = Type.Record(Type.String(), Type.Unknown(), {
  description: `Free JSON object, at most ${EVENT_LIMITS.maxDetailsBytes} bytes as JSON.`,
});

export const EventInput = Type.Object(
  {
    id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        pattern: '^[\\x21-\\x7E]+$',
        description:
          'Client id (printable ASCII, no spaces). Makes the write idempotent: a retry returns the same answer.',
      }),
    ),
    tenant: Type.Optional(Tenant),
    occurredAt: Type.Optional(IsoDateTime),
    action: text(128, 'What was done: INSERT, LOGIN, user.login, invoice.pay, …'),
    actor: Actor,
    target: Type.Optional(Target),
    changes: Type.Optional(Changes),
    outcome: Type.Optional(Type.Enum(EVENT_OUTCOMES)),
    description: Type.Optional(text(2000)),
    context: Type.Optional(EventContext),
    details: Type.Optional(Details),
  },
  { additionalProperties: false },
);
export type EventInput = Static<typeof EventInput>;

export const EventBatchInput = Type.Object(
  { events: Type.Array(EventInput, { minItems: 1, maxItems: EVENT_LIMITS.maxEventsPerRequest }) },
  { additionalProperties: false },
);

export const AuditEvent = Type.Object(
  {
    id: Type.String(),
    tenant: Type.String(),
    seq: Type.Integer({
      description: 'Position in the tenant log: 0, 1, 2, … gap-free (Merkle leaf index).',
    }),
    occurredAt: IsoDateTime,
    receivedAt: IsoDateTime,
    action: Type.String(),
    actor: Actor,
    target: Type.Optional(Target),
    changes: Type.Optional(Changes),
    outcome: Type.Enum(EVENT_OUTCOMES),
    description: Type.Optional(Type.String()),
    context: Type.Optional(EventContext),
    details: Type.Optional(Details),
    hash: Type.String({ description: 'Merkle leaf hash of the event, hex.' }),
  },
  { description: 'An audit event as stored.' },
);
export type AuditEvent = Static<typeof AuditEvent>;

export const AppendedEvent = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  seq: Type.Integer(),
  hash: Type.String(),
  occurredAt: IsoDateTime,
  receivedAt: IsoDateTime,
  duplicate: Type.Boolean({ description: 'True when this id was already stored with the same content.' }),
});
export type AppendedEvent = Static<typeof AppendedEvent>;

export const AppendEventsResponse = Type.Object({ events: Type.Array(AppendedEvent) });
export type AppendEventsResponse = Static<typeof AppendEventsResponse>;

export const EventListQuery = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    actor: Type.Optional(Type.String({ maxLength: 256, description: 'Actor id, exact.' })),
    action: Type.Optional(
      Type.String({ maxLength: 2048, description: 'Comma-separated actions; `prefix*` matches a prefix.' }),
    ),
    targetType: Type.Optional(Type.String({ maxLength: 128 })),
    targetId: Type.Optional(Type.String({ maxLength: 256 })),
    outcome: Type.Optional(Type.Enum(EVENT_OUTCOMES)),
    ip: Type.Optional(Type.String({ maxLength: 64 })),
    from: Type.Optional(Type.String({ description: 'Inclusive lower bound on occurredAt (ISO 8601).' })),
    to: Type.Optional(Type.String({ description: 'Exclusive upper bound on occurredAt (ISO 8601).' })),
    q: Type.Optional(
      Type.String({
        maxLength: EVENT_LIMITS.maxQueryLength,
        description: 'Full-text words (all must match); `word*` matches a prefix; "a b" matches a phrase.',
      }),
    ),
    limit: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: EVENT_LIMITS.maxListLimit,
        default: EVENT_LIMITS.defaultListLimit,
      }),
    ),
    order: Type.Optional(Type.Enum(SORT_ORDERS, { default: 'desc' })),
    cursor: Type.Optional(Type.String({ maxLength: 512, description: 'nextCursor of the previous page.' })),
    includeTotal: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export type EventListQuery = Static<typeof EventListQuery>;

export const EventListResponse = Type.Object({
  data: Type.Array(AuditEvent),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
  total: Type.Optional(Type.Integer()),
});
export type EventListResponse = Static<typeof EventListResponse>;

export const EventStatsQuery = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    from: Type.Optional(
      Type.String({ description: 'Window start (ISO 8601); default 30 days before `to`.' }),
    ),
    to: Type.Optional(Type.String({ description: 'Window end (ISO 8601); default now.' })),
    bucket: Type.Optional(Type.Enum(STATS_BUCKETS)),
    top: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 10 })),
  },
  { additionalProperties: false },
);
export type EventStatsQuery = Static<typeof EventStatsQuery>;

export const EventStats = Type.Object({
  total: Type.Integer({ description: 'All events of the tenant, ever.' }),
  last24h: Type.Integer({ description: 'Events that occurred in the last 24 hours.' }),
  byAction: Type.Record(Type.String(), Type.Integer()),
  byTargetType: Type.Record(Type.String(), Type.Integer()),
  topActors: Type.Array(Type.Object({ id: Type.String(), count: Type.Integer() })),
  histogram: Type.Array(Type.Object({ start: IsoDateTime, count: Type.Integer() })),
  window: Type.Object({ from: IsoDateTime, to: IsoDateTime, bucket: Type.String() }),
});
export type EventStats = Static<typeof EventStats>;

/** Ids one redaction request may name (the record lists them, within an event's details limit). */
export const MAX_REDACT_IDS = 200;

export const RedactEventsInput = Type.Object(
  {
    tenant: Type.Optional(Tenant),
    ids: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: MAX_REDACT_IDS }),
    ),
    before: Type.Optional(
      Type.String({
        format: 'date-time',
        description: 'Every event that occurred before this instant (ISO 8601).',
      }),
    ),
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'Why (an erasure ticket, a policy): kept in the deletion record.',
    }),
  },
  { additionalProperties: false },
);
export type RedactEventsInput = Static<typeof RedactEventsInput>;

export const RedactEventsResponse = Type.Object({
  tenant: Type.String(),
  count: Type.Integer({ description: 'Events whose payload was deleted now.' }),
  ids: Type.Optional(Type.Array(Type.String(), { description: 'The ids deleted (when ids were named).' })),
  recordId: Type.String({ description: 'The audit event that records this deletion.' }),
  recordSeq: Type.Integer(),
});
export type RedactEventsResponse = Static<typeof RedactEventsResponse>;
