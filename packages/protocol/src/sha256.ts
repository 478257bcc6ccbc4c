// The one SHA-256 every protocol hash goes through. Defaults to @noble/hashes (pure JS, so it runs in browsers);
// a Node process may plug in node:crypto, which is ~2.6× faster on 600-byte leaves. Never does I/O.
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';

/** SHA-256 of the concatenation of `parts`. */
export type Sha256 = (...parts: Uint8Array[]) => Uint8Array;

export const nobleSha256Of: Sha256 = (...parts) => {
  const hash = nobleSha256.create();
  for (const part of parts) hash.update(part);
  return hash.digest();
};

let current: Sha256 = nobleSha256Of;

/** Replaces the implementation (it must compute the same function; tests check node:crypto against noble). */
export function useSha256(implementation: Sha256): void {
  current = implementation;
}

export const sha256Of: Sha256 = (...parts) => current(...parts);
