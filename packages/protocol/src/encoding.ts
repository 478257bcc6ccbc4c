// Byte <-> text encodings (hex, RFC 4648 base64, strict UTF-8) shared by the integrity code.
// Browser-safe: never uses Buffer, atob or any I/O, and never accepts a non-canonical encoding.

const HEX_DIGITS = '0123456789abcdef';
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// 255 marks "not in the alphabet"; a table keeps decoding branch-free per character.
const BASE64_LOOKUP = (() => {
  const table = new Uint8Array(128).fill(255);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) table[BASE64_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

const utf8Encoder = new TextEncoder();
// fatal: a note or checkpoint with invalid UTF-8 must be rejected, not silently repaired.
const strictUtf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Lower-case hex, two digits per byte. */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += HEX_DIGITS[byte >> 4]! + HEX_DIGITS[byte & 15]!;
  return out;
}

/** Decodes hex (either case). Throws a TypeError on odd length or a non-hex character. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new TypeError('invalid hex string: expected an even number of characters 0-9, a-f');
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard base64 with padding (RFC 4648 section 4), as used by RFC 9162 tooling and C2SP notes. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out +=
      BASE64_ALPHABET[n >> 18]! +
      BASE64_ALPHABET[(n >> 12) & 63]! +
      BASE64_ALPHABET[(n >> 6) & 63]! +
      BASE64_ALPHABET[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += BASE64_ALPHABET[n >> 18]! + BASE64_ALPHABET[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out +=
      BASE64_ALPHABET[n >> 18]! + BASE64_ALPHABET[(n >> 12) & 63]! + BASE64_ALPHABET[(n >> 6) & 63]! + '=';
  }
  return out;
}

/**
 * Decodes standard, padded base64. Throws a TypeError on anything else: whitespace, missing
 * padding, URL-safe characters, or non-zero unused bits (so every byte string has exactly one
 * accepted encoding and a signed root hash cannot be re-encoded into a different-looking string).
 */
export function fromBase64(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 !== 0) {
    throw new TypeError('invalid base64: length must be a multiple of 4 (standard padded base64)');
  }
  const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  const dataLength = text.length - padding;
  let bits = 0;
  let bitCount = 0;
  let o = 0;
  for (let i = 0; i < dataLength; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? BASE64_LOOKUP[code]! : 255;
    if (value === 255) throw new TypeError(`invalid base64: unexpected character at offset ${i}`);
    bits = ((bits << 6) | value) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[o++] = (bits >> bitCount) & 0xff;
    }
  }
  if ((bits & ((1 << bitCount) - 1)) !== 0) {
    throw new TypeError('invalid base64: non-zero padding bits (non-canonical encoding)');
  }
  return out;
}

/** UTF-8 bytes of a string. Lone surrogates cannot be encoded faithfully, so they are rejected. */
export function utf8Encode(text: string): Uint8Array {
  if (!isWellFormedUnicode(text)) throw new TypeError('string contains a lone UTF-16 surrogate');
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8, throwing a TypeError on any invalid sequence instead of inserting U+FFFD. */
export function utf8Decode(bytes: Uint8Array): string {
  return strictUtf8Decoder.decode(bytes);
}

/** True when the string has no unpaired surrogate, i.e. it round-trips through UTF-8 unchanged. */
export function isWellFormedUnicode(text: string): boolean {
  // String.prototype.isWellFormed (ES2024) where the runtime has it; else, with the u flag, paired surrogates form
  // one astral code point, so \p{Cs} only sees lone halves.
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  return native ? native.call(text) : !/\p{Cs}/u.test(text);
}

/** Byte-wise equality. Not constant-time: only ever used on public hashes and signatures. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Concatenates byte arrays into a fresh array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
