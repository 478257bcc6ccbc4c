// The integrity API over a real SQLite file and the real app: signed checkpoints, inclusion and consistency proofs, and
// the public key. Every proof is verified with @logbook/protocol code alone, pinned to the verifier key string that
// GET /public-key served, and every leaf hash is recomputed from the event JSON the events API returns.
import {
  canonicalJson,
  ERROR_CATALOG,
  type ErrorCode,
  formatCheckpoint,
  fromBase64,
  generateSigningKey,
  hashLeaf,
  MalformedCheckpointError,
  MerkleVerificationError,
  NoteVerificationError,
  openCheckpoint,
  parseCheckpoint,
  parseVerifierKey,
  rootFromLeafHashes,
  signNote,
  toBase64,
  toHex,
  utf8Encode,
  verifierKeyString,
  verifyConsistency,
  verifyInclusion,
} from '@logbook/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../src/auth/api-keys.ts';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

type Json = Record<string, unknown>;

interface CheckpointBody {
  tenant: string;
  treeSize: number;
  rootHash: string;
  timestamp: string;
  note: string;
}

interface InclusionBody {
  tenant: string;
  leafIndex: number;
  treeSize: number;
  leafHash: string;
  rootHash: string;
  proof: string[];
  checkpoint: string | null;
}

interface ConsistencyBody {
  tenant: string;
  from: number;
  to: number;
  fromRoot: string;
  toRoot: string;
  proof: string[];
}

interface WireEvent extends Json {
  id: string;
  tenant: string;
  seq: number;
  hash: string;
}

function qs(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Asserts the error catalog shape and a 4xx status (never a 5xx). Returns the error code. */
function expectCatalogError(res: LightMyRequestResponse, status?: number): ErrorCode {
  expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
  expect(res.statusCode, res.body).toBeLessThan(500);
  if (status !== undefined) expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as { error: { code: ErrorCode; status: number; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(ERROR_CATALOG)).toContain(body.error.code);
  expect(body.error.status).toBe(res.statusCode);
  expect(ERROR_CATALOG[body.error.code].status).toBe(res.statusCode);
  expect(typeof body.error.message).toBe('string');
  expect(body.error.message.length).toBeGreaterThan(0);
  return body.error.code;
}

/** The leaf hash a client recomputes from an event as served: RFC 9162 leaf of the RFC 8785 JSON minus seq and hash. */
function leafOfWireEvent(event: WireEvent): Uint8Array {
  const { seq: _seq, hash: _hash, ...stored } = event;
  return hashLeaf(utf8Encode(canonicalJson(stored)));
}

function expectMerkleFailure(run: () => void, reason?: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught, 'verification should have failed').toBeInstanceOf(MerkleVerificationError);
  if (reason) expect((caught as MerkleVerificationError).reason).toBe(reason);
}

// Uint8Array.from, not slice(): node:crypto hashes are Buffers, whose slice() is a view of the same memory.
function flipBit(bytes: Uint8Array, at = 0): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at]! ^= 0x01;
  return copy;
}

/** Acme grows in a Fibonacci-ish series of batches, globex differently, default a little; one checkpoint per batch. */
const ACME_BATCHES = [1, 1, 2, 3, 5, 8, 13, 21, 34, 40];
const GLOBEX_BATCHES = [3, 7, 16, 1, 50];
const DEFAULT_BATCHES = [5];

function inputEvent(tenant: string | undefined, i: number): Json {
  return {
    ...(tenant ? { tenant } : {}),
    id: `${tenant ?? 'default'}-ev-${i}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    action: i % 3 === 0 ? 'invoice.pay' : i % 3 === 1 ? 'user.login' : 'order.ship',
    actor: { id: `actor-${i % 7}`, name: `Actor ${i % 7} ünïcødé`, type: 'user' },
    target: { type: 'invoice', id: `inv-${i}` },
    outcome: i % 11 === 0 ? 'failure' : 'success',
    description: `event ${i} for ${tenant ?? 'default'} — "quoted" \u00e9 🚀`,
    context: { ip: `10.0.0.${i % 250}`, requestId: `req-${i}` },
    details: { index: i, nested: { z: 1, a: [3, 2, 1], f: 1.5, big: 1e21, neg: -0 }, empty: {} },
    changes: { before: { status: 'open' }, after: { status: i % 2 ? 'paid' : 'void' } },
  };
}

describe.each(BACKENDS)('integrity API, verified with protocol code alone, on %s', (backend) => {
  let t: TestApp;
  let pinnedKey: string;
  let keyName: string;
  const tenants = ['acme', 'globex', 'default'] as const;
  const batchesOf: Record<string, number[]> = {
    acme: ACME_BATCHES,
    globex: GLOBEX_BATCHES,
    default: DEFAULT_BATCHES,
  };
  /** Every checkpoint POST answer, per tenant, in order. */
  const made: Record<string, CheckpointBody[]> = { acme: [], globex: [], default: [] };
  /** Events as served by GET /api/v1/events/{id}, per tenant, in seq order. */
  const events: Record<string, WireEvent[]> = { acme: [], globex: [], default: [] };
  let readKey: string;
  let boundKey: string;

  const get = (url: string, headers: Record<string, string> = t.auth) =>
    t.app.inject({ method: 'GET', url, headers });
  const origin = (tenant: string) => `${keyName}/${tenant}`;
  const sizeOf = (tenant: string) => events[tenant]!.length;
  const leafHashes = (tenant: string) => events[tenant]!.map(leafOfWireEvent);
  /** Root recomputed independently from the served event JSON (not from anything the integrity API says). */
  const independentRoot = (tenant: string, size: number) =>
    rootFromLeafHashes(leafHashes(tenant).slice(0, size));
  /** The signed root at `size`, from a checkpoint note opened with the pinned key. */
  const signedRootAt = (tenant: string, size: number): Uint8Array => {
    const cp = made[tenant]!.find((c) => c.treeSize === size);
    if (!cp) throw new Error(`no checkpoint at ${size} for ${tenant}`);
    return openCheckpoint(cp.note, pinnedKey, origin(tenant)).checkpoint.rootHash;
  };

  async function postCheckpoint(tenant: string | undefined, headers = t.auth) {
    return t.app.inject({
      method: 'POST',
      url: '/api/v1/integrity/checkpoint',
      headers,
      payload: tenant ? { tenant } : {},
    });
  }

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    const pk = await t.app.inject({ method: 'GET', url: '/api/v1/integrity/public-key' });
    expect(pk.statusCode, pk.body).toBe(200);
    pinnedKey = pk.json().note;
    keyName = pk.json().keyName;

    // Interleave the tenants' batches, and checkpoint each tenant after each of its batches.
    const counters: Record<string, number> = { acme: 0, globex: 0, default: 0 };
    const rounds = Math.max(...Object.values(batchesOf).map((b) => b.length));
    for (let round = 0; round < rounds; round++) {
      for (const tenant of tenants) {
        const n = batchesOf[tenant]![round];
        if (n === undefined) continue;
        const batch = Array.from({ length: n }, () =>
          inputEvent(tenant === 'default' ? undefined : tenant, counters[tenant]!++),
        );
        const res = await t.app.inject({
          method: 'POST',
          url: '/api/v1/events',
          headers: t.auth,
          payload: n === 1 ? batch[0]! : { events: batch },
        });
        expect(res.statusCode, res.body).toBe(201);
        const cp = await postCheckpoint(tenant === 'default' ? undefined : tenant);
        expect(cp.statusCode, cp.body).toBe(200);
        made[tenant]!.push(cp.json());
      }
    }
    // One mixed batch across two tenants in one request, not yet checkpointed: per-tenant seqs stay independent.
    const mixed = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: {
        events: [
          inputEvent('acme', counters.acme!++),
          inputEvent('globex', counters.globex!++),
          inputEvent('acme', counters.acme!++),
        ],
      },
    });
    expect(mixed.statusCode, mixed.body).toBe(201);
    expect(mixed.json().events.map((e: { tenant: string; seq: number }) => [e.tenant, e.seq])).toEqual([
      ['acme', 128],
      ['globex', 77],
      ['acme', 129],
    ]);
    for (const tenant of ['acme', 'globex']) {
      const cp = await postCheckpoint(tenant);
      expect(cp.statusCode, cp.body).toBe(200);
      made[tenant]!.push(cp.json());
    }

    // Read every event back, one by one, by id, as a client would.
    for (const tenant of tenants) {
      for (let i = 0; i < counters[tenant]!; i++) {
        const res = await get(`/api/v1/events/${tenant}-ev-${i}${qs({ tenant })}`);
        expect(res.statusCode, res.body).toBe(200);
        events[tenant]!.push(res.json());
      }
      events[tenant]!.sort((a, b) => a.seq - b.seq);
      expect(events[tenant]!.map((e) => e.seq)).toEqual(events[tenant]!.map((_, i) => i));
    }

    const mint = async (scopes: ('audit:read' | 'admin')[], tenant: string | null) => {
      const { record, secret } = newApiKey({ name: 'test', scopes, tenant, nowMs: Date.now() });
      await t.store.insertApiKey(record);
      return secret;
    };
    readKey = await mint(['audit:read'], null);
    boundKey = await mint(['audit:read'], 'globex');
  });
  afterAll(async () => t?.close());

  it('GET /public-key is public and serves a valid C2SP verifier key for the signer', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/integrity/public-key' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { keyName: string; publicKey: string; note: string };
    const parsed = parseVerifierKey(body.note);
    expect(parsed.name).toBe(body.keyName);
    expect(body.keyName).toBe('logbook.test');
    expect(toBase64(parsed.publicKey)).toBe(body.publicKey);
    expect(verifierKeyString(body.keyName, fromBase64(body.publicKey))).toBe(body.note);
    // The same key as the services sign with.
    expect(t.services.integrity.publicKey()).toEqual(body);
    // It verifies the checkpoints the server signs.
    expect(openCheckpoint(made.acme![0]!.note, body.note).verifiedBy).toEqual([body.keyName]);
  });

  it('every checkpoint POST answer is signed by the pinned key for its tenant origin and states the true root', () => {
    for (const tenant of tenants) {
      let size = 0;
      const expectedSizes = batchesOf[tenant]!.map((n) => {
        size += n;
        return size;
      });
      if (tenant !== 'default') expectedSizes.push(sizeOf(tenant));
      expect(made[tenant]!.map((c) => c.treeSize)).toEqual(expectedSizes);
      for (const cp of made[tenant]!) {
        expect(cp.tenant).toBe(tenant);
        expect(Number.isNaN(Date.parse(cp.timestamp))).toBe(false);
        const { checkpoint, verifiedBy } = openCheckpoint(cp.note, pinnedKey, origin(tenant));
        expect(verifiedBy).toEqual([keyName]);
        expect(checkpoint.treeSize).toBe(cp.treeSize);
        expect(toBase64(checkpoint.rootHash)).toBe(cp.rootHash);
        // The signed root is the root of the events the API serves, recomputed here from their JSON.
        expect(toHex(checkpoint.rootHash)).toBe(toHex(independentRoot(tenant, cp.treeSize)));
      }
    }
  });

  it('checkpoints are kept: the latest and every earlier size can be fetched, unchanged', async () => {
    for (const tenant of tenants) {
      const latest = await get(`/api/v1/integrity/checkpoint${qs({ tenant })}`);
      expect(latest.statusCode, latest.body).toBe(200);
      expect(latest.json()).toEqual(made[tenant]!.at(-1));
      for (const cp of made[tenant]!) {
        const res = await get(`/api/v1/integrity/checkpoint${qs({ tenant, treeSize: cp.treeSize })}`);
        expect(res.statusCode, res.body).toBe(200);
        expect(res.json()).toEqual(cp);
      }
    }
    // The default tenant is what you get without ?tenant=.
    const implicit = await get('/api/v1/integrity/checkpoint');
    expect(implicit.json()).toEqual(made.default!.at(-1));
  });

  it('a checkpoint POST when nothing changed returns the same checkpoint (same size, same note)', async () => {
    for (const tenant of tenants) {
      const again = await postCheckpoint(tenant);
      expect(again.statusCode, again.body).toBe(200);
      expect(again.json().treeSize).toBe(sizeOf(tenant));
      expect(again.json()).toEqual(made[tenant]!.at(-1));
    }
    const all = await t.store.listCheckpoints('acme');
    expect(all.map((c) => c.treeSize)).toEqual(made.acme!.map((c) => c.treeSize));
  });

  it('every served event hash is the leaf hash of its canonical JSON', () => {
    for (const tenant of tenants) {
      for (const event of events[tenant]!) {
        expect(event.tenant).toBe(tenant);
        expect(toHex(leafOfWireEvent(event))).toBe(event.hash);
      }
    }
  });

  it('inclusion proofs by id (latest checkpoint) verify against the pinned-key signed root, with a recomputed leaf', async () => {
    for (const tenant of tenants) {
      const latestSize = made[tenant]!.at(-1)!.treeSize;
      for (const event of events[tenant]!) {
        const res = await get(`/api/v1/integrity/proof/inclusion${qs({ tenant, id: event.id })}`);
        expect(res.statusCode, res.body).toBe(200);
        const proof = res.json() as InclusionBody;
        expect(proof.tenant).toBe(tenant);
        expect(proof.leafIndex).toBe(event.seq);
        expect(proof.treeSize).toBe(latestSize);
        expect(proof.checkpoint).not.toBeNull();
        const { checkpoint } = openCheckpoint(proof.checkpoint!, pinnedKey, origin(tenant));
        expect(checkpoint.treeSize).toBe(proof.treeSize);
        expect(toBase64(checkpoint.rootHash)).toBe(proof.rootHash);
        const leaf = leafOfWireEvent(event);
        expect(toBase64(leaf)).toBe(proof.leafHash);
        verifyInclusion(
          proof.leafIndex,
          proof.treeSize,
          leaf,
          proof.proof.map(fromBase64),
          checkpoint.rootHash,
        );
      }
    }
  });

  it('inclusion proofs by seq at every checkpointed tree size verify against that signed checkpoint', async () => {
    let verified = 0;
    for (const tenant of tenants) {
      for (const cp of made[tenant]!) {
        for (const event of events[tenant]!.slice(0, cp.treeSize)) {
          const res = await get(
            `/api/v1/integrity/proof/inclusion${qs({ tenant, seq: event.seq, treeSize: cp.treeSize })}`,
          );
          expect(res.statusCode, res.body).toBe(200);
          const proof = res.json() as InclusionBody;
          expect(proof.treeSize).toBe(cp.treeSize);
          expect(proof.checkpoint).toBe(cp.note);
          const root = openCheckpoint(proof.checkpoint!, pinnedKey, origin(tenant)).checkpoint.rootHash;
          verifyInclusion(event.seq, cp.treeSize, leafOfWireEvent(event), proof.proof.map(fromBase64), root);
          verified += 1;
        }
      }
    }
    const expected = tenants.reduce((sum, tn) => sum + made[tn]!.reduce((s, c) => s + c.treeSize, 0), 0);
    expect(verified).toBe(expected);
    expect(verified).toBeGreaterThan(700);
  });

  it('inclusion proofs at unsigned sizes verify against the stated root, which a consistency proof ties to a signed one', async () => {
    for (const tenant of ['acme', 'globex']) {
      const n = sizeOf(tenant);
      const signedSize = made[tenant]!.at(-1)!.treeSize;
      const signedRoot = signedRootAt(tenant, signedSize);
      const unsignedSizes = [...new Set([1, 3, 5, 6, 9, 17, 31, 63, 64, 65, n - 1, n])].filter(
        (s) => s <= n && !made[tenant]!.some((c) => c.treeSize === s),
      );
      expect(unsignedSizes.length).toBeGreaterThan(5);
      for (const size of unsignedSizes) {
        const stated = independentRoot(tenant, size);
        for (const event of events[tenant]!.slice(0, size)) {
          const byId = event.seq % 2 === 0;
          const res = await get(
            `/api/v1/integrity/proof/inclusion${qs({ tenant, treeSize: size, ...(byId ? { id: event.id } : { seq: event.seq }) })}`,
          );
          expect(res.statusCode, res.body).toBe(200);
          const proof = res.json() as InclusionBody;
          expect(proof.checkpoint).toBeNull();
          expect(proof.leafIndex).toBe(event.seq);
          expect(proof.rootHash).toBe(toBase64(stated));
          verifyInclusion(event.seq, size, leafOfWireEvent(event), proof.proof.map(fromBase64), stated);
        }
        // Tie the unsigned root to the signed one: the log at signedSize extends the log at `size`.
        const [lo, hi] = size <= signedSize ? [size, signedSize] : [signedSize, size];
        const res = await get(`/api/v1/integrity/proof/consistency${qs({ tenant, from: lo, to: hi })}`);
        expect(res.statusCode, res.body).toBe(200);
        const c = res.json() as ConsistencyBody;
        const loRoot = lo === size ? stated : signedRoot;
        const hiRoot = hi === size ? stated : signedRoot;
        verifyConsistency(lo, hi, c.proof.map(fromBase64), loRoot, hiRoot);
      }
    }
  });

  it('consistency proofs between every pair of checkpoint sizes verify against the signed roots', async () => {
    let verified = 0;
    for (const tenant of tenants) {
      const sizes = made[tenant]!.map((c) => c.treeSize);
      for (const from of sizes) {
        for (const to of sizes.filter((s) => s >= from)) {
          const res = await get(`/api/v1/integrity/proof/consistency${qs({ tenant, from, to })}`);
          expect(res.statusCode, res.body).toBe(200);
          const c = res.json() as ConsistencyBody;
          expect([c.tenant, c.from, c.to]).toEqual([tenant, from, to]);
          const root1 = signedRootAt(tenant, from);
          const root2 = signedRootAt(tenant, to);
          expect(c.fromRoot).toBe(toBase64(root1));
          expect(c.toRoot).toBe(toBase64(root2));
          if (from === to) expect(c.proof).toEqual([]);
          verifyConsistency(from, to, c.proof.map(fromBase64), root1, root2);
          verified += 1;
        }
      }
    }
    expect(verified).toBeGreaterThan(80);
  });

  it('consistency proofs between many arbitrary sizes verify against independently recomputed roots', async () => {
    for (const tenant of ['acme', 'globex']) {
      const n = sizeOf(tenant);
      const roots = [
        new Uint8Array(0),
        ...Array.from({ length: n }, (_, i) => independentRoot(tenant, i + 1)),
      ];
      const pairs: [number, number][] = [];
      for (let from = 1; from <= n; from++) {
        for (const to of new Set([from, from + 1, from + 2, 2 * from, n - 1, n])) {
          if (to >= from && to <= n) pairs.push([from, to]);
        }
      }
      for (const [from, to] of pairs) {
        const res = await get(`/api/v1/integrity/proof/consistency${qs({ tenant, from, to })}`);
        expect(res.statusCode, res.body).toBe(200);
        const c = res.json() as ConsistencyBody;
        expect(c.fromRoot, `${tenant} ${from}->${to}`).toBe(toBase64(roots[from]!));
        expect(c.toRoot).toBe(toBase64(roots[to]!));
        verifyConsistency(from, to, c.proof.map(fromBase64), roots[from]!, roots[to]!);
        // The same proof must not vouch for a log whose newer root differs.
        if (from !== to) {
          expectMerkleFailure(
            () => verifyConsistency(from, to, c.proof.map(fromBase64), roots[from]!, flipBit(roots[to]!)),
            'root-mismatch',
          );
        }
      }
      expect(pairs.length).toBeGreaterThan(3 * n);
    }
  });

  it('a proof checked against another key, a modified root, leaf, index or proof hash fails', async () => {
    const tenant = 'acme';
    const event = events[tenant]![37]!;
    const res = await get(`/api/v1/integrity/proof/inclusion${qs({ tenant, id: event.id })}`);
    const proof = res.json() as InclusionBody;
    const note = proof.checkpoint!;
    const hashes = proof.proof.map(fromBase64);
    const leaf = leafOfWireEvent(event);
    const root = openCheckpoint(note, pinnedKey, origin(tenant)).checkpoint.rootHash;
    verifyInclusion(event.seq, proof.treeSize, leaf, hashes, root);

    // Another key (even with the same name) does not open the note.
    const other = generateSigningKey(keyName);
    const otherKey = verifierKeyString(other.name, other.publicKey);
    expect(() => openCheckpoint(note, otherKey, origin(tenant))).toThrow(NoteVerificationError);
    // A note with the same text re-signed by another key does not open with the pinned key.
    const forged = signNote(parseCheckpointText(note), other);
    expect(() => openCheckpoint(forged, pinnedKey, origin(tenant))).toThrow(NoteVerificationError);
    // A checkpoint claiming another root, re-signed by the other key: still rejected by the pinned key.
    const forgedRoot = signNote(
      formatCheckpoint({ origin: origin(tenant), treeSize: proof.treeSize, rootHash: flipBit(root) }),
      other,
    );
    expect(() => openCheckpoint(forgedRoot, pinnedKey, origin(tenant))).toThrow(NoteVerificationError);
    // The genuine note with its root line edited: the signature no longer matches.
    const lines = note.split('\n');
    lines[2] = toBase64(flipBit(root, 31));
    expect(() => openCheckpoint(lines.join('\n'), pinnedKey, origin(tenant))).toThrow(NoteVerificationError);
    // Another tenant's checkpoint is for another origin.
    const globexNote = made.globex!.at(-1)!.note;
    expect(() => openCheckpoint(globexNote, pinnedKey, origin(tenant))).toThrow(MalformedCheckpointError);

    expectMerkleFailure(
      () => verifyInclusion(event.seq, proof.treeSize, leaf, hashes, flipBit(root)),
      'root-mismatch',
    );
    expectMerkleFailure(
      () => verifyInclusion(event.seq, proof.treeSize, leaf, hashes, flipBit(root, 17)),
      'root-mismatch',
    );
    expectMerkleFailure(() => verifyInclusion(event.seq, proof.treeSize, flipBit(leaf), hashes, root));
    expectMerkleFailure(() => verifyInclusion(event.seq + 1, proof.treeSize, leaf, hashes, root));
    expectMerkleFailure(() =>
      verifyInclusion(event.seq, proof.treeSize, leaf, [flipBit(hashes[0]!), ...hashes.slice(1)], root),
    );
    expectMerkleFailure(() => verifyInclusion(event.seq, proof.treeSize, leaf, hashes.slice(1), root));
    // An edited event (one field) no longer hashes to a leaf the signed root includes.
    const edited = leafOfWireEvent({ ...event, action: 'invoice.refund' });
    expectMerkleFailure(
      () => verifyInclusion(event.seq, proof.treeSize, edited, hashes, root),
      'root-mismatch',
    );
    // Acme's proof does not verify against globex's signed root.
    const globexRoot = openCheckpoint(globexNote, pinnedKey, origin('globex')).checkpoint.rootHash;
    expectMerkleFailure(() => verifyInclusion(event.seq, proof.treeSize, leaf, hashes, globexRoot));

    // Consistency: a modified old root, or a proof between other sizes, fails.
    const c = (
      await get(`/api/v1/integrity/proof/consistency${qs({ tenant, from: 20, to: 88 })}`)
    ).json() as ConsistencyBody;
    const r20 = signedRootAt(tenant, 20);
    const r88 = signedRootAt(tenant, 88);
    verifyConsistency(20, 88, c.proof.map(fromBase64), r20, r88);
    expectMerkleFailure(
      () => verifyConsistency(20, 88, c.proof.map(fromBase64), flipBit(r20), r88),
      'root-mismatch',
    );
    expectMerkleFailure(
      () => verifyConsistency(20, 88, c.proof.map(fromBase64), r20, flipBit(r88)),
      'root-mismatch',
    );
    expectMerkleFailure(() =>
      verifyConsistency(33, 88, c.proof.map(fromBase64), signedRootAt(tenant, 33), r88),
    );
  });

  it('bad parameters are 4xx answers in the error catalog shape, never 5xx', async () => {
    const size = sizeOf('acme');
    const cases: [string, number?][] = [
      // Consistency
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 20, to: 12 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 1, to: size + 1 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: size + 1, to: size + 1 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 0, to: 5 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 0, to: 0 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: -1, to: 5 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 'abc', to: 5 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 1.5, to: 5 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', to: 5 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 5 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 1, to: 5, extra: 1 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'nobody', from: 1, to: 1 })}`],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'bad tenant!', from: 1, to: 1 })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 1, to: '1e400' })}`, 400],
      [`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 1, to: 2 ** 60 })}`, 400],
      // Inclusion
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', id: 'acme-ev-3', seq: 3 })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme' })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', id: 'no-such-event' })}`, 404],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'globex', id: 'acme-ev-3' })}`, 404],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: size })}`, 404],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: 10, treeSize: 10 })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: 10, treeSize: 5 })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', id: 'acme-ev-10', treeSize: 10 })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: 10, treeSize: size + 1 })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: 10, treeSize: 0 })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: -1 })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: 'x' })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: 2 ** 60 })}`],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', id: '' })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', id: 'x'.repeat(129) })}`, 400],
      [`/api/v1/integrity/proof/inclusion${qs({ tenant: 'nobody', seq: 0 })}`, 404],
      // Checkpoints
      [`/api/v1/integrity/checkpoint${qs({ tenant: 'acme', treeSize: 0 })}`, 400],
      [`/api/v1/integrity/checkpoint${qs({ tenant: 'acme', treeSize: 5 })}`, 404],
      [`/api/v1/integrity/checkpoint${qs({ tenant: 'acme', treeSize: size + 100 })}`, 404],
      [`/api/v1/integrity/checkpoint${qs({ tenant: 'acme', treeSize: 'big' })}`, 400],
      [`/api/v1/integrity/checkpoint${qs({ tenant: 'nobody' })}`, 404],
      [`/api/v1/integrity/checkpoint${qs({ tenant: '../etc' })}`, 400],
    ];
    for (const [url, status] of cases) {
      const res = await get(url);
      expectCatalogError(res, status);
    }
    // A checkpoint for a tenant with no events: nothing to sign.
    expect(expectCatalogError(await postCheckpoint('nobody'), 404)).toBe('NOT_FOUND');
    // Unknown body fields are refused.
    const extra = await t.app.inject({
      method: 'POST',
      url: '/api/v1/integrity/checkpoint',
      headers: t.auth,
      payload: { tenant: 'acme', treeSize: 5 },
    });
    expectCatalogError(extra, 400);
  });

  it('auth: proofs need credentials and audit:read; signing a checkpoint needs admin; bound keys see only their tenant', async () => {
    const proofUrl = `/api/v1/integrity/proof/inclusion${qs({ tenant: 'acme', seq: 0 })}`;
    expectCatalogError(await get(proofUrl, {}), 401);
    expectCatalogError(await get('/api/v1/integrity/checkpoint', {}), 401);
    expectCatalogError(await postCheckpoint('acme', {} as typeof t.auth), 401);

    const reader = { authorization: `Bearer ${readKey}` };
    const ok = await get(proofUrl, reader);
    expect(ok.statusCode, ok.body).toBe(200);
    expectCatalogError(await postCheckpoint('acme', reader), 403);

    const bound = { authorization: `Bearer ${boundKey}` };
    expectCatalogError(await get(proofUrl, bound), 403);
    expectCatalogError(
      await get(`/api/v1/integrity/proof/consistency${qs({ tenant: 'acme', from: 1, to: 2 })}`, bound),
      403,
    );
    // Without ?tenant= a bound key gets its own tenant's log.
    const own = await get(`/api/v1/integrity/checkpoint`, bound);
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json()).toEqual(made.globex!.at(-1));
    const ownProof = (
      await get(`/api/v1/integrity/proof/inclusion${qs({ seq: 4 })}`, bound)
    ).json() as InclusionBody;
    expect(ownProof.tenant).toBe('globex');
    verifyInclusion(
      4,
      ownProof.treeSize,
      leafOfWireEvent(events.globex![4]!),
      ownProof.proof.map(fromBase64),
      openCheckpoint(ownProof.checkpoint!, pinnedKey, origin('globex')).checkpoint.rootHash,
    );
  });
});

describe.each(BACKENDS)('integrity API: proofs of events after the last checkpoint on %s', (backend) => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it('an inclusion proof without treeSize signs a new checkpoint covering the event, which is then kept', async () => {
    t = await makeTestApp({ backend });
    const pinnedKey = (await t.app.inject({ method: 'GET', url: '/api/v1/integrity/public-key' })).json()
      .note;
    const post = async (payload: Json) => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events', headers: t.auth, payload });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().events as WireEvent[];
    };
    await post({ events: Array.from({ length: 10 }, (_, i) => inputEvent('solo', i)) });
    // No checkpoint exists yet.
    const none = await t.app.inject({
      method: 'GET',
      url: '/api/v1/integrity/checkpoint?tenant=solo',
      headers: t.auth,
    });
    expectCatalogError(none, 404);

    const p1 = (
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/integrity/proof/inclusion?tenant=solo&seq=3',
        headers: t.auth,
      })
    ).json() as InclusionBody;
    expect(p1.treeSize).toBe(10);
    const c1 = openCheckpoint(p1.checkpoint!, pinnedKey, 'logbook.test/solo').checkpoint;
    expect(c1.treeSize).toBe(10);

    const [added] = await post(inputEvent('solo', 10));
    expect(added!.seq).toBe(10);
    // The event is not covered by the latest checkpoint, so a new one is made for its proof.
    const p2 = (
      await t.app.inject({
        method: 'GET',
        url: `/api/v1/integrity/proof/inclusion?tenant=solo&id=${added!.id}`,
        headers: t.auth,
      })
    ).json() as InclusionBody;
    expect(p2.treeSize).toBe(11);
    const c2 = openCheckpoint(p2.checkpoint!, pinnedKey, 'logbook.test/solo').checkpoint;
    const stored = (
      await t.app.inject({ method: 'GET', url: `/api/v1/events/${added!.id}?tenant=solo`, headers: t.auth })
    ).json() as WireEvent;
    verifyInclusion(10, 11, leafOfWireEvent(stored), p2.proof.map(fromBase64), c2.rootHash);

    const latest = (
      await t.app.inject({ method: 'GET', url: '/api/v1/integrity/checkpoint?tenant=solo', headers: t.auth })
    ).json() as CheckpointBody;
    expect(latest.treeSize).toBe(11);
    expect(latest.note).toBe(p2.checkpoint);
    const older = await t.app.inject({
      method: 'GET',
      url: '/api/v1/integrity/checkpoint?tenant=solo&treeSize=10',
      headers: t.auth,
    });
    expect(older.json().note).toBe(p1.checkpoint);
    // And the two signed roots are consistent.
    const c = (
      await t.app.inject({
        method: 'GET',
        url: '/api/v1/integrity/proof/consistency?tenant=solo&from=10&to=11',
        headers: t.auth,
      })
    ).json() as ConsistencyBody;
    verifyConsistency(10, 11, c.proof.map(fromBase64), c1.rootHash, c2.rootHash);
  });
});

/** The signed text of a note (everything before the blank line), re-used to forge a signature by another key. */
function parseCheckpointText(note: string): string {
  const text = note.slice(0, note.lastIndexOf('\n\n') + 1);
  parseCheckpoint(text);
  return text;
}
