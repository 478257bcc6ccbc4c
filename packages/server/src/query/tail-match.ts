// The list filters evaluated in memory, for the live tail (which reads entries in arrival order and keeps the ones
// that match). Pure. Full text follows the stores' rule (letters/digits runs, lower-cased, diacritics removed), so a
// tail with q=… shows what the list with the same q finds.
import type { AuditEvent, LogEntry } from '@logbook/protocol';
import { searchTextOf } from '../domain/event.ts';
import { levelNumber, logSearchText } from '../domain/log-entry.ts';
import type { EventFilter } from './event-filter.ts';
import type { LogFilter } from './log-filter.ts';
import type { SearchTerm } from './search-terms.ts';

const WORD = /[\p{L}\p{N}\p{Co}]+/gu;
const MARKS = /\p{M}+/gu;

export function textWords(text: string): string[] {
  return text.normalize('NFD').replace(MARKS, '').toLowerCase().match(WORD) ?? [];
}

/** Every term must match: its words adjacent and in order, the last one as a prefix when the term is `word*`. */
export function matchesSearch(words: string[], terms: SearchTerm[]): boolean {
  return terms.every((term) => {
    const phrase = textWords(term.phrase);
    if (phrase.length === 0) return false;
    for (let i = 0; i + phrase.length <= words.length; i++) {
      let ok = true;
      for (let j = 0; j < phrase.length && ok; j++) {
        const word = words[i + j]!;
        const last = j === phrase.length - 1;
        ok = last && term.prefix ? word.startsWith(phrase[j]!) : word === phrase[j];
      }
      if (ok) return true;
    }
    return false;
  });
}

function inRange(ms: number, filter: { fromMs?: number; toMs?: number }): boolean {
  return (
    (filter.fromMs === undefined || ms >= filter.fromMs) && (filter.toMs === undefined || ms < filter.toMs)
  );
}

export function logMatches(entry: LogEntry, filter: LogFilter): boolean {
  if (entry.tenant !== filter.tenant) return false;
  if (filter.levels && !filter.levels.includes(levelNumber(entry.level))) return false;
  if (filter.services && !filter.services.includes(entry.service)) return false;
  if (filter.traceId !== undefined && entry.traceId !== filter.traceId) return false;
  if (!inRange(Date.parse(entry.timestamp), filter)) return false;
  return !filter.search || matchesSearch(textWords(logSearchText(entry)), filter.search);
}

export function eventMatches(event: AuditEvent, filter: EventFilter): boolean {
  if (event.tenant !== filter.tenant) return false;
  if (filter.actorId !== undefined && event.actor.id !== filter.actorId) return false;
  if (filter.actions) {
    const { exact, prefixes } = filter.actions;
    if (!exact.includes(event.action) && !prefixes.some((p) => event.action.startsWith(p))) return false;
  }
  if (filter.targetType !== undefined && event.target?.type !== filter.targetType) return false;
  if (filter.targetId !== undefined && event.target?.id !== filter.targetId) return false;
  if (filter.outcome !== undefined && event.outcome !== filter.outcome) return false;
  if (filter.ip !== undefined && event.context?.ip !== filter.ip) return false;
  if (!inRange(Date.parse(event.occurredAt), filter)) return false;
  return !filter.search || matchesSearch(textWords(searchTextOf(event)), filter.search);
}
