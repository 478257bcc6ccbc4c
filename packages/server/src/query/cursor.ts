// Opaque keyset cursors: the order key of the last row served plus the order they were served in.
// Pure. A cursor never encodes an offset, so pages never skip or repeat rows while others write.
import { LogbookError, type SortOrder } from '@logbook/protocol';

const VERSION = 'c1';

export function encodeCursor(orderKey: bigint, order: SortOrder): string {
  return Buffer.from(`${VERSION}:${order}:${orderKey.toString(36)}`).toString('base64url');
}

export function decodeCursor(cursor: string, order: SortOrder): bigint {
  const invalid = (why: string) =>
    new LogbookError(
      'INVALID_CURSOR',
      `cursor is not valid (${why}): pass nextCursor from the previous page unchanged`,
      {
        issues: [{ field: 'query/cursor', rule: 'cursor', message: why }],
      },
    );
  const parts = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  if (parts.length !== 3 || parts[0] !== VERSION || !/^-?[0-9a-z]{1,14}$/.test(parts[2] ?? '')) {
    throw invalid('unrecognised cursor');
  }
  if (parts[1] !== order) throw invalid(`it was issued for order=${parts[1]}, not order=${order}`);
  const digits = parts[2]!;
  const negative = digits.startsWith('-');
  let value = 0n;
  for (const ch of negative ? digits.slice(1) : digits) value = value * 36n + BigInt(Number.parseInt(ch, 36));
  const key = negative ? -value : value;
  // Order keys are SQLite integers: anything outside 64 bits was not issued here.
  if (key > 0x7fffffffffffffffn || key < -0x8000000000000000n) throw invalid('out of range');
  return key;
}
