// `logbook events search|tail`: find audit events (a table, or JSON for scripts) and follow new ones live, through the
// SDK. Filters are the API's list filters as flags. Tail ends on Ctrl-C, or with --once when caught up.
import { parseArgs } from 'node:util';
import {
  EVENT_OUTCOMES,
  type EventListQuery,
  type EventOutcome,
  SORT_ORDERS,
  type SortOrder,
} from '@logbook/protocol';
import type { AuditEvent } from '@logbook/sdk';
import {
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  clientFrom,
  printJson,
  runClient,
  table,
  UsageError,
} from './client-options.ts';

export const EVENT_FILTER_OPTIONS = {
  actor: { type: 'string' },
  action: { type: 'string' },
  'target-type': { type: 'string' },
  'target-id': { type: 'string' },
  outcome: { type: 'string' },
  ip: { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  q: { type: 'string' },
} as const;

export const EVENT_FILTERS_HELP = `Filters:
  --actor ID          actor id, exact
  --action A[,B]      actions; "user.*" matches a prefix
  --target-type T     --target-id ID
  --outcome O         ${EVENT_OUTCOMES.join(' or ')}
  --ip IP
  --from ISO --to ISO occurrence time window (from inclusive, to exclusive)
  --q "words"         full-text search`;

export const EVENTS_USAGE = `logbook events search [filters] [--limit N] [--order desc|asc] [--json]
logbook events tail [filters] [--after ID] [--once] [--json]

search: matching audit events as a table (newest first), or a JSON array with --json.
  --limit N     rows to show (default 50; pages are fetched as needed)
tail: new events as they are recorded, one line each (NDJSON with --json), until Ctrl-C.
  --after ID    start after this event seq (the ID a previous tail printed) instead of now
  --once        exit when caught up instead of waiting for more

${EVENT_FILTERS_HELP}

${CLIENT_OPTIONS_HELP}

Examples:
  logbook events search --actor alice --from 2026-01-01T00:00:00Z
  logbook events search --action "user.*" --outcome failure --limit 200 --json
  logbook events tail --action invoice.pay`;

type FilterValues = { [K in keyof typeof EVENT_FILTER_OPTIONS]?: string | undefined } & {
  tenant?: string | undefined;
};

/** The API's list query from the filter flags. */
export function eventFilters(values: FilterValues): Omit<EventListQuery, 'limit' | 'order' | 'cursor'> {
  if (values.outcome && !(EVENT_OUTCOMES as readonly string[]).includes(values.outcome)) {
    throw new UsageError(`--outcome must be ${EVENT_OUTCOMES.join(' or ')}`);
  }
  const query: Record<string, string> = {};
  const map: [keyof FilterValues, string][] = [
    ['tenant', 'tenant'],
    ['actor', 'actor'],
    ['action', 'action'],
    ['target-type', 'targetType'],
    ['target-id', 'targetId'],
    ['outcome', 'outcome'],
    ['ip', 'ip'],
    ['from', 'from'],
    ['to', 'to'],
    ['q', 'q'],
  ];
  for (const [flag, field] of map) if (values[flag]) query[field] = values[flag] as string;
  return query as Omit<EventListQuery, 'limit' | 'order' | 'cursor'> & { outcome?: EventOutcome };
}

const target = (e: AuditEvent) => [e.target?.type, e.target?.id ?? e.target?.name].filter(Boolean).join(':');
const actor = (e: AuditEvent) => (e.actor.name ? `${e.actor.id} (${e.actor.name})` : e.actor.id);
export const eventLine = (e: AuditEvent) =>
  `${e.occurredAt}  #${e.seq}  ${e.action}  ${actor(e)}${target(e) ? ` -> ${target(e)}` : ''}  ${e.outcome}`;

export async function eventsCommand(args: string[]): Promise<number> {
  return runClient('events', EVENTS_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...CLIENT_OPTIONS,
        ...EVENT_FILTER_OPTIONS,
        limit: { type: 'string' },
        order: { type: 'string' },
        after: { type: 'string' },
        once: { type: 'boolean', default: false },
      },
    });
    const [verb] = positionals;
    const filters = eventFilters(values);
    if (verb === 'search') {
      const limit = values.limit === undefined ? 50 : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError('--limit must be a positive whole number');
      if (values.order && !(SORT_ORDERS as readonly string[]).includes(values.order)) {
        throw new UsageError(`--order must be ${SORT_ORDERS.join(' or ')}`);
      }
      const events = await clientFrom(values)
        .events.list({
          ...filters,
          limit: Math.min(limit, 1000),
          ...(values.order ? { order: values.order as SortOrder } : {}),
        })
        .toArray(limit);
      if (values.json) return printJson(events);
      if (events.length === 0) {
        console.log('No events match.');
        return;
      }
      console.log(
        table(
          ['TIME', 'SEQ', 'ACTION', 'ACTOR', 'TARGET', 'OUTCOME', 'ID'],
          events.map((e) => [e.occurredAt, e.seq, e.action, actor(e), target(e), e.outcome, e.id]),
        ),
      );
      console.error(
        `${events.length} event(s)${events.length === limit ? ` (first ${limit}; raise --limit for more)` : ''}`,
      );
      return;
    }
    if (verb === 'tail') {
      if (values.after !== undefined && !/^[0-9]{1,15}$/.test(values.after)) {
        throw new UsageError('--after must be an event seq (a whole number a previous tail printed)');
      }
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      process.once('SIGTERM', () => controller.abort());
      console.error('Following audit events (Ctrl-C to stop)…');
      const stream = clientFrom(values).events.tail(
        {
          ...filters,
          ...(values.after !== undefined ? { lastEventId: values.after } : {}),
          ...(values.once ? { follow: false } : {}),
        },
        { signal: controller.signal },
      );
      for await (const event of stream) {
        const { tailId: _id, ...plain } = event;
        console.log(values.json ? JSON.stringify(plain) : eventLine(plain));
      }
      return;
    }
    throw new UsageError(verb ? `unknown subcommand "${verb}"` : 'missing subcommand: search or tail');
  });
}
