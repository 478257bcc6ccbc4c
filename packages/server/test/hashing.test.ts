import { randomBytes } from 'node:crypto';
import { hashChildren, hashLeaf, nobleSha256Of, sha256Of, toHex } from '@logbook/protocol';
import { describe, expect, it } from 'vitest';
import { nodeSha256Of } from '../src/domain/hashing.ts';

describe('node:crypto SHA-256 plugged into protocol', () => {
  it('is the implementation the server uses', () => {
    const data = randomBytes(100);
    expect(toHex(sha256Of(data))).toBe(toHex(nodeSha256Of(data)));
  });

  it('computes exactly what the browser-safe default computes, for any length and split', () => {
    for (let length = 0; length < 2000; length += 37) {
      const a = randomBytes(length);
      const b = randomBytes(length % 97);
      expect(toHex(nodeSha256Of(a, b))).toBe(toHex(nobleSha256Of(a, b)));
    }
  });

  it('leaf and node hashes match RFC 9162 over either implementation', () => {
    const leaf = new TextEncoder().encode('{"a":1}');
    expect(toHex(hashLeaf(leaf))).toBe(toHex(nobleSha256Of(Uint8Array.of(0), leaf)));
    const l = randomBytes(32);
    const r = randomBytes(32);
    expect(toHex(hashChildren(l, r))).toBe(toHex(nobleSha256Of(Uint8Array.of(1), l, r)));
  });
});
