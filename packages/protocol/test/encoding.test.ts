// Hex, base64 and UTF-8 helpers: RFC 4648 test vectors and strictness (one accepted encoding per byte string).

import { describe, expect, it } from 'vitest';
import {
  bytesEqual,
  concatBytes,
  fromBase64,
  fromHex,
  isWellFormedUnicode,
  toBase64,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../src/encoding.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('base64', () => {
  // RFC 4648 section 10.
  it.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ])('RFC 4648 vector %j', (plain, encoded) => {
    expect(toBase64(ascii(plain))).toBe(encoded);
    expect(fromBase64(encoded)).toEqual(ascii(plain));
  });

  it('round-trips every byte value and many lengths', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (let n = 0; n <= all.length; n += 7) {
      const bytes = all.subarray(0, n);
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    }
    expect(toBase64(Uint8Array.of(0xfb, 0xff))).toBe('+/8=');
  });

  it.each([
    'Zg',
    'Zg=',
    'Zm9',
    'Zh==',
    'Zm9=',
    'Zm 9v',
    'Zm9v\n',
    '-_8=',
    '====',
    'Z===',
    'Zg==Zg==',
    'Zm9v€',
  ])('rejects non-canonical or invalid %j', (text) => {
    expect(() => fromBase64(text)).toThrow(TypeError);
  });
});

describe('hex', () => {
  it('encodes lower case and decodes either case', () => {
    expect(toHex(Uint8Array.of(0, 1, 0xab, 0xff))).toBe('0001abff');
    expect(fromHex('0001ABff')).toEqual(Uint8Array.of(0, 1, 0xab, 0xff));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it.each(['0', 'zz', '0x00', ' 00', '0g'])('rejects %j', (text) => {
    expect(() => fromHex(text)).toThrow(TypeError);
  });
});

describe('utf-8 and bytes', () => {
  it('is strict both ways', () => {
    expect(utf8Decode(utf8Encode('h€llo \u{1f600}'))).toBe('h€llo \u{1f600}');
    expect(() => utf8Encode('\ud800')).toThrow(TypeError);
    expect(() => utf8Decode(Uint8Array.of(0xc3, 0x28))).toThrow(TypeError);
    expect(isWellFormedUnicode('a\u{1f600}b')).toBe(true);
    expect(isWellFormedUnicode('a\ude00b')).toBe(false);
  });

  it('compares and concatenates', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3))).toEqual(
      Uint8Array.of(1, 2, 3),
    );
  });
});
