// Value conversions between Logbook and PostgreSQL that are easy to get subtly wrong: int8 (pg returns it as a
// string), bytea, and text that may contain U+0000 (PostgreSQL text cannot hold it; API strings can).

/** An int8 column as a JS number: millisecond times, seqs, counts (all < 2^53). */
export function int(value: string | number | bigint | null): number {
  if (value === null) throw new TypeError('unexpected NULL integer from PostgreSQL');
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isSafeInteger(n)) throw new RangeError(`integer ${value} from PostgreSQL exceeds 2^53`);
  return n;
}

export const intOrNull = (value: string | number | null): number | null =>
  value === null ? null : int(value);

/** An int8 column as a BigInt, exactly (order keys exceed 2^53). */
export const big = (value: string | number | bigint): bigint => BigInt(value);

/** Order keys and other int8 parameters are sent as decimal text: exact, and independent of pg's BigInt handling. */
export const int8Param = (value: bigint | number): string => value.toString();

export const bytes = (value: Uint8Array): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);

// PostgreSQL text cannot contain U+0000, which a JSON string may. Columns that hold API strings therefore store an
// injective escape: U+0000 → U+FFFF "0", U+FFFF → U+FFFF U+FFFF (a noncharacter, which well-formed data does not
// use). It is a prefix code, so equality, ordering under COLLATE "C" (code point order, except around the two
// escaped characters) and "starts with" queries keep working on the escaped form. Bodies are JSON text, where
// U+0000 is already written as the six characters \u0000, so they are stored byte-exact, unescaped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what must be escaped
const NEEDS_ESCAPE = /[\u0000\uffff]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what must be escaped
const ESCAPE = /[\u0000\uffff]/g;
const ESCAPED = /\uffff[0\uffff]/g;

export function toPgText(value: string): string;
export function toPgText(value: string | null): string | null;
export function toPgText(value: string | null): string | null {
  if (value === null || !NEEDS_ESCAPE.test(value)) return value;
  return value.replace(ESCAPE, (c) => (c === '\u0000' ? '\uffff0' : '\uffff\uffff'));
}

export function fromPgText(value: string): string;
export function fromPgText(value: string | null): string | null;
export function fromPgText(value: string | null): string | null {
  if (value === null || !value.includes('\uffff')) return value;
  return value.replace(ESCAPED, (pair) => (pair === '\uffff0' ? '\u0000' : '\uffff'));
}
