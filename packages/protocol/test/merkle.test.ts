// Tests for RFC 9162 hashing, compact ranges and proof plans, checked against an independent
// textbook implementation of the RFC's MTH, PATH and PROOF definitions.

import { describe, expect, it } from 'vitest';
import { bitLength, isPowerOfTwo, popCount, shiftRight, trailingZeros, xor } from '../src/bits.ts';
import { fromHex, toHex } from '../src/encoding.ts';
import {
  appendLeaf,
  type CompactRange,
  compactRangeNodeIds,
  consistencyProofPlan,
  emptyCompactRange,
  emptyRoot,
  HASH_SIZE,
  hashChildren,
  hashLeaf,
  inclusionProofPlan,
  MerkleVerificationError,
  MissingNodeError,
  materializeProof,
  type NodeId,
  nodeKey,
  type ProofPlan,
  rootFromInclusionProof,
  rootFromLeafHashes,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../src/merkle.ts';

const leafData = (i: number) => new TextEncoder().encode(`leaf ${i}`);
const leafHashes = (n: number) => Array.from({ length: n }, (_, i) => hashLeaf(leafData(i)));

// RFC 9162 section 2.1.1 MTH, 2.1.3.1 PATH and 2.1.4.1 PROOF/SUBPROOF, written as literally as
// possible over D[begin:end] of one leaf list (MTH memoised so exhaustive checks stay fast).
const largestPowerOfTwoBelow = (n: number) => 2 ** Math.floor(Math.log2(n - 1));
const mthMemo = new WeakMap<Uint8Array[], Map<string, Uint8Array>>();
function mth(d: Uint8Array[], begin = 0, end = d.length): Uint8Array {
  const n = end - begin;
  if (n === 0) return emptyRoot();
  if (n === 1) return d[begin]!;
  const memo = mthMemo.get(d) ?? new Map<string, Uint8Array>();
  mthMemo.set(d, memo);
  const key = `${begin}-${end}`;
  let hash = memo.get(key);
  if (hash === undefined) {
    const k = largestPowerOfTwoBelow(n);
    hash = hashChildren(mth(d, begin, begin + k), mth(d, begin + k, end));
    memo.set(key, hash);
  }
  return hash;
}
function path(m: number, d: Uint8Array[], begin = 0, end = d.length): Uint8Array[] {
  const n = end - begin;
  if (n === 1) return [];
  const k = largestPowerOfTwoBelow(n);
  return m < k
    ? [...path(m, d, begin, begin + k), mth(d, begin + k, end)]
    : [...path(m - k, d, begin + k, end), mth(d, begin, begin + k)];
}
function subproof(m: number, d: Uint8Array[], b: boolean, begin = 0, end = d.length): Uint8Array[] {
  const n = end - begin;
  if (m === n) return b ? [] : [mth(d, begin, end)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k
    ? [...subproof(m, d, b, begin, begin + k), mth(d, begin + k, end)]
    : [...subproof(m - k, d, false, begin + k, end), mth(d, begin, begin + k)];
}

function expectMerkleError(run: () => unknown, reason?: string): void {
  let thrown: unknown;
  try {
    run();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(MerkleVerificationError);
  if (reason !== undefined) expect((thrown as MerkleVerificationError).reason).toBe(reason);
}

// Builds a tree leaf by leaf and records every node appendLeaf reports, as a store would.
function buildTree(n: number): { range: CompactRange; store: Map<string, Uint8Array>; leaves: Uint8Array[] } {
  const leaves = leafHashes(n);
  const store = new Map<string, Uint8Array>();
  let range = emptyCompactRange();
  for (const leaf of leaves) {
    const result = appendLeaf(range, leaf);
    for (const node of result.nodes) {
      expect(store.has(nodeKey(node.level, node.index))).toBe(false);
      store.set(nodeKey(node.level, node.index), node.hash);
    }
    range = result.range;
  }
  return { range, store, leaves };
}

const coverage = (node: NodeId): [number, number] => [
  node.index * 2 ** node.level,
  (node.index + 1) * 2 ** node.level,
];

// The plan's nodes (plus the node being proven) must tile [0, size) exactly, with no overlap.
function expectPartition(nodes: NodeId[], size: number): void {
  const ranges = nodes.map(coverage).sort((a, b) => a[0] - b[0]);
  let at = 0;
  let gapOrOverlap = false;
  for (const [begin, end] of ranges) {
    if (begin !== at) gapOrOverlap = true;
    at = end;
  }
  expect({ gapOrOverlap, end: at }).toEqual({ gapOrOverlap: false, end: size });
}

// Hex comparison: far faster in vitest than deep-equality over many Uint8Arrays, and readable diffs.
const hex = (hashes: Uint8Array[]) => hashes.map(toHex);

describe('hashing', () => {
  it('uses the RFC 9162 domain separation prefixes', () => {
    expect(toHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    // SHA-256(0x00): the hash of an empty leaf, as in RFC 6962 test data.
    expect(toHex(hashLeaf(new Uint8Array(0)))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    const a = hashLeaf(fromHex('00'));
    const b = hashLeaf(fromHex('10'));
    expect(hashChildren(a, b)).not.toEqual(hashChildren(b, a));
    expect(hashLeaf(fromHex('00'))).toHaveLength(HASH_SIZE);
  });

  it('emptyRoot returns a fresh copy each time', () => {
    const root = emptyRoot();
    root[0] = 0;
    expect(emptyRoot()[0]).toBe(0xe3);
  });

  it('computes the roots from transparency-dev/merkle (RFC 6962 reference data)', () => {
    const leaves = [
      '',
      '00',
      '10',
      '2021',
      '3031',
      '40414243',
      '5051525354555657',
      '606162636465666768696a6b6c6d6e6f',
    ];
    const roots = [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
      '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
      '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
      'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
      '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
    ];
    const hashes = leaves.map((hex) => hashLeaf(fromHex(hex)));
    let range = emptyCompactRange();
    roots.forEach((root, i) => {
      expect(toHex(rootFromLeafHashes(hashes.slice(0, i + 1)))).toBe(root);
      range = appendLeaf(range, hashes[i]!).range;
      expect(toHex(rootOf(range))).toBe(root);
    });
  });

  it('rootFromLeafHashes of no leaves is the empty root', () => {
    expect(rootFromLeafHashes([])).toEqual(emptyRoot());
  });
});

describe('compact range', () => {
  it('has the same root as the recursive MTH for every size 0..300', () => {
    const leaves = leafHashes(300);
    let range = emptyCompactRange();
    expect(rootOf(range)).toEqual(emptyRoot());
    for (let n = 1; n <= 300; n++) {
      range = appendLeaf(range, leaves[n - 1]!).range;
      expect(range.size).toBe(n);
      expect(range.hashes).toHaveLength(popCount(n));
      expect(toHex(rootOf(range))).toBe(toHex(rootFromLeafHashes(leaves.slice(0, n))));
    }
    expect(rootOf(range)).toEqual(mth(leaves));
  });

  it('reports every perfect subtree exactly once, with the right hash, leaf first', () => {
    const n = 77;
    const { store, leaves } = buildTree(n);
    let expected = 0;
    for (let level = 0; 2 ** level <= n; level++) {
      for (let index = 0; (index + 1) * 2 ** level <= n; index++) {
        expected++;
        const [begin, end] = coverage({ level, index });
        expect(store.get(nodeKey(level, index))).toEqual(rootFromLeafHashes(leaves.slice(begin, end)));
      }
    }
    expect(store.size).toBe(expected);
    const { nodes } = appendLeaf(buildTree(7).range, leafHashes(8)[7]!);
    expect(nodes.map((node) => [node.level, node.index])).toEqual([
      [0, 7],
      [1, 3],
      [2, 1],
      [3, 0],
    ]);
  });

  it('does not modify the range it is given', () => {
    const { range } = buildTree(3);
    const before = { size: range.size, hashes: [...range.hashes] };
    appendLeaf(range, hashLeaf(leafData(3)));
    expect(range).toEqual(before);
  });

  it('can be rebuilt from stored nodes via compactRangeNodeIds', () => {
    for (const n of [0, 1, 2, 3, 5, 8, 13, 64, 77, 100]) {
      const { range, store } = buildTree(n);
      const ids = compactRangeNodeIds(n);
      expect(ids.map((id) => store.get(nodeKey(id.level, id.index)))).toEqual(range.hashes);
      expectPartition(ids, n);
    }
  });

  it('rejects malformed ranges and leaf hashes with clear errors', () => {
    expect(() => appendLeaf({ size: 3, hashes: [] }, hashLeaf(leafData(0)))).toThrow(/must hold 2 hashes/);
    expect(() => appendLeaf(emptyCompactRange(), new Uint8Array(31))).toThrow(TypeError);
    expect(() => rootOf({ size: -1, hashes: [] })).toThrow(TypeError);
    expect(() => compactRangeNodeIds(1.5)).toThrow(RangeError);
  });
});

describe('proof plans', () => {
  const MAX = 70;
  const trees = new Map<number, ReturnType<typeof buildTree>>();
  const full = buildTree(MAX);
  // Nodes of a tree of size n are exactly the stored nodes lying entirely below n, so one store serves all sizes.
  const storeFor = (n: number) => {
    if (!trees.has(n)) {
      const store = new Map(
        [...full.store].filter(([key]) => {
          const [level, index] = key.split('/').map(Number) as [number, number];
          return coverage({ level, index })[1] <= n;
        }),
      );
      const leaves = full.leaves.slice(0, n);
      trees.set(n, { store, leaves, range: { size: n, hashes: [] } });
    }
    return trees.get(n)!;
  };
  const rootAt = (n: number) => rootFromLeafHashes(full.leaves.slice(0, n));

  it('materialised inclusion proofs verify and equal RFC 9162 PATH, for every index of every size up to 70', () => {
    let checked = 0;
    for (let size = 1; size <= MAX; size++) {
      const { store, leaves } = storeFor(size);
      const root = rootAt(size);
      for (let index = 0; index < size; index++) {
        const plan = inclusionProofPlan(index, size);
        expectPartition([...plan.nodes, { level: 0, index }], size);
        const proof = materializeProof(plan, store);
        expect(hex(proof)).toEqual(hex(path(index, leaves)));
        verifyInclusion(index, size, leaves[index]!, proof, root);
        expect(toHex(rootFromInclusionProof(index, size, leaves[index]!, proof))).toBe(toHex(root));
        checked++;
      }
    }
    expect(checked).toBe((MAX * (MAX + 1)) / 2);
  });

  it('materialised consistency proofs verify and equal RFC 9162 PROOF, for every pair of sizes up to 70', () => {
    let checked = 0;
    for (let size2 = 1; size2 <= MAX; size2++) {
      const { store, leaves } = storeFor(size2);
      const root2 = rootAt(size2);
      for (let size1 = 1; size1 <= size2; size1++) {
        const plan = consistencyProofPlan(size1, size2);
        const proof = materializeProof(plan, (node) => store.get(nodeKey(node.level, node.index)));
        expect(hex(proof)).toEqual(size1 === size2 ? [] : hex(subproof(size1, leaves, true)));
        verifyConsistency(size1, size2, proof, rootAt(size1), root2);
        if (size1 < size2) {
          const seed = { level: trailingZeros(size1), index: shiftRight(size1 - 1, trailingZeros(size1)) };
          expectPartition(isPowerOfTwo(size1) ? [seed, ...plan.nodes] : plan.nodes, size2);
        }
        checked++;
      }
    }
    expect(checked).toBe((MAX * (MAX + 1)) / 2);
  });

  it('rejects every single-bit change to a valid proof', () => {
    const size = 37;
    const { store, leaves } = storeFor(size);
    const root = rootAt(size);
    const proof = materializeProof(inclusionProofPlan(21, size), store);
    const consistency = materializeProof(consistencyProofPlan(13, size), store);
    for (let i = 0; i < proof.length; i++) {
      const bad = proof.map((h) => h.slice());
      bad[i]![5]! ^= 0x10;
      expectMerkleError(() => verifyInclusion(21, size, leaves[21]!, bad, root), 'root-mismatch');
    }
    for (let i = 0; i < consistency.length; i++) {
      const bad = consistency.map((h) => h.slice());
      bad[i]![0]! ^= 1;
      expectMerkleError(() => verifyConsistency(13, size, bad, rootAt(13), root), 'root-mismatch');
    }
    expectMerkleError(() => verifyInclusion(20, size, leaves[21]!, proof, root));
    expectMerkleError(() => verifyConsistency(13, size, consistency, rootAt(12), root), 'root-mismatch');
  });

  it('plans are structurally sound for sizes far beyond 2^32', () => {
    // With identical leaves every node at a level has the same hash, so roots of huge trees are cheap.
    const perfect: Uint8Array[] = [hashLeaf(leafData(0))];
    for (let level = 1; level <= 53; level++)
      perfect.push(hashChildren(perfect[level - 1]!, perfect[level - 1]!));
    const lookup = (node: NodeId) => perfect[node.level];
    const rootOfSize = (n: number) =>
      rootOf({ size: n, hashes: compactRangeNodeIds(n).map((id) => perfect[id.level]!) });
    const sizes = [2 ** 32 + 1, 2 ** 40, 2 ** 40 + 12345, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER];
    for (const size of sizes) {
      const root = rootOfSize(size);
      for (const index of [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, Math.floor(size / 3), size - 2, size - 1]) {
        const plan = inclusionProofPlan(index, size);
        expectPartition([...plan.nodes, { level: 0, index }], size);
        verifyInclusion(index, size, perfect[0]!, materializeProof(plan, lookup), root);
      }
      for (const size1 of [1, 3, 2 ** 31 + 7, 2 ** 32, 2 ** 33 - 1, size - 1, size].filter(
        (s) => s <= size,
      )) {
        const proof = materializeProof(consistencyProofPlan(size1, size), lookup);
        verifyConsistency(size1, size, proof, rootOfSize(size1), root);
      }
    }
  });

  it('rejects impossible plans and reports missing nodes', () => {
    expect(() => inclusionProofPlan(5, 5)).toThrow(RangeError);
    expect(() => inclusionProofPlan(-1, 5)).toThrow(RangeError);
    expect(() => consistencyProofPlan(0, 5)).toThrow(RangeError);
    expect(() => consistencyProofPlan(6, 5)).toThrow(RangeError);
    expect(consistencyProofPlan(5, 5).nodes).toEqual([]);
    const plan: ProofPlan = inclusionProofPlan(2, 7);
    expect(() => materializeProof(plan, new Map())).toThrow(MissingNodeError);
  });

  it('folds the ephemeral right-border node from several stored nodes', () => {
    // Leaf 0 of 7: siblings (0,1) and (1,1), then the ephemeral node over leaves 4..6 = (1,2) + (0,6).
    const plan = inclusionProofPlan(0, 7);
    expect(plan.nodes).toEqual([
      { level: 0, index: 1 },
      { level: 1, index: 1 },
      { level: 0, index: 6 },
      { level: 1, index: 2 },
    ]);
    expect([plan.ephemeralBegin, plan.ephemeralEnd]).toEqual([2, 4]);
    expect(materializeProof(plan, storeFor(7).store)).toHaveLength(3);
  });
});

describe('verifiers reject bad input only with MerkleVerificationError', () => {
  const leaves = leafHashes(5);
  const root = rootFromLeafHashes(leaves);
  const proof = path(2, leaves);
  const root3 = rootFromLeafHashes(leaves.slice(0, 3));
  const cproof = subproof(3, leaves, true);

  it('accepts the valid baseline', () => {
    verifyInclusion(2, 5, leaves[2]!, proof, root);
    verifyConsistency(3, 5, cproof, root3, root);
  });

  const weirdNumbers: unknown[] = [
    -1,
    1.5,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 64,
    '2',
    null,
    undefined,
    2n,
    {},
  ];
  it.each(weirdNumbers.map((n) => [String(n), n]))('rejects size or index %s', (_label, n) => {
    expectMerkleError(() => verifyInclusion(n as number, 5, leaves[2]!, proof, root));
    expectMerkleError(() => verifyInclusion(2, n as number, leaves[2]!, proof, root));
    expectMerkleError(() => verifyConsistency(n as number, 5, cproof, root3, root));
    expectMerkleError(() => verifyConsistency(3, n as number, cproof, root3, root));
    expectMerkleError(() => rootFromInclusionProof(n as number, 5, leaves[2]!, proof));
  });

  const weirdHashes: unknown[] = [
    null,
    undefined,
    'abc',
    [1, 2, 3],
    new Uint8Array(31),
    new Uint8Array(33),
    {},
  ];
  it.each(weirdHashes.map((h) => [Object.prototype.toString.call(h), h]))('rejects hash %s', (_label, h) => {
    const bad = h as Uint8Array;
    expectMerkleError(() => verifyInclusion(2, 5, bad, proof, root));
    expectMerkleError(() => verifyInclusion(2, 5, leaves[2]!, proof, bad));
    expectMerkleError(() => verifyInclusion(2, 5, leaves[2]!, [bad, ...proof.slice(1)], root));
    expectMerkleError(() => verifyConsistency(3, 5, cproof, bad, root));
    expectMerkleError(() => verifyConsistency(3, 5, cproof, root3, bad));
    expectMerkleError(() => verifyConsistency(3, 5, [bad, ...cproof.slice(1)], root3, root));
  });

  it('rejects proofs of the wrong shape or length', () => {
    expectMerkleError(() => verifyInclusion(2, 5, leaves[2]!, 'proof' as never, root), 'invalid-argument');
    expectMerkleError(() => verifyInclusion(2, 5, leaves[2]!, proof.slice(1), root), 'proof-length');
    expectMerkleError(() => verifyInclusion(2, 5, leaves[2]!, [...proof, root], root), 'proof-length');
    expectMerkleError(() => verifyConsistency(3, 5, [], root3, root), 'proof-length');
    expectMerkleError(() => verifyConsistency(3, 5, [...cproof, root], root3, root), 'proof-length');
    expectMerkleError(() => verifyConsistency(5, 5, [root], root, root), 'proof-length');
    expectMerkleError(() => verifyConsistency(0, 5, cproof, emptyRoot(), root), 'empty-tree');
    expectMerkleError(() => verifyConsistency(5, 3, cproof, root, root3), 'size-order');
    expectMerkleError(() => verifyInclusion(5, 5, leaves[2]!, proof, root), 'index-out-of-range');
  });

  it('converts exceptions from hostile inputs into MerkleVerificationError', () => {
    const hostile = new Proxy([] as Uint8Array[], {
      get() {
        throw new Error('boom');
      },
    });
    expectMerkleError(() => verifyInclusion(2, 5, leaves[2]!, hostile, root));
    expectMerkleError(() => verifyConsistency(3, 5, hostile, root3, root));
  });
});

describe('53-bit helpers', () => {
  it('agree with BigInt arithmetic', () => {
    let seed = 12345;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    const samples = [
      0,
      1,
      2,
      3,
      2 ** 31,
      2 ** 32 - 1,
      2 ** 32,
      2 ** 32 + 1,
      2 ** 52,
      Number.MAX_SAFE_INTEGER,
    ];
    for (let i = 0; i < 500; i++) samples.push(Math.floor((random() / 2 ** 31) * Number.MAX_SAFE_INTEGER));
    for (const x of samples) {
      const bx = BigInt(x);
      expect(bitLength(x)).toBe(x === 0 ? 0 : bx.toString(2).length);
      expect(popCount(x)).toBe([...bx.toString(2)].filter((c) => c === '1').length);
      if (x > 0) expect(trailingZeros(x)).toBe(bx.toString(2).length - 1 - bx.toString(2).lastIndexOf('1'));
      for (const k of [0, 1, 5, 31, 32, 33, 52]) expect(shiftRight(x, k)).toBe(Number(bx >> BigInt(k)));
      const y = samples[(x % samples.length) | 0]!;
      expect(xor(x, y)).toBe(Number(bx ^ BigInt(y)));
    }
  });
});
