// The tenant log's Merkle state as stored: a compact range serialised as concatenated 32-byte hashes.
// Pure: no SQL, no I/O. Appends go through protocol's appendLeaf, so the store holds no hashing logic.
import { type CompactRange, HASH_SIZE } from '@logbook/protocol';

export function encodeRange(range: CompactRange): Buffer {
  return Buffer.concat(range.hashes);
}

export function decodeRange(size: number, blob: Uint8Array): CompactRange {
  const hashes: Uint8Array[] = [];
  for (let at = 0; at < blob.length; at += HASH_SIZE) hashes.push(blob.subarray(at, at + HASH_SIZE));
  return { size, hashes };
}
