// The verifier's fast-path building blocks against their definitions: node:crypto hashing against protocol's hashLeaf
// and hashChildren, the in-place compact range against protocol's appendLeaf and rootOf, the ISO time reader against
// Date.parse, and the byte-level column check against JSON.parse + the exact column comparison (one-sided: whatever it
// passes, the exact check must pass too). Random inputs from a fixed seed, so failures reproduce.
import { isUtf8 } from 'node:buffer';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  appendLeaf,
  type CompactRange,
  canonicalJson,
  emptyCompactRange,
  hashChildren,
  hashLeaf,
  rootOf,
} from '@logbook/protocol';
import { describe, expect, it } from 'vitest';
import {
  checkWindow,
  columnSuspects,
  columnsConsistent,
  hashChildrenInto,
  hashLeafOfText,
  MutableCompactRange,
  parseCanonicalIsoTime,
  WindowCheckers,
} from '../src/services/verifier.ts';
import type { LogEntryRow, PackedLogWindow } from '../src/store/store.ts';
import { tempDir } from './helpers.ts';
import { seededRandom } from './support-random.ts';

const random = seededRandom(20261122);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('hashing', () => {
  it('hashChildrenInto is protocol hashChildren, also when the output overlaps an input', () => {
    for (let i = 0; i < 300; i++) {
      const buffer = bytes(96);
      const left = buffer.slice(0, 32);
      const right = buffer.slice(32, 64);
      const expected = hex(hashChildren(left, right));
      const out = new Uint8Array(40);
      hashChildrenInto(buffer, 0, buffer, 32, out, 5);
      expect(hex(out.subarray(5, 37))).toBe(expected);
      hashChildrenInto(buffer, 0, buffer, 32, buffer, 0); // over the left input
      expect(hex(buffer.subarray(0, 32))).toBe(expected);
      const again = Uint8Array.from([...left, ...right]);
      hashChildrenInto(again, 0, again, 32, again, 32); // over the right input
      expect(hex(again.subarray(32, 64))).toBe(expected);
    }
  });

  it('hashLeafOfText is hashLeaf(Buffer.from(text, "utf8")) for any JavaScript string', () => {
    const pieces = [
      'a',
      '"',
      '\\',
      'é',
      '€',
      '😀',
      '\u0000',
      '\n',
      '\ud800',
      '\udfff',
      '\ufffd',
      '\u2028',
      'x'.repeat(50),
    ];
    const texts = ['', '{}', 'x'.repeat(70_000), '😀'.repeat(30_000)];
    for (let i = 0; i < 400; i++) texts.push(Array.from({ length: int(40) }, () => pick(pieces)).join(''));
    for (const text of texts) {
      expect(hex(hashLeafOfText(text))).toBe(hex(hashLeaf(Buffer.from(text, 'utf8'))));
    }
  });
});

describe('MutableCompactRange', () => {
  it('completes the same nodes, bottom-up, and has the same roots and range as protocol appendLeaf', () => {
    for (const start of [0, 1, 2, 3, 7, 8, 100, 255, 256, 1023, 4097]) {
      let reference: CompactRange = emptyCompactRange();
      for (let i = 0; i < start; i++) reference = appendLeaf(reference, bytes(32)).range;
      const mutable = MutableCompactRange.from(reference);
      expect(mutable.size).toBe(start);
      for (let i = 0; i < 300; i++) {
        const leaf = bytes(32);
        const appended = appendLeaf(reference, leaf);
        reference = appended.range;
        const nodes: string[] = [];
        const at = int(4);
        const holder = new Uint8Array(40);
        holder.set(leaf, at);
        mutable.append(holder, at, {
          node: (level, index, hash) => nodes.push(`${level}/${index}/${hex(hash)}`),
        });
        expect(nodes).toEqual(
          appended.nodes.filter((n) => n.level > 0).map((n) => `${n.level}/${n.index}/${hex(n.hash)}`),
        );
        expect(mutable.size).toBe(reference.size);
        expect(hex(mutable.root())).toBe(hex(rootOf(reference)));
        const range = mutable.toCompactRange();
        expect(range.size).toBe(reference.size);
        expect(range.hashes.map(hex)).toEqual(reference.hashes.map(hex));
      }
    }
    expect(hex(new MutableCompactRange().root())).toBe(hex(rootOf(emptyCompactRange())));
  });

  it('save and restore bring back the exact state; from() refuses a range that is not one', () => {
    const range = new MutableCompactRange();
    for (let i = 0; i < 77; i++) range.append(bytes(32), 0, null);
    const saved = range.save();
    const root = hex(range.root());
    for (let i = 0; i < 50; i++) range.append(bytes(32), 0, null);
    range.restore(saved);
    expect(range.size).toBe(77);
    expect(hex(range.root())).toBe(root);
    expect(() => MutableCompactRange.from({ size: 3, hashes: [bytes(32)] })).toThrow(RangeError);
    expect(() => MutableCompactRange.from({ size: 1, hashes: [bytes(31)] })).toThrow(RangeError);
  });
});

describe('parseCanonicalIsoTime', () => {
  const ascii = (text: string) => Uint8Array.from(text, (c) => c.charCodeAt(0));
  const parse = (text: string) => parseCanonicalIsoTime(ascii(`xx${text}yy`), 2, 2 + text.length);

  it('is Date.parse on every toISOString() of years 0000-9999', () => {
    const times = [
      0,
      -1,
      1,
      -62167219200000,
      253402300799999,
      Date.UTC(2000, 1, 29),
      Date.UTC(1900, 1, 28, 23, 59, 59, 999),
    ];
    for (let i = 0; i < 20_000; i++) times.push(Math.floor(random() * 315569520000000) - 62167219200000);
    for (const ms of times) {
      const text = new Date(ms).toISOString();
      expect(parse(text), text).toBe(ms);
      expect(Date.parse(text)).toBe(ms);
    }
  });

  it('returns NaN or exactly Date.parse for anything else (so NaN only ever means "ask Date.parse")', () => {
    const digit = () => String(int(10));
    const texts = [
      '2026-02-29T00:00:00.000Z',
      '2026-02-30T00:00:00.000Z',
      '2024-02-29T00:00:00.000Z',
      '2026-01-01T24:00:00.000Z',
      '2026-01-01T23:59:60.000Z',
      '2026-13-01T00:00:00.000Z',
      '2026-00-01T00:00:00.000Z',
      '2026-01-00T00:00:00.000Z',
      '2026-01-01T00:00:00Z',
      '2026-01-01T00:00:00.000+00:00',
      '+002026-01-01T00:00:00.000Z',
      '2026-01-01 00:00:00.000Z',
      '2026-01-01T00:00:00.000z',
      '1900-02-29T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '0099-12-31T23:59:59.999Z',
    ];
    for (let i = 0; i < 20_000; i++) {
      const d = Array.from({ length: 17 }, digit);
      texts.push(
        `${d[0]}${d[1]}${d[2]}${d[3]}-${d[4]}${d[5]}-${d[6]}${d[7]}T${d[8]}${d[9]}:${d[10]}${d[11]}:${d[12]}${d[13]}.${d[14]}${d[15]}${d[16]}Z`,
      );
    }
    for (const text of texts) {
      const value = parse(text);
      if (!Number.isNaN(value)) expect(value, text).toBe(Date.parse(text));
    }
    expect(parse('2026-01-01T00:00:00Z')).toBeNaN();
  });
});

// ---------------------------------------------------------------------------------------------
// The byte-level column check.

interface Case {
  body: string;
  columns: [unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown];
  /** The record text as an adapter writes it; JSON.stringify(columns) unless given. */
  record?: string;
}

function realisticBody(i: number): Record<string, unknown> {
  const actor = `user-${int(10_000)}`;
  return {
    id: `01a2${i.toString(16).padStart(4, '0')}-267f-7b8c-9c71-e8cb1b1b4a27`,
    tenant: pick(['default', 'acme', 'globex', 'ünïcode', '租户']),
    occurredAt: new Date(Date.UTC(2026, 0, 1) + int(1e10)).toISOString(),
    receivedAt: new Date(Date.UTC(2026, 10, 1) + int(1e9)).toISOString(),
    action: pick(['invoice.pay', 'user.login', 'order.ship']),
    actor: {
      id: actor,
      name: `User ${actor}`,
      type: 'user',
      ...(random() < 0.5 ? { email: `${actor}@x.io` } : {}),
    },
    ...(random() < 0.8
      ? { target: { type: pick(['invoice', 'order']), id: `t-${int(1000)}`, name: 'ticket "x"' } }
      : random() < 0.5
        ? { target: { name: 'no type or id' } }
        : {}),
    outcome: pick(['success', 'failure']),
    description: pick(['plain', 'with "quotes" and \\ and\nnewline', 'ünïcode ✓ 😀', '']),
    ...(random() < 0.8 ? { context: { ip: `10.0.${int(256)}.${int(256)}`, requestId: `req-${i}` } } : {}),
    details: { amount: random() * 1000, nested: { deep: [1, 2.5, -3e-7, true, false, null, { a: 'b' }] } },
  };
}

function columnsOf(body: Record<string, unknown>): Case['columns'] {
  const b = body as {
    id: unknown;
    tenant: unknown;
    occurredAt: string;
    action: unknown;
    actor?: { id?: unknown };
    target?: { type?: unknown; id?: unknown };
    outcome: unknown;
    context?: { ip?: unknown };
  };
  return [
    b.id,
    b.tenant,
    Date.parse(b.occurredAt),
    b.action,
    b.actor?.id,
    b.target?.type ?? null,
    b.target?.id ?? null,
    b.outcome,
    b.context?.ip ?? null,
  ];
}

/** A mutation an attacker (or a weird but valid writer) might apply to the body text or to a column. */
function mutate(c: Case): Case {
  const body = c.body;
  const columns = [...c.columns] as Case['columns'];
  switch (int(18)) {
    case 0: {
      // one byte of the body changed
      const at = int(body.length);
      return { body: body.slice(0, at) + String.fromCharCode(32 + int(95)) + body.slice(at + 1), columns };
    }
    case 1: // one byte dropped
      return { body: body.slice(0, int(body.length)) + body.slice(int(body.length)), columns };
    case 2: {
      // a column changed
      const slot = int(9);
      columns[slot] = pick([
        null,
        'x',
        '',
        5,
        1.5,
        `${columns[slot]}`,
        `${columns[slot]} `,
        (columns[slot] as number) + 1,
      ]);
      return { body, columns };
    }
    case 3: // whitespace around tokens (valid JSON, JSON.parse accepts it)
      return {
        body: body.replaceAll(',', pick([', ', ',\n', '\t,', ' , '])).replaceAll(':', pick([': ', ' :'])),
        columns,
      };
    case 4: // a duplicate key: JSON.parse keeps the last one
      return {
        body: body.replace(
          '{',
          `{"${pick(['id', 'action', 'outcome', 'tenant', 'actor', 'target', 'context'])}":${pick(['"x"', '1', 'null', '{"id":"x"}'])},`,
        ),
        columns,
      };
    case 5: // a duplicate key appended at the end
      return { body: body.replace(/}$/, `,"${pick(['id', 'action', 'occurredAt'])}":"x"}`), columns };
    case 6: // an escaped key or value
      return {
        body: body
          .replace('"action"', pick(['"\\u0061ction"', '"act\\u0069on"']))
          .replace('"id":"', '"id":"\\u0030'),
        columns,
      };
    case 16: // an escaped duplicate of a compared key after the plain one: JSON.parse keeps the escaped one
      return {
        body: body.replace(
          /}$/,
          `,${pick(['"\\u0061ction":"x"', '"i\\u0064":"x"', '"\\u006futcome":"x"', '"t\\u0065nant":"x"', '"\\u0061ctor":{"id":"x"}', '"con\\u0074ext":null'])}}`,
        ),
        columns,
      };
    case 17: // a raw control character inside a string
      return {
        body: body
          .replace('plain', `pl${String.fromCharCode(int(32))}ain`)
          .replace('"type":"', `"type":"${String.fromCharCode(int(32))}`),
        columns,
      };
    case 7: // a value of another type
      return {
        body: body.replace(
          /"outcome":"[^"]*"/,
          pick(['"outcome":1', '"outcome":null', '"outcome":["success"]', '"outcome":{"a":1}']),
        ),
        columns,
      };
    case 8: // actor, target or context of another shape
      return {
        body: body.replace(
          /"(actor|target|context)":\{/,
          `"$1":${pick(['null,"_":{', '[],"_":{', '"s","_":{', '1,"_":{', 'true,"_":{'])}`,
        ),
        columns,
      };
    case 9: // not JSON
      return {
        body: pick([
          `${body} x`,
          body.slice(0, -1),
          `[${body}`,
          '',
          'null',
          '5',
          '"s"',
          '{}',
          '[]',
          `${body}}`,
        ]),
        columns,
      };
    case 10: // numbers at the edges of the grammar
      return {
        body: body.replace(
          /"amount":[^,}]*/,
          `"amount":${pick(['01', '-', '1.', '.5', '1e', '+1', '-0', '1E+2', '0.0e-0', 'NaN', 'Infinity'])}`,
        ),
        columns,
      };
    case 11: // literals
      return { body: body.replace(/true/, pick(['tru', 'True', 'truex', 'null'])), columns };
    case 12: // a control character or an escape
      return {
        body: body.replace(
          'plain',
          pick(['pl\u0001ain', 'pl\\u0001ain', 'pl\\x41ain', 'pl\\/ain', 'pl\\uZZZZain', 'pl\\']),
        ),
        columns,
      };
    case 13: // the column record written another (valid) way
      return { body, columns, record: JSON.stringify(columns).replaceAll(',', ' , ') };
    case 14: // occurredAt not in the canonical form
      return {
        body: body.replace(
          /"occurredAt":"([^"]*)\.(\d{3})Z"/,
          pick(['"occurredAt":"$1Z"', '"occurredAt":"$1.$2+00:00"', '"occurredAt":1']),
        ),
        columns,
      };
    default: // nested deeper than anyone needs
      return {
        body: body.replace('"nested":', `"nested":${'['.repeat(250)}1${']'.repeat(250)},"n2":`),
        columns,
      };
  }
}

function pack(cases: Case[]): { bodies: Uint8Array; offsets: Uint32Array; columns: Uint8Array } {
  const segments = cases.map((c) => Buffer.concat([Buffer.of(0), Buffer.from(c.body, 'utf8')]));
  const offsets = new Uint32Array(cases.length + 1);
  segments.forEach((s, i) => {
    offsets[i + 1] = offsets[i]! + s.length;
  });
  const columns = Buffer.from(cases.map((c) => c.record ?? JSON.stringify(c.columns)).join(''), 'utf8');
  return { bodies: Buffer.concat(segments), offsets, columns };
}

function row(c: Case, seq: number): LogEntryRow {
  const [id, tenant, occurredMs, action, actorId, targetType, targetId, outcome, ip] = c.columns;
  return {
    seq,
    id,
    tenant,
    occurredMs,
    action,
    actorId,
    targetType,
    targetId,
    outcome,
    ip,
    body: c.body,
    leafHash: new Uint8Array(32),
  } as LogEntryRow;
}

describe('columnSuspects (the byte-level column check)', () => {
  it('passes realistic canonical events without asking the exact check', () => {
    const cases = Array.from({ length: 2000 }, (_, i) => {
      const body = realisticBody(i);
      return { body: canonicalJson(body), columns: columnsOf(body) };
    });
    const { bodies, offsets, columns } = pack(cases);
    expect(columnSuspects(bodies, offsets, columns, cases.length)).toEqual([]);
    for (const [i, c] of cases.entries()) expect(columnsConsistent(row(c, i))).toBe(true);
  });

  it('never passes an entry the exact check (JSON.parse + column comparison) would flag', () => {
    let passed = 0;
    let suspected = 0;
    for (let round = 0; round < 40; round++) {
      const cases: Case[] = [];
      for (let i = 0; i < 250; i++) {
        const body = realisticBody(i);
        let c: Case = { body: canonicalJson(body), columns: columnsOf(body) };
        for (let m = int(3); m >= 0; m--) c = mutate(c);
        if (!isUtf8(Buffer.from(c.body, 'utf8')) || c.body.includes('\ud800')) continue;
        cases.push(c);
      }
      const { bodies, offsets, columns } = pack(cases);
      const suspects = columnSuspects(bodies, offsets, columns, cases.length);
      expect(suspects).not.toBeNull();
      const flagged = new Set(suspects);
      for (const [i, c] of cases.entries()) {
        if (flagged.has(i)) {
          suspected += 1;
          continue;
        }
        passed += 1;
        expect(columnsConsistent(row(c, i)), `${c.body}\n${c.record ?? JSON.stringify(c.columns)}`).toBe(
          true,
        );
      }
    }
    // Both outcomes were exercised.
    expect(passed).toBeGreaterThan(500);
    expect(suspected).toBeGreaterThan(500);
  });

  it('refuses (null) column records that are not one well-formed record per entry', () => {
    const body = realisticBody(1);
    const c: Case = { body: canonicalJson(body), columns: columnsOf(body) };
    const good = pack([c, c]);
    expect(columnSuspects(good.bodies, good.offsets, good.columns, 2)).toEqual([]);
    const record = JSON.stringify(c.columns);
    for (const text of [
      record,
      `${record}${record}${record}`,
      `${record}${record.slice(0, -1)}`,
      `${record}x${record}`,
      `${record.slice(0, -1)},1]${record}`,
    ]) {
      expect(columnSuspects(good.bodies, good.offsets, Buffer.from(text), 2), text).toBeNull();
    }
  });
});

describe('checkWindow', () => {
  const window = (texts: (string | Uint8Array)[]): PackedLogWindow => {
    const segments = texts.map((t) =>
      Buffer.concat([Buffer.of(0xff), typeof t === 'string' ? Buffer.from(t) : t]),
    );
    const bodyOffsets = new Uint32Array(texts.length + 1);
    segments.forEach((s, i) => {
      bodyOffsets[i + 1] = bodyOffsets[i]! + s.length;
    });
    const columns = Buffer.from(
      texts.map(() => JSON.stringify(['i', 't', 0, 'a', 'x', null, null, 'o', null])).join(''),
    );
    return {
      count: texts.length,
      seqs: Float64Array.from(texts, (_, i) => i),
      bodies: Buffer.concat(segments),
      bodyOffsets,
      leafHashes: new Uint8Array(32 * texts.length),
      columns,
    };
  };

  it('hashes 0x00 ‖ body for every entry (whatever the spare byte held) and reports the column suspects', () => {
    const texts = ['{"id":"i"}', '', 'not json', '😀 ünïcode', '{'.repeat(20)];
    const w = window(texts);
    const check = checkWindow(w.bodies, w.bodyOffsets, w.columns, w.count);
    expect(check.suspects).toEqual([0, 1, 2, 3, 4]);
    texts.forEach((t, i) => {
      expect(hex(check.leaves!.subarray(i * 32, i * 32 + 32))).toBe(hex(hashLeaf(Buffer.from(t))));
    });
  });

  it('declines (null leaves) bytes that are not valid UTF-8 and offsets that do not describe the buffer', () => {
    const invalid = window(['{}', Uint8Array.of(0x7b, 0xff, 0x7d)]);
    expect(checkWindow(invalid.bodies, invalid.bodyOffsets, invalid.columns, 2).leaves).toBeNull();
    const w = window(['{}', '{}']);
    expect(checkWindow(w.bodies, w.bodyOffsets, w.columns, 3).leaves).toBeNull();
    expect(checkWindow(w.bodies, Uint32Array.of(0, 3, 3), w.columns, 2).leaves).toBeNull();
    expect(checkWindow(w.bodies, Uint32Array.of(1, 3, 6), w.columns, 2).leaves).toBeNull();
  });

  it('gives the same results on a worker thread (run from the function source) as in this thread', async () => {
    const checkers = new WindowCheckers(2);
    try {
      for (let round = 0; round < 6; round++) {
        const texts = Array.from({ length: 500 }, (_, i) => canonicalJson(realisticBody(i)));
        if (round === 3) texts[7] = '{"broken"';
        const local = window(texts);
        const expected = checkWindow(local.bodies, local.bodyOffsets, local.columns, local.count);
        const remote = await checkers.check(window(texts));
        expect(remote).not.toBeNull();
        expect(hex(remote!.leaves!)).toBe(hex(expected.leaves!));
        expect(remote!.suspects).toEqual(expected.suspects);
        expect(checkers.threads).toBe(2);
      }
    } finally {
      await checkers.close();
    }
    // Closed: checks run in this thread.
    const w = window(['{}']);
    expect((await checkers.check(w))!.leaves).not.toBeNull();
  });

  it('runs on a worker thread in a process started the way the CLI is (node --import tsx)', () => {
    // tsx's transpiler adds helpers (__name) to function source; the worker source must still run.
    const dir = tempDir('logbook-verifier-tsx-');
    const script = path.join(dir, 'check.mts');
    const verifier = path.resolve(import.meta.dirname, '../src/services/verifier.ts');
    fs.writeFileSync(
      script,
      `import { checkWindow, WindowCheckers } from ${JSON.stringify(verifier)};
const body = Buffer.from('{"id":"i","tenant":"t","occurredAt":"1970-01-01T00:00:00.000Z","action":"a","actor":{"id":"x"},"outcome":"o"}');
const make = () => ({ count: 1, seqs: Float64Array.of(0), bodies: Buffer.concat([Buffer.of(0), body]), bodyOffsets: Uint32Array.of(0, body.length + 1), leafHashes: new Uint8Array(32), columns: Buffer.from(JSON.stringify(['i', 't', 0, 'a', 'x', null, null, 'o', null])) });
const checkers = new WindowCheckers(1);
const remote = await checkers.check(make());
const threads = checkers.threads;
await checkers.close();
const local = make();
const expected = checkWindow(local.bodies, local.bodyOffsets, local.columns, 1);
console.log(JSON.stringify({ threads, remote: remote && { leaves: Buffer.from(remote.leaves).toString('hex'), suspects: remote.suspects }, expected: { leaves: Buffer.from(expected.leaves).toString('hex'), suspects: expected.suspects } }));
`,
    );
    const out = execFileSync(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(import.meta.dirname, '../../..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    const { threads, remote, expected } = JSON.parse(out) as {
      threads: number;
      remote: unknown;
      expected: { suspects: number[] };
    };
    expect(threads).toBe(1);
    expect(expected.suspects).toEqual([]);
    expect(remote).toEqual(expected);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
