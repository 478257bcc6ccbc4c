// Wire schemas of the live tails (GET /api/v1/events/tail, /api/v1/logs/tail: Server-Sent Events). Pure data.
// The filters are the lists' filters; paging parameters make no sense on a stream and are refused.
import Type, { type Static } from 'typebox';
import { EventListQuery } from './events.ts';

/** Documented behaviour of a tail connection (README "Live tail"). */
export const TAIL_LIMITS = {
  /** A comment line is sent this often when nothing else is, so proxies keep the connection open. */
  heartbeatMs: 15_000,
  /** Bytes a connection may have queued unsent before the server stops reading for it. */
  maxBufferedBytes: 1_048_576,
  /** A connection that stays over that limit this long is closed with a `reconnect` event. */
  stallTimeoutMs: 30_000,
  /** A dropped connection's last bytes (at most the limit plus the `reconnect` event) wait this long to be read. */
  closeGraceMs: 60_000,
  /** The browser's EventSource waits this long before reconnecting (the `retry:` field). */
  retryMs: 1000,
} as const;

export const TailEventId = Type.String({
  pattern: '^[0-9]{1,15}$',
  description:
    'Resume after this event id (the `id:` of the last event received; the Last-Event-ID header wins).',
});

/** `follow=false`: send what is there after the resume point, then end (like `tail` without `-f`). */
export const TailFollow = Type.Boolean({
  default: true,
  description:
    'false: send the entries after the resume point, then end the stream instead of waiting for more.',
});

export const EventTailQuery = Type.Object(
  {
    ...Type.Omit(EventListQuery, ['limit', 'order', 'cursor', 'includeTotal']).properties,
    lastEventId: Type.Optional(TailEventId),
    follow: Type.Optional(TailFollow),
  },
  { additionalProperties: false },
);
export type EventTailQuery = Static<typeof EventTailQuery>;
