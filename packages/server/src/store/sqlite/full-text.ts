// FTS5 query text for parsed search terms, shared by the event and log tables. Pure.
// User text never becomes FTS5 syntax: each term is a quoted literal phrase.
import type { SearchTerm } from '../../query/search-terms.ts';

/** FTS5 syntax for parsed terms: each a quoted literal phrase, so no user text is ever an operator. */
export function fts5Query(terms: SearchTerm[]): string {
  return terms.map((t) => `"${t.phrase.replaceAll('"', '""')}"${t.prefix ? '*' : ''}`).join(' ');
}
