// The verifier's split tree work against appending leaf by leaf (MutableCompactRange.append, itself checked against
// protocol's appendLeaf): a checker thread hashes a window's inner nodes (windowNodes), and this thread appends the
// window as aligned perfect subtrees (appendWindowLeaves). Together they must complete exactly the same nodes, with
// the same hashes, leave the same range and give the same roots at every signed size, wherever the window starts.
// Then on a real SQLite store with windows of thousands of entries and checkpoints inside them: every tampering is
// found by the fast path (inner nodes hashed on a worker thread or in this thread) exactly as by the exact path.
import fs from 'node:fs';
import path from 'node:path';
import {
  appendLeaf,
  type CompactRange,
  canonicalJson,
  emptyCompactRange,
  formatCheckpoint,
  generateSigningKey,
  hashLeaf,
  rootOf,
  signNote,
  utf8Encode,
  verifierKeyString,
} from '@logbook/protocol';
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareEvent } from '../src/domain/event.ts';
import { checkpointOrigin } from '../src/services/integrity.ts';
import {
  appendWindowLeaves,
  checkWindow,
  type Finding,
  MutableCompactRange,
  type VerifyOptions,
  verifyStore,
  WindowCheckers,
  windowNodeLayout,
  windowNodes,
} from '../src/services/verifier.ts';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { PackedLogWindow } from '../src/store/store.ts';
import { tempDir } from './helpers.ts';
import { seededRandom } from './support-random.ts';
import { tamperedCopy } from './support-tamper.ts';

const random = seededRandom(2026);
const int = (n: number) => Math.floor(random() * n);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function popCount(x: number): number {
  let n = 0;
  for (let v = x; v > 0; v = Math.floor(v / 2)) n += v % 2;
  return n;
}

/** A compact range of `size` leaves with random hashes (any size: no need to append that many leaves). */
const rangeOf = (size: number) =>
  MutableCompactRange.from({ size, hashes: Array.from({ length: popCount(size) }, () => bytes(32)) });

type Nodes = Map<string, string>;
const collect = (into: Nodes) => ({
  node: (level: number, index: number, hash: Uint8Array) => {
    into.set(`${level}/${index}`, hex(hash));
  },
});

describe('a window appended as aligned subtrees with its inner nodes hashed elsewhere', () => {
  it('completes the same nodes and has the same range and roots as appending leaf by leaf', () => {
    const starts = [
      0,
      1,
      2,
      3,
      5,
      8,
      96,
      97,
      255,
      256,
      1000,
      4095,
      10_000,
      2 ** 31 - 3,
      2 ** 40 + 7,
      2 ** 52 + 1,
    ];
    for (let round = 0; round < 60; round++) {
      const start = round < starts.length ? starts[round]! : int(1 << 20);
      const n = 1 + (round % 3 === 0 ? int(40) : int(1500));
      const leaves = bytes(n * 32);
      const initial = rangeOf(start).save();
      // A few sizes inside the window where a signed root must be checked, and always the window's end.
      const stops = [
        ...new Set([...Array.from({ length: int(4) }, () => start + 1 + int(n)), start + n]),
      ].sort((a, b) => a - b);

      const reference = new MutableCompactRange();
      reference.restore(initial);
      const expected: Nodes = new Map();
      const expectedRoots: string[] = [];
      for (let i = 0; i < n; i++) {
        reference.append(leaves, i * 32, collect(expected));
        if (stops.includes(reference.size)) expectedRoots.push(hex(reference.root()));
      }

      const layout = windowNodeLayout(start, n)!;
      const inner = windowNodes(leaves, start, n)!;
      expect(inner.length).toBe(layout.bytes);
      const actual: Nodes = new Map();
      for (let level = 1; level < layout.levels; level++) {
        for (let k = 0; k < layout.count[level]!; k++) {
          const at = layout.at[level]! + k * 32;
          actual.set(`${level}/${layout.first[level]! + k}`, hex(inner.subarray(at, at + 32)));
        }
      }
      const range = new MutableCompactRange();
      range.restore(initial);
      const roots: string[] = [];
      for (const stop of stops) {
        appendWindowLeaves(range, leaves, inner, layout, stop, collect(actual));
        expect(range.size).toBe(stop);
        roots.push(hex(range.root()));
      }

      expect(new Map([...actual].sort()), `start ${start}, ${n} leaves`).toEqual(
        new Map([...expected].sort()),
      );
      expect(roots).toEqual(expectedRoots);
      expect(range.toCompactRange().hashes.map(hex)).toEqual(reference.toCompactRange().hashes.map(hex));
    }
  });

  it('lays out only nodes whose leaves all lie in the window, and refuses what is not a window', () => {
    expect(windowNodeLayout(6, 10)).toEqual({
      levels: 4,
      first: [6, 3, 2, 1],
      count: [10, 5, 2, 1],
      at: [0, 0, 160, 224],
      bytes: 256,
    });
    expect(windowNodeLayout(7, 1)).toMatchObject({ levels: 1, bytes: 0 });
    expect(windowNodeLayout(-1, 4)).toBeNull();
    expect(windowNodeLayout(0.5, 4)).toBeNull();
    expect(windowNodes(new Uint8Array(31), 0, 1)).toBeNull();
    const range = rangeOf(8);
    const layout = windowNodeLayout(8, 4)!;
    expect(() =>
      appendWindowLeaves(range, bytes(128), windowNodes(bytes(128), 8, 4)!, layout, 13, null),
    ).toThrow(RangeError);
    expect(() => rangeOf(3).appendSubtree(1, bytes(32), 0, null)).toThrow(RangeError);
  });

  it('a worker thread returns the same inner nodes for the leaves it hashed, numbered from the start it was given', async () => {
    const texts = Array.from({ length: 300 }, (_, i) => `{"n":${i}}`);
    const make = (): PackedLogWindow => {
      const segments = texts.map((t) => Buffer.concat([Buffer.of(0), Buffer.from(t)]));
      const bodyOffsets = new Uint32Array(texts.length + 1);
      segments.forEach((s, i) => {
        bodyOffsets[i + 1] = bodyOffsets[i]! + s.length;
      });
      return {
        count: texts.length,
        seqs: Float64Array.from(texts, (_, i) => 1000 + i),
        bodies: Buffer.concat(segments),
        bodyOffsets,
        leafHashes: new Uint8Array(32 * texts.length),
        columns: Buffer.alloc(0),
      };
    };
    const local = make();
    const expected = checkWindow(local.bodies, local.bodyOffsets, local.columns, local.count, 1000);
    expect(hex(expected.nodes!)).toBe(hex(windowNodes(expected.leaves!, 1000, 300)!));
    expect(checkWindow(local.bodies, local.bodyOffsets, local.columns, local.count).nodes).toBeUndefined();
    const checkers = new WindowCheckers(1);
    try {
      const remote = await checkers.check(make(), 1000);
      expect(checkers.threads).toBe(1);
      expect(remote!.start).toBe(1000);
      expect(hex(remote!.nodes!)).toBe(hex(expected.nodes!));
      expect(hex(remote!.leaves!)).toBe(hex(expected.leaves!));
    } finally {
      await checkers.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// A real store: 5,000 events, checkpoints inside the windows (none on a window boundary), tampered in SQLite.

const EVENTS = 5000;
const CHECKPOINTS = [1000, 2047, 2500, 4099];
let dir: string;
let pristine: string;
let pinned: string;

beforeAll(async () => {
  dir = tempDir('logbook-verifier-windows-');
  pristine = path.join(dir, 'pristine.db');
  const key = generateSigningKey('logbook');
  pinned = verifierKeyString(key.name, key.publicKey);
  const store = new SqliteStore({ file: pristine });
  await store.migrate();
  const t0 = Date.UTC(2026, 2, 1);
  for (let next = 0; next < EVENTS; ) {
    const upTo = Math.min(EVENTS, next + 250, ...CHECKPOINTS.filter((c) => c > next));
    const events = [];
    for (; next < upTo; next++) {
      events.push(
        prepareEvent(
          {
            occurredAt: new Date(t0 + next * 1000).toISOString(),
            action: ['invoice.pay', 'user.login'][next % 2]!,
            actor: { id: `user-${next % 17}`, name: 'A "name"' },
            target: { type: 'invoice', id: `inv-${next}` },
            outcome: 'success',
            context: { ip: `10.0.${next % 200}.1` },
            details: { n: next, note: 'ünïcode ✓' },
          },
          { receivedMs: t0 + next },
        ),
      );
    }
    const [result] = await store.appendEvents([{ events }]);
    if (!result?.ok) throw new Error('append refused');
    if (CHECKPOINTS.includes(upTo)) {
      const head = await store.getTreeHead('default');
      const rootHash = rootOf(head.range);
      const origin = checkpointOrigin(key.name, 'default');
      const note = signNote(formatCheckpoint({ origin, treeSize: upTo, rootHash }), key);
      await store.saveCheckpoint({ tenant: 'default', treeSize: upTo, rootHash, createdMs: t0, note });
    }
  }
  await store.close();
}, 120_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A copy of the pristine database with `tamper` applied to it directly. */
const tampered = (tamper: (db: Database.Database) => void): string => tamperedCopy(pristine, tamper);

async function findings(file: string, options: Partial<VerifyOptions>): Promise<Finding[]> {
  const store = new SqliteStore({ file, readonly: true });
  try {
    const report = await verifyStore(store, { verifierKeys: [pinned], all: true, ...options });
    return report.findings;
  } finally {
    await store.close();
  }
}

/** Fast path with inner nodes from a worker and from this thread, windows of 4096 and 1500: as the exact path. */
async function expectFound(file: string, kind: string): Promise<void> {
  for (const batchSize of [4096, 1500]) {
    const exact = await findings(file, { batchSize, packed: false });
    expect(exact.map((f) => f.kind)).toContain(kind);
    for (const variant of [{ workers: 1, workerThreshold: 0 }, { workers: 0 }]) {
      expect(
        await findings(file, { batchSize, ...variant }),
        `${batchSize} ${JSON.stringify(variant)}`,
      ).toEqual(exact);
    }
  }
}

describe('windows of thousands of entries, checkpoints inside them', { timeout: 120_000 }, () => {
  it('untouched: every event verified on the fast path, nothing found', async () => {
    for (const variant of [{ workers: 1, workerThreshold: 0 }, { workers: 0 }, {}]) {
      const store = new SqliteStore({ file: pristine, readonly: true });
      // The exact path reads through readLog: a fast path that doubted any window would call it. The packed read
      // brings every stored node along: no level is read on its own.
      let exactReads = 0;
      let levelReads = 0;
      const readLog = store.readLog.bind(store);
      store.readLog = (...args) => {
        exactReads += 1;
        return readLog(...args);
      };
      const getMerkleLevel = store.getMerkleLevel.bind(store);
      store.getMerkleLevel = (...args) => {
        levelReads += 1;
        return getMerkleLevel(...args);
      };
      const report = await verifyStore(store, { verifierKeys: [pinned], ...variant });
      await store.close();
      expect(report).toMatchObject({ ok: true, events: EVENTS, checkpoints: CHECKPOINTS.length });
      expect(exactReads, JSON.stringify(variant)).toBe(0);
      expect(levelReads, JSON.stringify(variant)).toBe(0);
    }
  });

  it('finds changed columns, changed body bytes, swapped rows, forged nodes and roots as the exact path does', async () => {
    const update = (sql: string) => tampered((db) => db.prepare(sql).run());
    await expectFound(update("UPDATE events SET actor_id = 'someone' WHERE seq = 3001"), 'column-mismatch');
    await expectFound(
      update('UPDATE events SET occurred_ms = occurred_ms + 1 WHERE seq = 4097'),
      'column-mismatch',
    );
    await expectFound(
      update("UPDATE events SET body = replace(body, 'ünïcode', 'unicode') WHERE seq = 2046"),
      'hash-mismatch',
    );
    await expectFound(
      tampered((db) => {
        // Body bytes changed and rehashed: the leaf agrees, the nodes above it and the signed root do not.
        const row = db.prepare('SELECT body FROM events WHERE seq = 4500').get() as { body: string };
        const text = canonicalJson({ ...JSON.parse(row.body), outcome: 'failure' });
        db.prepare('UPDATE events SET body = ?, leaf_hash = ?, outcome = ? WHERE seq = 4500').run(
          text,
          Buffer.from(hashLeaf(utf8Encode(text))),
          'failure',
        );
      }),
      'node-mismatch',
    );
    await expectFound(
      tampered((db) => {
        const move = db.prepare('UPDATE events SET seq = ? WHERE seq = ?');
        move.run(-5, 2600);
        move.run(2600, 2601);
        move.run(2601, -5);
      }),
      'node-mismatch',
    );
    await expectFound(
      update('UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 10 AND idx = 2'),
      'node-mismatch',
    );
    await expectFound(update('DELETE FROM merkle_nodes WHERE level = 1 AND idx = 1300'), 'node-mismatch');
    // A level the packed read cannot pack (a short hash) is read on its own, and still judged.
    await expectFound(
      update('UPDATE merkle_nodes SET hash = zeroblob(31) WHERE level = 4 AND idx = 200'),
      'node-mismatch',
    );
    await expectFound(
      tampered((db) => {
        // An attacker with protocol code: body rehashed, every node and the range recomputed. Only the roots signed
        // at 2047 and 2500 (inside a window) can tell.
        const row = db.prepare('SELECT body FROM events WHERE seq = 2000').get() as { body: string };
        const text = canonicalJson({ ...JSON.parse(row.body), details: { n: 0 } });
        db.prepare('UPDATE events SET body = ?, leaf_hash = ? WHERE seq = 2000').run(
          text,
          Buffer.from(hashLeaf(utf8Encode(text))),
        );
        const leaves = db.prepare('SELECT leaf_hash FROM events ORDER BY seq').pluck().all() as Buffer[];
        db.prepare('DELETE FROM merkle_nodes').run();
        const insert = db.prepare(
          "INSERT INTO merkle_nodes (tenant, level, idx, hash) VALUES ('default', ?, ?, ?)",
        );
        let range: CompactRange = emptyCompactRange();
        for (const leaf of leaves) {
          const appended = appendLeaf(range, new Uint8Array(leaf));
          range = appended.range;
          for (const node of appended.nodes)
            if (node.level > 0) insert.run(node.level, node.index, Buffer.from(node.hash));
        }
        db.prepare("UPDATE tenant_logs SET range_hashes = ? WHERE tenant = 'default'").run(
          Buffer.concat(range.hashes.map((h) => Buffer.from(h))),
        );
      }),
      'checkpoint-root',
    );
    await expectFound(update('DELETE FROM events WHERE seq = 4096'), 'seq-gap');
  });
});
