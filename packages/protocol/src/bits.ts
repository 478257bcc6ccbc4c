// Bit arithmetic on non-negative safe integers (up to 2^53 - 1) for Merkle tree indices.
// JS bitwise operators truncate to 32 bits, so these split values into high and low words; never does I/O.

const TWO_32 = 2 ** 32;

function hi(x: number): number {
  return Math.floor(x / TWO_32);
}

function lo(x: number): number {
  return x % TWO_32;
}

/** Number of bits needed to represent x (0 for 0), like Go's bits.Len64. */
export function bitLength(x: number): number {
  const h = hi(x);
  return h > 0 ? 64 - Math.clz32(h) : 32 - Math.clz32(lo(x));
}

/** Number of trailing zero bits of x; 0 when x is 0 (callers never ask for it). */
export function trailingZeros(x: number): number {
  if (x === 0) return 0;
  const l = lo(x);
  const word = l !== 0 ? l : hi(x);
  // (word & -word) isolates the lowest set bit; clz32 then gives its position from the top.
  const position = 31 - Math.clz32(word & -word);
  return l !== 0 ? position : 32 + position;
}

/** Number of set bits of x. */
export function popCount(x: number): number {
  return popCount32(hi(x)) + popCount32(lo(x));
}

function popCount32(v: number): number {
  let n = v >>> 0;
  n = n - ((n >>> 1) & 0x55555555);
  n = (n & 0x33333333) + ((n >>> 2) & 0x33333333);
  return (((n + (n >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** x XOR y for safe integers. */
export function xor(x: number, y: number): number {
  return ((hi(x) ^ hi(y)) >>> 0) * TWO_32 + ((lo(x) ^ lo(y)) >>> 0);
}

/** x >> k (logical) for safe integers. */
export function shiftRight(x: number, k: number): number {
  return Math.floor(x / 2 ** k);
}

/** x << k; the caller guarantees the result stays a safe integer. */
export function shiftLeft(x: number, k: number): number {
  return x * 2 ** k;
}

/** True for 1, 2, 4, 8, ... */
export function isPowerOfTwo(x: number): boolean {
  return x > 0 && popCount(x) === 1;
}

/** True when x is an integer usable as a tree size or index. */
export function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}
