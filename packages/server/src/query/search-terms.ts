// Full-text query language, parsed once into terms that each store renders in its own syntax.
// Pure. User text never reaches a full-text engine as syntax: every word is quoted as a literal phrase.
import { EVENT_LIMITS, LogbookError } from '@logbook/protocol';

export interface SearchTerm {
  /** Literal words of the term, matched as a phrase (in this order, adjacent). */
  phrase: string;
  /** The last word matches as a prefix (`pay*`). */
  prefix: boolean;
}

const WORDY = /[\p{L}\p{N}]/u;
const MAX_TERMS = 16;

/**
 * `alice "card declined" pay*` → three terms that must all match. Quotes group a phrase; a trailing `*`
 * makes a prefix. Operators of any engine (`NEAR(`, `OR`, `-`, `:`) are just words here.
 */
export function parseSearchTerms(q: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  const pattern = /"([^"]*)"(\*?)|(\S+)/g;
  for (const match of q.matchAll(pattern)) {
    const raw = match[1] ?? match[3] ?? '';
    const prefix = match[2] === '*' || (match[3] !== undefined && raw.endsWith('*'));
    // Control characters are never part of a word (and U+0000 would end SQLite's copy of the query early).
    const phrase = raw.replace(/["*\p{Cc}]/gu, ' ').trim();
    if (WORDY.test(phrase)) terms.push({ phrase, prefix });
  }
  if (terms.length === 0) {
    throw new LogbookError(
      'INVALID_QUERY',
      'q has no searchable words: use letters or digits, e.g. q=alice or q="card declined"',
      { issues: [{ field: 'query/q', rule: 'words', message: 'at least one letter or digit' }] },
    );
  }
  if (terms.length > MAX_TERMS || q.length > EVENT_LIMITS.maxQueryLength) {
    throw new LogbookError('INVALID_QUERY', `q may have at most ${MAX_TERMS} terms`, {
      issues: [{ field: 'query/q', rule: 'maxTerms', message: `at most ${MAX_TERMS} terms` }],
    });
  }
  return terms;
}
