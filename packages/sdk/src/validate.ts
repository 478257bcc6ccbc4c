// Client-side checks of events against the protocol's own EventInput schema, so one bad event is refused at the
// call site instead of failing a whole batch at the server. Browser-safe; the server stays the authority.
import { type EventInput, EventInput as EventInputSchema, type FieldIssue } from '@logbook/protocol';
import { Value } from 'typebox/value';
import { LogbookValidationError } from './errors.ts';
import { uuidv7 } from './ids.ts';

/**
 * The event as it will be sent: validated, with a client id (so retries are idempotent) and occurredAt set to now
 * when absent (the time of the call, not of the eventual flush).
 */
export function prepareEventInput(event: EventInput, now: number = Date.now()): EventInput & { id: string } {
  const prepared = {
    ...event,
    id: event.id ?? uuidv7(now),
    occurredAt: event.occurredAt ?? new Date(now).toISOString(),
  };
  if (!Value.Check(EventInputSchema, prepared)) {
    const issues: FieldIssue[] = Value.Errors(EventInputSchema, prepared)
      .filter((e) => e.keyword !== 'boolean')
      .map((e) => ({ field: `event${e.instancePath}`, rule: e.keyword, message: e.message }));
    const first = issues[0];
    throw new LogbookValidationError(
      `Invalid event: ${first ? `${first.field} ${first.message}` : 'does not match EventInput'}`,
      issues,
    );
  }
  return prepared;
}
