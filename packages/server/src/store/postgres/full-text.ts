// Full text on PostgreSQL, rendered so that it finds exactly what SQLite's FTS5 (unicode61, remove_diacritics 2)
// finds: words are cut and folded here, in JS, with one rule for indexing and querying, and handed to PostgreSQL as
// tsvector / tsquery values built from those words only. No text-search configuration or parser is involved (PG's
// parser would keep `invoice.pay` or `a@b.c` as one token and depends on the server's locale), and user text is never
// part of SQL or of tsquery syntax: every lexeme is letters and digits, quoted.
import type { SearchTerm } from '../../query/search-terms.ts';

/** PostgreSQL refuses lexemes of 2 KiB or more; to_tsvector drops them too. */
const MAX_LEXEME_BYTES = 2046;
/** tsvector positions stop at 16383 (later words keep that position). */
const MAX_POSITION = 16_383;
/** Keep a stored tsvector well under PostgreSQL's 1 MiB limit whatever the details hold. */
const MAX_INDEXED_WORDS = 50_000;

const WORD = /[\p{L}\p{N}\p{Co}]+/gu;
const MARKS = /\p{M}+/gu;
// biome-ignore lint/suspicious/noControlCharactersInRegex: "only ASCII" includes the control characters
const ASCII_ONLY = /^[\u0000-\u007f]*$/;

/** Words of a text as the index stores them: letters/digits runs, lower-cased, diacritics removed. */
export function searchWords(text: string): string[] {
  // Most audit text is ASCII: the same words without Unicode normalisation (a measured third of the append CPU), cut
  // by character codes (a third faster than the regular expression: ~5.5 against ~8.5 µs for an event's ~60 words).
  if (ASCII_ONLY.test(text)) return asciiWords(text.toLowerCase());
  const folded = text.normalize('NFD').replace(MARKS, '').toLowerCase();
  const words: string[] = [];
  WORD.lastIndex = 0;
  for (let match = WORD.exec(folded); match !== null; match = WORD.exec(folded)) {
    const word = match[0];
    if (word.length <= MAX_LEXEME_BYTES / 4 || Buffer.byteLength(word) <= MAX_LEXEME_BYTES) words.push(word);
  }
  return words;
}

/** The runs of [a-z0-9] in lower-cased ASCII text (one byte per character: the length is the size). */
function asciiWords(folded: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i <= folded.length; i++) {
    const c = i < folded.length ? folded.charCodeAt(i) : 0;
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start <= MAX_LEXEME_BYTES) words.push(folded.slice(start, i));
      start = -1;
    }
  }
  return words;
}

/**
 * The lexemes of a text's tsvector with their positions (strictly increasing, at most 256 each, as PostgreSQL keeps
 * them), in first-occurrence order: what tsvectorText renders and the binary COPY encoder (copy-binary.ts) sends.
 * A lexeme seen once maps to its position alone (most do: no array to allocate).
 */
export function lexemePositions(text: string): Map<string, number | number[]> {
  const positions = new Map<string, number | number[]>();
  const words = searchWords(text);
  const count = Math.min(words.length, MAX_INDEXED_WORDS);
  for (let i = 0; i < count; i++) {
    const word = words[i]!;
    const list = positions.get(word);
    const position = Math.min(i + 1, MAX_POSITION);
    if (list === undefined) positions.set(word, position);
    else if (typeof list === 'number') {
      if (list !== position) positions.set(word, [list, position]);
    } else if (list.length < 256 && list[list.length - 1] !== position) list.push(position);
  }
  return positions;
}

/** tsvector input text (`'word':1,4 'other':2`) for an event's search text. */
export function tsvectorText(text: string): string {
  return [...lexemePositions(text)]
    .map(([word, list]) => `'${word}':${typeof list === 'number' ? list : list.join(',')}`)
    .join(' ');
}

/**
 * tsquery input text for parsed terms: every term must match (`&`); a term's words are a phrase (`<->`); a prefix
 * term's last word matches as a prefix (`:*`). Null when no term has a word left after folding (nothing matches).
 */
export function tsqueryText(terms: SearchTerm[]): string | null {
  const rendered: string[] = [];
  for (const term of terms) {
    const words = searchWords(term.phrase);
    if (words.length === 0) return null;
    const lexemes = words.map((w, i) => `'${w}'${term.prefix && i === words.length - 1 ? ':*' : ''}`);
    rendered.push(lexemes.length === 1 ? lexemes[0]! : `(${lexemes.join(' <-> ')})`);
  }
  return rendered.join(' & ');
}
