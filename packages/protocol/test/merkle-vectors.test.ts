// Runs every transparency-dev/merkle golden vector in shared/testdata/merkle through the verifiers.
// A conforming verifier accepts each wantErr:false case and rejects each wantErr:true case with MerkleVerificationError.

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../src/encoding.ts';
import { MerkleVerificationError, verifyConsistency, verifyInclusion } from '../src/merkle.ts';

// <repo>/packages/protocol/test -> <repo>/../shared/testdata/merkle
const VECTOR_ROOT = fileURLToPath(new URL('../../../../shared/testdata/merkle/', import.meta.url));

function jsonFilesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return jsonFilesUnder(path);
      return entry.name.endsWith('.json') ? [path] : [];
    })
    .sort();
}

// Go writes a nil slice as null; it means "no proof hashes".
function decodeProof(proof: unknown): Uint8Array[] {
  if (proof === null) return [];
  if (!Array.isArray(proof)) throw new Error(`unexpected proof field ${JSON.stringify(proof)}`);
  return proof.map((hash) => fromBase64(hash as string));
}

type Vector = { file: string; kind: 'inclusion' | 'consistency'; wantErr: boolean; run: () => void };

function loadVector(path: string): Vector {
  const file = relative(VECTOR_ROOT, path);
  const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if (typeof data.wantErr !== 'boolean') throw new Error(`${file}: no boolean wantErr`);
  const kind = file.split(/[\\/]/)[0];
  if (kind === 'inclusion') {
    for (const field of ['leafIdx', 'treeSize', 'root', 'leafHash', 'proof']) {
      if (!(field in data)) throw new Error(`${file}: inclusion vector without ${field}`);
    }
    return {
      file,
      kind,
      wantErr: data.wantErr,
      run: () =>
        verifyInclusion(
          data.leafIdx as number,
          data.treeSize as number,
          fromBase64(data.leafHash as string),
          decodeProof(data.proof),
          fromBase64(data.root as string),
        ),
    };
  }
  if (kind === 'consistency') {
    for (const field of ['size1', 'size2', 'root1', 'root2', 'proof']) {
      if (!(field in data)) throw new Error(`${file}: consistency vector without ${field}`);
    }
    return {
      file,
      kind,
      wantErr: data.wantErr,
      run: () =>
        verifyConsistency(
          data.size1 as number,
          data.size2 as number,
          decodeProof(data.proof),
          fromBase64(data.root1 as string),
          fromBase64(data.root2 as string),
        ),
    };
  }
  throw new Error(`${file}: not under inclusion/ or consistency/`);
}

const files = jsonFilesUnder(VECTOR_ROOT);
const vectors = files.map(loadVector);

describe('transparency-dev/merkle golden vectors', () => {
  it('finds the vector files, of both kinds, including additional/ and single-entry/', () => {
    expect(files.length).toBeGreaterThanOrEqual(190);
    expect(vectors.filter((v) => v.kind === 'inclusion').length).toBeGreaterThan(0);
    expect(vectors.filter((v) => v.kind === 'consistency').length).toBeGreaterThan(0);
    expect(files.some((f) => f.includes('/additional/'))).toBe(true);
    expect(files.some((f) => f.includes('/single-entry/'))).toBe(true);
    expect(vectors.some((v) => !v.wantErr)).toBe(true);
  });

  it.each(vectors.map((v) => [v.file, v] as const))('%s', (_file, vector) => {
    if (!vector.wantErr) {
      expect(vector.run).not.toThrow();
      return;
    }
    let thrown: unknown;
    try {
      vector.run();
    } catch (error) {
      thrown = error;
    }
    expect(thrown, 'a wantErr:true vector must be rejected').toBeDefined();
    expect(thrown).toBeInstanceOf(MerkleVerificationError);
  });
});
