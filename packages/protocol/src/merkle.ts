// RFC 9162 Merkle tree hashing, proof verification, compact ranges and proof planning.
// Pure and synchronous: never does I/O and never trusts its inputs (verifiers only throw MerkleVerificationError).

import {
  bitLength,
  isIndex,
  isPowerOfTwo,
  popCount,
  shiftLeft,
  shiftRight,
  trailingZeros,
  xor,
} from './bits.ts';
import { bytesEqual } from './encoding.ts';
import { sha256Of } from './sha256.ts';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);
const EMPTY_ROOT = sha256Of(new Uint8Array(0));

/** RFC 9162 leaf hash: SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return sha256Of(LEAF_PREFIX, data);
}

/** RFC 9162 interior node hash: SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256Of(NODE_PREFIX, left, right);
}

/** Root of the empty tree: SHA-256 of the empty string. A fresh copy, so callers may mutate it. */
export function emptyRoot(): Uint8Array {
  return EMPTY_ROOT.slice();
}

/** The straightforward recursive RFC 9162 Merkle Tree Hash (MTH) of a list of leaf hashes. */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return emptyRoot();
  const mth = (begin: number, end: number): Uint8Array => {
    const n = end - begin;
    if (n === 1) return leafHashes[begin]!;
    // k is the largest power of two strictly smaller than n.
    const k = 2 ** (bitLength(n - 1) - 1);
    return hashChildren(mth(begin, begin + k), mth(begin + k, end));
  };
  return mth(0, leafHashes.length);
}

// ---------------------------------------------------------------------------------------------
// Verification

/** Why a proof was rejected; a closed set so callers (CLI, API) can branch on it. */
export const MERKLE_FAILURE_REASONS = [
  'invalid-argument',
  'index-out-of-range',
  'size-order',
  'empty-tree',
  'hash-length',
  'proof-length',
  'root-mismatch',
] as const;
export type MerkleFailureReason = (typeof MERKLE_FAILURE_REASONS)[number];

/** The only error the verifiers throw, whatever is wrong with their input. */
export class MerkleVerificationError extends Error {
  override readonly name = 'MerkleVerificationError';
  readonly reason: MerkleFailureReason;

  constructor(reason: MerkleFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

function fail(reason: MerkleFailureReason, message: string): never {
  throw new MerkleVerificationError(reason, message);
}

function checkIndex(value: unknown, what: string): asserts value is number {
  if (!isIndex(value))
    fail('invalid-argument', `${what} must be a non-negative safe integer, got ${String(value)}`);
}

function checkHash(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) fail('invalid-argument', `${what} must be a Uint8Array`);
  if (value.length !== HASH_SIZE) {
    fail('hash-length', `${what} has ${value.length} bytes, expected ${HASH_SIZE}`);
  }
}

// null/undefined count as an empty proof, like Go's nil slice (the golden vectors encode it so).
function checkProof(proof: unknown): readonly Uint8Array[] {
  if (proof === null || proof === undefined) return [];
  if (!Array.isArray(proof)) fail('invalid-argument', 'proof must be an array of hashes');
  proof.forEach((hash, i) => {
    checkHash(hash, `proof[${i}]`);
  });
  return proof;
}

// Converts any unexpected exception (a bug, or a hostile object that throws from a getter) into
// a MerkleVerificationError so callers only ever have one failure type to handle.
function guarded<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof MerkleVerificationError) throw error;
    throw new MerkleVerificationError('invalid-argument', `proof verification failed: ${String(error)}`, {
      cause: error,
    });
  }
}

// Splits an inclusion proof for `index` in a tree of `size` into the part below the point where
// the paths to `index` and `size - 1` diverge (inner) and the part along the right border.
function decomposeInclusionProof(index: number, size: number): { inner: number; border: number } {
  const inner = bitLength(xor(index, size - 1));
  const border = popCount(shiftRight(index, inner));
  return { inner, border };
}

// Chains a hash up through the inner proof part; the bit of `index` at each level says whether
// the running hash is a left (0) or right (1) child.
function chainInner(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let hash = seed;
  proof.forEach((sibling, level) => {
    hash = shiftRight(index, level) % 2 === 0 ? hashChildren(hash, sibling) : hashChildren(sibling, hash);
  });
  return hash;
}

// Like chainInner, but only folds in left siblings: that yields the same subtree as it was
// before the nodes to the right of the path existed (the older tree in a consistency proof).
function chainInnerRight(seed: Uint8Array, proof: readonly Uint8Array[], index: number): Uint8Array {
  let hash = seed;
  proof.forEach((sibling, level) => {
    if (shiftRight(index, level) % 2 === 1) hash = hashChildren(sibling, hash);
  });
  return hash;
}

// Above the divergence point the path runs along the right border, so every sibling is on the left.
function chainBorderRight(seed: Uint8Array, proof: readonly Uint8Array[]): Uint8Array {
  let hash = seed;
  for (const sibling of proof) hash = hashChildren(sibling, hash);
  return hash;
}

/**
 * Computes the root implied by an inclusion proof for the leaf at `leafIndex` in a tree of
 * `treeSize` leaves. Throws MerkleVerificationError when the arguments cannot form a valid proof.
 */
export function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
): Uint8Array {
  return guarded(() => {
    checkIndex(leafIndex, 'leafIndex');
    checkIndex(treeSize, 'treeSize');
    if (leafIndex >= treeSize) {
      fail('index-out-of-range', `leaf index ${leafIndex} is not below tree size ${treeSize}`);
    }
    checkHash(leafHash, 'leafHash');
    const hashes = checkProof(proof);
    const { inner, border } = decomposeInclusionProof(leafIndex, treeSize);
    if (hashes.length !== inner + border) {
      fail('proof-length', `inclusion proof has ${hashes.length} hashes, expected ${inner + border}`);
    }
    const hash = chainInner(leafHash, hashes.slice(0, inner), leafIndex);
    return chainBorderRight(hash, hashes.slice(inner));
  });
}

/**
 * Verifies that the leaf with hash `leafHash` is at `leafIndex` in the tree of `treeSize` leaves
 * whose root is `root`. Returns normally on success; throws MerkleVerificationError otherwise.
 */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  guarded(() => {
    const computed = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
    checkHash(root, 'root');
    if (!bytesEqual(computed, root)) {
      fail(
        'root-mismatch',
        `inclusion proof for leaf ${leafIndex} does not lead to the root of tree size ${treeSize}`,
      );
    }
  });
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves
 * with root `root1` (RFC 9162 section 2.1.4). Throws MerkleVerificationError on any failure.
 *
 * Requires 0 < size1 <= size2: a proof from the empty tree proves nothing, so it is rejected. When
 * size1 == size2 the proof must be empty and the roots are compared byte for byte (nothing is
 * hashed, so, as in transparency-dev/merkle, their length is not checked). A null or undefined
 * proof is read as an empty one, like Go's nil slice.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  guarded(() => {
    checkIndex(size1, 'size1');
    checkIndex(size2, 'size2');
    if (size1 === 0) fail('empty-tree', 'a consistency proof from the empty tree is meaningless');
    if (size2 < size1) fail('size-order', `size2 (${size2}) is smaller than size1 (${size1})`);
    if (!(root1 instanceof Uint8Array) || !(root2 instanceof Uint8Array)) {
      fail('invalid-argument', 'root1 and root2 must be Uint8Arrays');
    }
    if (size1 === size2) {
      if (proof !== null && proof !== undefined && (!Array.isArray(proof) || proof.length !== 0)) {
        fail('proof-length', 'sizes are equal, so the consistency proof must be empty');
      }
      if (!bytesEqual(root1, root2)) fail('root-mismatch', `different roots for the same tree size ${size1}`);
      return;
    }
    checkHash(root1, 'root1');
    checkHash(root2, 'root2');
    const hashes = checkProof(proof);
    if (hashes.length === 0) fail('proof-length', 'consistency proof is empty but the sizes differ');

    // The proof is the tail of an inclusion proof for leaf size1-1 in tree size2, starting at the
    // level of the largest perfect subtree that ends at size1 (its root is the seed).
    const decomposition = decomposeInclusionProof(size1 - 1, size2);
    const shift = trailingZeros(size1);
    const inner = decomposition.inner - shift;
    const { border } = decomposition;
    // When size1 is a power of two that subtree is the whole old tree, whose root the verifier knows.
    const seedIsRoot1 = isPowerOfTwo(size1);
    const seed = seedIsRoot1 ? root1 : hashes[0]!;
    const rest = seedIsRoot1 ? hashes : hashes.slice(1);
    const expected = (seedIsRoot1 ? 0 : 1) + inner + border;
    if (hashes.length !== expected) {
      fail('proof-length', `consistency proof has ${hashes.length} hashes, expected ${expected}`);
    }
    const mask = shiftRight(size1 - 1, shift);
    const innerPart = rest.slice(0, inner);
    const borderPart = rest.slice(inner);

    const computed1 = chainBorderRight(chainInnerRight(seed, innerPart, mask), borderPart);
    if (!bytesEqual(computed1, root1)) {
      fail('root-mismatch', `consistency proof does not lead to the root of tree size ${size1}`);
    }
    const computed2 = chainBorderRight(chainInner(seed, innerPart, mask), borderPart);
    if (!bytesEqual(computed2, root2)) {
      fail('root-mismatch', `consistency proof does not lead to the root of tree size ${size2}`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Node addressing and compact ranges
//
// Node (level, index) is the root of the perfect subtree covering leaves
// [index * 2^level, (index + 1) * 2^level). Leaves are level 0; node (level, index) has children
// (level - 1, 2 * index) and (level - 1, 2 * index + 1). Only perfect (complete) subtrees have
// addresses: their hashes never change once written, so a store can persist them forever.

/** Address of a perfect subtree: it covers leaves [index * 2^level, (index + 1) * 2^level). */
export interface NodeId {
  level: number;
  index: number;
}

/** A perfect-subtree node and its hash, as produced by appendLeaf for a store to persist. */
export interface NodeHash extends NodeId {
  hash: Uint8Array;
}

/** Canonical string key for a node, e.g. for Map lookups or a text column: "level/index". */
export function nodeKey(level: number, index: number): string {
  return `${level}/${index}`;
}

/**
 * The state needed to append leaves and compute roots in O(log n): the roots of the perfect
 * subtrees that partition [0, size), left to right (largest first), one per set bit of size.
 * Plain data, so it can be serialised (e.g. hashes as base64) and restored.
 */
export interface CompactRange {
  size: number;
  hashes: Uint8Array[];
}

/** The compact range of the empty tree. */
export function emptyCompactRange(): CompactRange {
  return { size: 0, hashes: [] };
}

/**
 * The perfect subtrees whose hashes make up the compact range of a tree of `size` leaves, left to
 * right. A store can fetch these after a restart and rebuild `{ size, hashes }` in this order.
 */
export function compactRangeNodeIds(size: number): NodeId[] {
  if (!isIndex(size))
    throw new RangeError(`tree size must be a non-negative safe integer, got ${String(size)}`);
  return rangeNodes(0, size);
}

function checkRange(range: CompactRange): void {
  if (range === null || typeof range !== 'object' || !isIndex(range.size) || !Array.isArray(range.hashes)) {
    throw new TypeError('compact range must be { size: non-negative safe integer, hashes: Uint8Array[] }');
  }
  if (range.hashes.length !== popCount(range.size)) {
    throw new RangeError(
      `compact range of size ${range.size} must hold ${popCount(range.size)} hashes, got ${range.hashes.length}`,
    );
  }
}

/**
 * Appends one leaf hash. Returns the new range (the input is not modified) and every perfect
 * subtree completed by this append, bottom-up: the leaf itself at level 0, then each interior
 * node that became complete. Persisting these is enough to serve any later proof.
 */
export function appendLeaf(
  range: CompactRange,
  leafHash: Uint8Array,
): { range: CompactRange; nodes: NodeHash[] } {
  checkRange(range);
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_SIZE) {
    throw new TypeError(`leaf hash must be a ${HASH_SIZE}-byte Uint8Array`);
  }
  if (range.size >= Number.MAX_SAFE_INTEGER) throw new RangeError('tree size would exceed 2^53 - 1');
  const hashes = range.hashes.slice();
  let hash = leafHash;
  let level = 0;
  let index = range.size;
  const nodes: NodeHash[] = [{ level, index, hash }];
  // An odd index is a right child: its left sibling is the last perfect subtree in the range.
  while (index % 2 === 1) {
    hash = hashChildren(hashes.pop()!, hash);
    level += 1;
    index = (index - 1) / 2;
    nodes.push({ level, index, hash });
  }
  hashes.push(hash);
  return { range: { size: range.size + 1, hashes }, nodes };
}

/** Root hash of the tree a compact range describes (emptyRoot() for size 0). */
export function rootOf(range: CompactRange): Uint8Array {
  checkRange(range);
  const { hashes } = range;
  if (hashes.length === 0) return emptyRoot();
  let hash = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) hash = hashChildren(hashes[i]!, hash);
  return hash;
}

// Perfect subtrees covering [begin, end), left to right: greedily the largest aligned subtree
// that starts at `begin` and fits before `end`. This decomposition is unique.
function rangeNodes(begin: number, end: number): NodeId[] {
  const nodes: NodeId[] = [];
  let at = begin;
  while (at < end) {
    const fits = bitLength(end - at) - 1;
    const level = at === 0 ? fits : Math.min(trailingZeros(at), fits);
    nodes.push({ level, index: shiftRight(at, level) });
    at += 2 ** level;
  }
  return nodes;
}

// ---------------------------------------------------------------------------------------------
// Proof planning

/**
 * How to build a proof from stored perfect-subtree nodes with O(log n) reads.
 *
 * `nodes` lists every node to fetch, in proof order. Each becomes one proof hash as is, except
 * the run nodes[ephemeralBegin .. ephemeralEnd): those are the perfect subtrees (lowest level
 * first) that make up the single incomplete "ephemeral" subtree on the tree's right border, and
 * are folded right to left into one proof hash. The run is empty when begin === end.
 */
export interface ProofPlan {
  nodes: NodeId[];
  ephemeralBegin: number;
  ephemeralEnd: number;
}

// The nodes proving that node (level, index) is in the tree of `size` leaves, starting with the
// node itself. Mirrors transparency-dev/merkle proof.nodes.
function proofNodes(index: number, level: number, size: number): ProofPlan {
  // The fork is where the path from the root to (level, index) leaves the path to leaf `size`;
  // its sibling is the ephemeral node standing for the incomplete subtree at the right border.
  const inner = bitLength(xor(index, shiftRight(size, level))) - 1;
  const forkLevel = level + inner;
  const forkIndex = shiftRight(index, inner);
  const forkBegin = shiftLeft(forkIndex, forkLevel);
  const forkEnd = shiftLeft(forkIndex + 1, forkLevel);

  const nodes: NodeId[] = [{ level, index }];
  let nodeIndex = index;
  for (let l = level; l < forkLevel; l++) {
    nodes.push({ level: l, index: nodeIndex % 2 === 0 ? nodeIndex + 1 : nodeIndex - 1 });
    nodeIndex = Math.floor(nodeIndex / 2);
  }
  // Right of the fork: the ephemeral node's parts, reversed so the fold runs lowest level first.
  const ephemeralBegin = nodes.length;
  nodes.push(...rangeNodes(forkEnd, size).reverse());
  const ephemeralEnd = nodes.length;
  // Left of the fork: complete subtrees, also ordered from the lowest level up.
  nodes.push(...rangeNodes(0, forkBegin).reverse());
  return ephemeralBegin < ephemeralEnd
    ? { nodes, ephemeralBegin, ephemeralEnd }
    : { nodes, ephemeralBegin: 0, ephemeralEnd: 0 };
}

// Drops the first node (the one being proven, which the verifier already has).
function skipFirst(plan: ProofPlan): ProofPlan {
  const shift = plan.ephemeralBegin < plan.ephemeralEnd ? 1 : 0;
  return {
    nodes: plan.nodes.slice(1),
    ephemeralBegin: plan.ephemeralBegin - shift,
    ephemeralEnd: plan.ephemeralEnd - shift,
  };
}

/** Which stored nodes form the inclusion proof of leaf `index` in the tree of `size` leaves. */
export function inclusionProofPlan(index: number, size: number): ProofPlan {
  if (!isIndex(index) || !isIndex(size) || index >= size) {
    throw new RangeError(`inclusion proof needs 0 <= index < size, got index ${index}, size ${size}`);
  }
  return skipFirst(proofNodes(index, 0, size));
}

/** Which stored nodes form the consistency proof from tree size `size1` to `size2`. */
export function consistencyProofPlan(size1: number, size2: number): ProofPlan {
  if (!isIndex(size1) || !isIndex(size2) || size1 === 0 || size1 > size2) {
    throw new RangeError(`consistency proof needs 0 < size1 <= size2, got ${size1} and ${size2}`);
  }
  if (size1 === size2) return { nodes: [], ephemeralBegin: 0, ephemeralEnd: 0 };
  // The largest perfect subtree ending at size1 is the seed; the rest proves its inclusion.
  const level = trailingZeros(size1);
  const index = shiftRight(size1 - 1, level);
  const plan = proofNodes(index, level, size2);
  // If that subtree is the whole old tree, its hash is root1, which the verifier already has.
  return isPowerOfTwo(size1) ? skipFirst(plan) : plan;
}

/** Thrown by materializeProof when a node the plan needs was not fetched. */
export class MissingNodeError extends Error {
  override readonly name = 'MissingNodeError';
  readonly node: NodeId;

  constructor(node: NodeId) {
    super(`Merkle node ${nodeKey(node.level, node.index)} is missing`);
    this.node = node;
  }
}

/**
 * Turns a plan and the fetched node hashes into the proof hashes, in RFC 9162 order. `fetched`
 * is a Map keyed by nodeKey(level, index) or a lookup function. Throws MissingNodeError if a
 * node is absent.
 */
export function materializeProof(
  plan: ProofPlan,
  fetched: ReadonlyMap<string, Uint8Array> | ((node: NodeId) => Uint8Array | undefined),
): Uint8Array[] {
  const lookup =
    typeof fetched === 'function' ? fetched : (node: NodeId) => fetched.get(nodeKey(node.level, node.index));
  const hashes = plan.nodes.map((node) => {
    const hash = lookup(node);
    if (hash === undefined) throw new MissingNodeError(node);
    return hash;
  });
  const { ephemeralBegin: begin, ephemeralEnd: end } = plan;
  if (begin >= end) return hashes;
  let ephemeral = hashes[begin]!;
  for (let i = begin + 1; i < end; i++) ephemeral = hashChildren(hashes[i]!, ephemeral);
  return [...hashes.slice(0, begin), ephemeral, ...hashes.slice(end)];
}
