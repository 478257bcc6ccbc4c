// Hostile input against the real app over a real SQLite file: every bad request is a 4xx in the catalog shape
// `{error:{code,status,message,requestId}}` with a message that says what to fix; never a 5xx, never a crash.
// At the end the store holds exactly what the valid requests wrote: rejected requests change nothing.
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import {
  type Appended,
  append,
  expectClientError,
  expectError,
  get,
  type Json,
  list,
  qs,
  type WireEvent,
  walk,
} from './support-events.ts';

const MB = 1024 * 1024;

/** JSON text of `{"d":{"d":…"bottom"…}}` nested `depth` levels (built as text: JSON.stringify would overflow the stack). */
function nestedJson(depth: number): string {
  return `${'{"d":'.repeat(depth)}"bottom"${'}'.repeat(depth)}`;
}

function nested(depth: number, leaf: unknown = 'bottom'): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { d: value };
  return value;
}

describe.each(BACKENDS)('hostile input on %s', (backend) => {
  let t: TestApp;
  /** Ids of every event a valid request wrote; the store must end with exactly these. */
  const validIds = new Set<string>();

  const raw = (options: {
    method?: 'POST' | 'GET';
    url?: string;
    body?: string | Buffer;
    contentType?: string | null;
    headers?: Record<string, string>;
  }): Promise<LightMyRequestResponse> =>
    t.app.inject({
      method: options.method ?? 'POST',
      url: options.url ?? '/api/v1/events',
      headers: {
        ...t.auth,
        ...(options.contentType === null
          ? {}
          : { 'content-type': options.contentType ?? 'application/json' }),
        ...options.headers,
      },
      ...(options.body !== undefined ? { payload: options.body } : {}),
    });

  const postJson = (value: unknown) => raw({ body: JSON.stringify(value) });

  const writeValid = async (payload: unknown): Promise<Appended[]> => {
    const answers = await append(t, payload);
    for (const a of answers) validIds.add(a.id);
    return answers;
  };

  beforeAll(async () => {
    t = await makeTestApp({ backend });
    await writeValid({
      events: [
        sampleEvent({ description: 'NEAR the DROP TABLE events; a quote " and a star *' }),
        sampleEvent({ description: 'this AND that OR NOT the other', actor: { id: 'logic' } }),
      ],
    });
  });
  afterAll(async () => t.close());

  describe('bodies that are not JSON', () => {
    it('malformed JSON is 400 MALFORMED_JSON', async () => {
      for (const body of [
        '{"action": ',
        '{action: "x"}',
        "{'action':'x'}",
        '{"a":1,}',
        'nul',
        '{"a":1}{"b":2}',
        '\u0000',
      ]) {
        const error = expectError(await raw({ body }), 400, 'MALFORMED_JSON');
        expect(error.message).toMatch(/JSON/);
      }
    });

    it('an empty body with Content-Type: application/json is 400 with a message about the body', async () => {
      const error = expectError(await raw({ body: '' }), 400, 'MALFORMED_JSON');
      expect(error.message).toMatch(/empty|body/i);
    });

    it('JSON that is not an object (null, array, string, number) is 400', async () => {
      for (const body of ['null', '[]', '[{"action":"x","actor":{"id":"a"}}]', '"event"', '42', 'true']) {
        expectError(await raw({ body }), 400);
      }
    });

    for (const contentType of [
      'text/plain',
      'text/plain; charset=utf-8',
      'application/x-www-form-urlencoded',
      'application/xml',
      'multipart/form-data; boundary=x',
    ]) {
      it(`Content-Type: ${contentType} is 415 UNSUPPORTED_MEDIA_TYPE saying what to send`, async () => {
        // The body is a perfectly good event: only the declared type is wrong.
        const error = expectError(
          await raw({ body: JSON.stringify(sampleEvent()), contentType }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        );
        expect(error.message).toContain('application/json');
      });
    }

    it('a body with no Content-Type is rejected', async () => {
      expectClientError(await raw({ body: JSON.stringify(sampleEvent()), contentType: null }));
    });

    it('invalid UTF-8 bytes in the body are rejected, not silently replaced', async () => {
      const prefix = Buffer.from('{"action":"user.login","actor":{"id":"mallory"},"description":"bad ');
      const suffix = Buffer.from('"}');
      const sequences = [
        [0xff, 0xfe],
        [0xc3, 0x28],
        [0xed, 0xa0, 0x80],
        [0xe2, 0x82],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
      ];
      const responses = [];
      for (const bytes of sequences) {
        const res = await raw({ body: Buffer.concat([prefix, Buffer.from(bytes), suffix]) });
        // Whatever was accepted is in the store; the final store check must not blame rejected requests for it.
        if (res.statusCode === 201) for (const a of res.json().events as Appended[]) validIds.add(a.id);
        responses.push(res);
      }
      for (const res of responses) {
        const error = expectClientError(res);
        expect(error.message).toMatch(/UTF-8|JSON|encod/i);
      }
    });

    it('a JSON body declared as another charset is rejected or read as JSON, never a 5xx', async () => {
      const res = await raw({
        body: JSON.stringify(sampleEvent()),
        contentType: 'application/json; charset=utf-16',
      });
      if (res.statusCode === 201) {
        for (const a of res.json().events as Appended[]) validIds.add(a.id);
      } else {
        expectClientError(res);
      }
    });
  });

  describe('wrong types and shapes', () => {
    const cases: [string, unknown, RegExp][] = [
      ['action: 123', sampleEvent({ action: 123 }), /action/],
      ['action: null', sampleEvent({ action: null }), /action/],
      ['action: ""', sampleEvent({ action: '' }), /action/],
      ['actor: "x"', sampleEvent({ actor: 'x' }), /actor/],
      ['actor without id', sampleEvent({ actor: { name: 'n' } }), /actor\/id|id/],
      ['actor.id: 7', sampleEvent({ actor: { id: 7 } }), /actor\/id/],
      ['actor.type not in the enum', sampleEvent({ actor: { id: 'a', type: 'robot' } }), /actor\/type/],
      ['outcome not in the enum', sampleEvent({ outcome: 'maybe' }), /outcome/],
      ['details: array', sampleEvent({ details: [1, 2] }), /details/],
      ['details: string', sampleEvent({ details: 'x' }), /details/],
      ['target: string', sampleEvent({ target: 'invoice' }), /target/],
      ['occurredAt: number', sampleEvent({ occurredAt: 1767225600000 }), /occurredAt/],
      ['tenant with a slash', sampleEvent({ tenant: '../etc' }), /tenant/],
      ['missing action', { actor: { id: 'a' } }, /action/],
      ['events: {}', { events: {} }, /events/],
      ['events: "x"', { events: 'x' }, /events/],
      ['events: []', { events: [] }, /events/],
      ['events: [1]', { events: [1] }, /events\/0/],
      ['events: [null]', { events: [null] }, /events\/0/],
      [
        'a wrong type deep in a batch',
        { events: [sampleEvent(), sampleEvent(), sampleEvent({ action: 5 })] },
        /events\/2\/action/,
      ],
      ['an id with spaces', sampleEvent({ id: 'has spaces in it' }), /id/],
      ['an id with a newline', sampleEvent({ id: 'line\nbreak' }), /id/],
      ['an id of emoji', sampleEvent({ id: '🔥🔥' }), /id/],
      ['an id of 129 characters', sampleEvent({ id: 'a'.repeat(129) }), /id/],
    ];
    for (const [name, body, names] of cases) {
      it(`${name} is 400 VALIDATION_FAILED naming the field`, async () => {
        const error = expectError(await postJson(body), 400, 'VALIDATION_FAILED');
        expect(error.message).toMatch(names);
        expect(Array.isArray(error.issues)).toBe(true);
      });
    }
  });

  describe('sizes', () => {
    it('a 1 MB string in description is 400 naming description', async () => {
      const error = expectError(
        await postJson(sampleEvent({ description: 'x'.repeat(MB) })),
        400,
        'VALIDATION_FAILED',
      );
      expect(error.message).toMatch(/description/);
      expect(error.message).toMatch(/2000/);
    });

    it('a 1 MB string in actor.id is 400 naming actor/id', async () => {
      const error = expectError(
        await postJson(sampleEvent({ actor: { id: 'a'.repeat(MB) } })),
        400,
        'VALIDATION_FAILED',
      );
      expect(error.message).toMatch(/actor\/id/);
    });

    it('a 1 MB string in details is 400 naming details and the 65536-byte limit', async () => {
      const error = expectError(
        await postJson(sampleEvent({ details: { blob: 'z'.repeat(MB) } })),
        400,
        'VALIDATION_FAILED',
      );
      expect(error.message).toMatch(/details/);
      expect(error.message).toMatch(/65[ ,.]?536/);
    });

    it('details just over 65536 bytes is 400; just under is accepted', async () => {
      // {"k":"…"} is 8 bytes of JSON around the string.
      const over = expectError(
        await postJson(sampleEvent({ details: { k: 'y'.repeat(65_536 - 8 + 1) } })),
        400,
      );
      expect(over.message).toMatch(/details/);
      const [ok] = await writeValid(sampleEvent({ details: { k: 'y'.repeat(65_536 - 8) } }));
      const stored = (await get(t, `/api/v1/events/${ok!.id}`)).json() as WireEvent;
      expect((stored.details as { k: string }).k).toHaveLength(65_536 - 8);
    });

    it('the details limit is exact in bytes for 3-byte and 4-byte (astral) characters', async () => {
      // {"k":"…"} is 8 bytes around the string: "€" is 3 bytes of UTF-8 (one UTF-16 unit), "😀" 4 bytes (two units).
      for (const [char, bytes] of [
        ['€', 3],
        ['😀', 4],
      ] as const) {
        const fits = Math.floor((65_536 - 8) / bytes);
        const over = Math.ceil((65_536 - 8 + 1) / bytes);
        expectError(
          await postJson(sampleEvent({ details: { k: char.repeat(over) } })),
          400,
          'VALIDATION_FAILED',
        );
        const [ok] = await writeValid(sampleEvent({ details: { k: char.repeat(fits) } }));
        const stored = (await get(t, `/api/v1/events/${ok!.id}`)).json() as WireEvent;
        expect((stored.details as { k: string }).k).toBe(char.repeat(fits));
      }
    });

    it('multi-byte characters count as bytes toward the details limit', async () => {
      // 30 000 × "é" (2 bytes) is 60 000 bytes; 40 000 × "€" (3 bytes) is 120 000 bytes.
      await writeValid(sampleEvent({ details: { text: 'é'.repeat(30_000) } }));
      expectError(
        await postJson(sampleEvent({ details: { text: '€'.repeat(40_000) } })),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('a body over the configured limit is 413 PAYLOAD_TOO_LARGE stating the limit', async () => {
      const small = await makeTestApp({ backend, maxBodyBytes: 100_000 });
      try {
        const body = JSON.stringify({
          events: Array.from({ length: 200 }, (_, i) =>
            sampleEvent({ description: `${i} ${'p'.repeat(900)}` }),
          ),
        });
        expect(Buffer.byteLength(body)).toBeGreaterThan(180_000);
        const res = await small.app.inject({
          method: 'POST',
          url: '/api/v1/events',
          headers: { ...small.auth, 'content-type': 'application/json' },
          payload: body,
        });
        const error = expectError(res, 413, 'PAYLOAD_TOO_LARGE');
        expect(error.message).toMatch(/100[ ,.\u00a0]?000|97[ .,]?6 ?KiB|100 ?kB/);
        // A body under the limit still works, and the rejected one wrote nothing.
        const ok = await small.app.inject({
          method: 'POST',
          url: '/api/v1/events',
          headers: small.auth,
          payload: sampleEvent(),
        });
        expect(ok.statusCode).toBe(201);
        const all = await small.app.inject({
          method: 'GET',
          url: '/api/v1/events?includeTotal=true',
          headers: small.auth,
        });
        expect(all.json().total).toBe(1);
      } finally {
        await small.close();
      }
    });

    it('a batch of 10 001 events is 400 naming the 10000 maximum; writes nothing', async () => {
      const events = Array.from({ length: 10_001 }, () => ({ action: 'a', actor: { id: 'b' } }));
      const error = expectError(await postJson({ events }), 400, 'VALIDATION_FAILED');
      expect(error.message).toMatch(/events/);
      expect(error.message).toMatch(/10[ ,.]?000/);
    });

    it('details nested 10 000 levels deep is 400 naming the nesting limit', async () => {
      const body = `{"action":"a","actor":{"id":"b"},"details":${nestedJson(10_000)}}`;
      const error = expectError(await raw({ body }), 400, 'VALIDATION_FAILED');
      expect(error.message).toMatch(/details/);
      expect(error.message).toMatch(/nest|deep|depth/i);
    });

    it('changes nested 10 000 levels deep is 400', async () => {
      const body = `{"action":"a","actor":{"id":"b"},"changes":{"before":${nestedJson(10_000)}}}`;
      const error = expectError(await raw({ body }), 400, 'VALIDATION_FAILED');
      expect(error.message).toMatch(/changes/);
    });

    it('arrays nested 1 000 000 levels deep (beyond any parser stack) are a 4xx, not a crash', async () => {
      const depth = 1_000_000;
      const body = `{"action":"a","actor":{"id":"b"},"details":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;
      expectClientError(await raw({ body }));
      // The server is still serving.
      expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    });

    it('details nested exactly to the documented limit (32) is accepted', async () => {
      await writeValid(sampleEvent({ details: nested(31) as Json }));
    });
  });

  describe('prototype pollution', () => {
    it('__proto__ at the top level, in actor and in details is a 4xx, and nothing is polluted', async () => {
      for (const body of [
        '{"action":"a","actor":{"id":"b"},"__proto__":{"polluted":true}}',
        '{"action":"a","actor":{"id":"b","__proto__":{"polluted":true}}}',
        '{"action":"a","actor":{"id":"b"},"details":{"__proto__":{"polluted":true}}}',
        '{"events":[{"action":"a","actor":{"id":"b"},"details":{"x":{"__proto__":{"isAdmin":true}}}}]}',
      ]) {
        const error = expectClientError(await raw({ body }));
        expect(error.code).toMatch(/MALFORMED_JSON|VALIDATION_FAILED/);
      }
      expect(({} as Json).polluted).toBeUndefined();
      expect(({} as Json).isAdmin).toBeUndefined();
    });

    it('constructor.prototype at the top level and in details is a 4xx', async () => {
      for (const body of [
        '{"action":"a","actor":{"id":"b"},"constructor":{"prototype":{"polluted":true}}}',
        '{"action":"a","actor":{"id":"b"},"details":{"constructor":{"prototype":{"polluted":true}}}}',
      ]) {
        expectClientError(await raw({ body }));
      }
      expect(({} as Json).polluted).toBeUndefined();
    });

    it('a top-level "constructor" field is an unknown field (400 naming it)', async () => {
      const error = expectError(
        await postJson({ ...sampleEvent(), constructor: 'x' }),
        400,
        'VALIDATION_FAILED',
      );
      expect(error.message).toMatch(/constructor/);
    });
  });

  describe('dates', () => {
    const badOccurredAt = [
      'yesterday',
      '2026-13-01T00:00:00Z',
      '2026-02-30T10:00:00Z',
      '2026-11-22T25:00:00Z',
      '2026-11-22T10:15:00',
      '2026-11-22',
      '22/11/2026 10:15',
      '2026-11-22T10:15:00Z; DROP TABLE events',
      '',
      '1969-12-31T23:59:59Z',
      '+275760-09-13T00:00:00Z',
    ];
    for (const value of badOccurredAt) {
      it(`occurredAt ${JSON.stringify(value)} is 400 showing the expected format`, async () => {
        const error = expectClientError(await postJson(sampleEvent({ occurredAt: value })));
        expect(error.status).toBe(400);
        expect(error.message).toMatch(/occurredAt/);
        if (!/^1969|^\+2757/.test(value)) expect(error.message).toContain('2026-11-22');
      });
    }

    const badRange = [
      'not-a-date',
      '2026-02-30',
      '2026-11-22T10:15',
      '10/11/2026',
      '2026-11-22 10:15:00',
      '0',
      "2026' OR 1=1 --",
    ];
    for (const param of ['from', 'to']) {
      for (const value of badRange) {
        it(`${param}=${JSON.stringify(value)} is 400 INVALID_DATE showing the expected format`, async () => {
          const error = expectError(
            await get(t, `/api/v1/events${qs({ [param]: value })}`),
            400,
            'INVALID_DATE',
          );
          expect(error.message).toMatch(new RegExp(param));
          expect(error.message).toContain('2026-11-22');
        });
      }
    }

    it('bad dates on stats are 400 INVALID_DATE too', async () => {
      const error = expectError(await get(t, '/api/v1/events/stats?to=soon'), 400, 'INVALID_DATE');
      expect(error.message).toContain('2026-11-22');
    });
  });

  describe('unknown fields and parameters (policy: rejected, 400 naming the field)', () => {
    const cases: [string, unknown, string][] = [
      ['top level', { ...sampleEvent(), colour: 'red' }, 'colour'],
      ['in actor', sampleEvent({ actor: { id: 'a', role: 'root' } }), 'role'],
      ['in target', sampleEvent({ target: { type: 't', owner: 'x' } }), 'owner'],
      ['in context', sampleEvent({ context: { ip: '1.2.3.4', geo: 'x' } }), 'geo'],
      ['in changes', sampleEvent({ changes: { diff: {} } }), 'diff'],
      ['the seq field (server-assigned)', { ...sampleEvent(), seq: 0 }, 'seq'],
      ['the hash field (server-assigned)', { ...sampleEvent(), hash: '00'.repeat(32) }, 'hash'],
      [
        'the receivedAt field (server-assigned)',
        { ...sampleEvent(), receivedAt: '2026-01-01T00:00:00Z' },
        'receivedAt',
      ],
      ['in a batch element', { events: [sampleEvent(), { ...sampleEvent(), extra: 1 }] }, 'extra'],
      ['next to events', { events: [sampleEvent()], dryRun: true }, 'dryRun'],
    ];
    for (const [name, body, field] of cases) {
      it(`an unknown field ${name} is 400 naming "${field}"`, async () => {
        const error = expectError(await postJson(body), 400, 'VALIDATION_FAILED');
        expect(error.message).toContain(field);
        expect(JSON.stringify(error.issues)).toContain(field);
      });
    }

    for (const url of [
      '/api/v1/events?colour=red',
      '/api/v1/events?actor=alice&sort=asc',
      '/api/v1/events/stats?granularity=hour',
      '/api/v1/events/some-id?verbose=1',
    ]) {
      it(`an unknown query parameter is 400 naming it: ${url}`, async () => {
        const name = /[?&](colour|sort|granularity|verbose)=/.exec(url)![1]!;
        const error = expectError(await get(t, url), 400, 'VALIDATION_FAILED');
        expect(error.message).toContain(name);
      });
    }

    for (const query of [
      'limit=abc',
      'limit=1.5',
      'order=sideways',
      'includeTotal=maybe',
      'outcome=meh',
      'action=*',
      'action=,,,',
      'action=a**',
      'tenant=..%2Fetc',
      'actor=a&actor=b',
      `actor=${'a'.repeat(257)}`,
    ]) {
      it(`a bad query value is 400: ${query.slice(0, 40)}`, async () => {
        expectError(await get(t, `/api/v1/events?${query}`), 400);
      });
    }
  });

  describe('full-text query metacharacters', () => {
    const onlyPunctuation = [
      '"',
      '""',
      '*',
      '^',
      ':',
      ')(',
      '"*"',
      '***',
      '-',
      '+',
      '()',
      '{}',
      '%',
      ';--',
      '\u0000',
    ];
    for (const q of onlyPunctuation) {
      it(`q=${JSON.stringify(q)} (no words) is 400 INVALID_QUERY`, async () => {
        const error = expectError(await get(t, `/api/v1/events${qs({ q })}`), 400, 'INVALID_QUERY');
        expect(error.message).toMatch(/q\b/);
      });
    }

    const withWords: [string, boolean][] = [
      ['NEAR(', true],
      ['NEAR(the table', true],
      ["'; DROP TABLE events; --", true],
      ['AND OR NOT', true],
      ['"unterminated phrase', false],
      ['star*"quote', false],
      ['col:value', false],
      ['text:drop', false],
      ['-drop', true],
      ['^drop', true],
      ['drop)(', true],
      ['{drop table}', true],
      ['a"b"c', false],
      ['drop*', true],
      ['"drop table"*', true],
      ["O'Brien", false],
      ['\\', false],
      ['x OR 1=1', false],
      ['%27%20OR%201%3D1', false],
    ];
    for (const [q, matchesSeed] of withWords) {
      it(`q=${JSON.stringify(q)} is treated as literal words (200${matchesSeed ? ', finds the seeded event' : ''})`, async () => {
        const res = await get(t, `/api/v1/events${qs({ q })}`);
        if (res.statusCode !== 200) {
          // A query the engine cannot run is the caller's 400, never a 500.
          expectError(res, 400, 'INVALID_QUERY');
          return;
        }
        const body = res.json() as { data: WireEvent[] };
        if (matchesSeed) {
          expect(body.data.length).toBeGreaterThan(0);
          for (const e of body.data)
            expect(`${e.description} ${e.action} ${e.actor.id}`).toMatch(/NEAR|DROP|AND|drop/i);
        }
      });
    }

    it('q over the documented maximum length or term count is 400 INVALID_QUERY or VALIDATION_FAILED', async () => {
      expectClientError(await get(t, `/api/v1/events${qs({ q: 'a'.repeat(257) })}`));
      const tooMany = Array.from({ length: 17 }, (_, i) => `w${i}`).join(' ');
      expectError(await get(t, `/api/v1/events${qs({ q: tooMany })}`), 400, 'INVALID_QUERY');
    });

    it('invalid percent-encoding in the query string is a 4xx or read literally, never a 5xx', async () => {
      for (const url of [
        '/api/v1/events?q=%E0%A4%A',
        '/api/v1/events?q=%',
        '/api/v1/events?q=%FF%FE',
        '/api/v1/events?%=x',
      ]) {
        const res = await get(t, url);
        if (res.statusCode !== 200) expectClientError(res);
      }
    });

    it('invalid percent-encoding in the path is a 400 in the catalog shape', async () => {
      for (const url of ['/api/v1/events/%', '/api/v1/events/%FF', '/api/v1/events/%E0%A4%A']) {
        expectError(await get(t, url), 400);
      }
    });
  });

  describe('emoji', () => {
    it('events with emoji are stored and returned intact', async () => {
      const input = {
        action: 'deploy.🚀',
        actor: { id: 'dev-👩‍💻', name: 'Zoë 👩🏽‍🚀' },
        target: { type: 'service', id: 'svc-🦄', name: '🏳️‍🌈 team' },
        description: 'Shipped 🚀 to prod 🎉 — naïve café',
        details: { '🔑': '🎉', flags: ['🇫🇷', '👍🏿'], astral: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', zwj: '👨‍👩‍👧‍👦' },
      };
      const [written] = await writeValid(input);
      const res = await get(t, `/api/v1/events/${written!.id}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject(input);
      // Searchable by the words around the emoji.
      const found = await list(t, { q: 'shipped naive' });
      expect(found.data.map((e) => e.id)).toContain(written!.id);
      // And the emoji-bearing actor id filters exactly.
      expect((await list(t, { actor: 'dev-👩‍💻' })).data.map((e) => e.id)).toEqual([written!.id]);
    });

    it('an emoji-only q is 400 INVALID_QUERY', async () => {
      for (const q of ['🚀', '🚀🎉', '"👩‍💻"', '🔑*']) {
        expectError(await get(t, `/api/v1/events${qs({ q })}`), 400, 'INVALID_QUERY');
      }
    });

    it('a lone surrogate in a string is rejected or stored as sent, never a 5xx', async () => {
      // JSON allows the escape; the stored event must not silently differ from what was hashed.
      const res = await raw({ body: '{"action":"a","actor":{"id":"b"},"description":"half \\ud83d here"}' });
      if (res.statusCode === 201) {
        const [a] = res.json().events as Appended[];
        validIds.add(a!.id);
        const stored = (await get(t, `/api/v1/events/${a!.id}`)).json() as WireEvent;
        expect(stored.description).toBe('half \ud83d here');
      } else {
        expectClientError(res);
      }
    });
  });

  describe('the store is unchanged by rejected requests', () => {
    it('holds exactly the events of the valid requests, and the service still works', async () => {
      const stored = await walk(t, { limit: 1000 });
      expect(new Set(stored.map((e) => e.id))).toEqual(validIds);
      expect(stored).toHaveLength(validIds.size);
      const total = (await list(t, { includeTotal: true, limit: 1 })).total;
      expect(total).toBe(validIds.size);
      const stats = (await get(t, '/api/v1/events/stats')).json() as { total: number };
      expect(stats.total).toBe(validIds.size);
      // seqs are still gap-free: no rejected request consumed one.
      expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual(
        Array.from({ length: stored.length }, (_, i) => i),
      );
      const [next] = await writeValid(sampleEvent({ description: 'after the storm' }));
      expect(next!.seq).toBe(stored.length);
    });

    it('no hostile request caused a server error (nothing logged at error level)', async () => {
      const errors = t.logLines
        .map((l) => JSON.parse(l) as { level: number; msg?: string; err?: { message?: string } })
        .filter((l) => l.level >= 50)
        .map((l) => `${l.msg}: ${l.err?.message}`);
      expect(errors).toEqual([]);
    });
  });
});
