// A large append must not hold the event loop while it is prepared (issue 11): a 1,000-event request is prepared in
// slices with turns of the loop between them, so a group commit's database answer or another request is not kept
// waiting for the whole request. Counted in loop turns, not milliseconds, so the test does not depend on the machine.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../src/auth/principal.ts';
import type { LogInputItem } from '../src/services/logs.ts';
import { ITEMS_PER_SLICE, mapInSlices } from '../src/services/slices.ts';
import { makeTestApp, type TestApp } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';
import { loopTurns } from './support-loop.ts';

const ADMIN: Principal = { kind: 'api_key', id: 'k', name: 'test', scopes: ['admin'], tenant: null };

describe('mapInSlices', () => {
  it('maps like Array.prototype.map, in order, whatever the slice size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer()), fc.integer({ min: 1, max: 7 }), async (items, perSlice) => {
        const seen: number[] = [];
        const mapped = await mapInSlices(
          items,
          (item, index) => {
            seen.push(index);
            return item * 2 + index;
          },
          perSlice,
        );
        expect(mapped).toEqual(items.map((item, index) => item * 2 + index));
        expect(seen).toEqual(items.map((_, index) => index));
      }),
    );
  });

  it('gives the loop a turn between slices, and none to a request that fits in one', async () => {
    const turnsAt: number[] = [];
    const turns = loopTurns();
    await mapInSlices(Array.from({ length: ITEMS_PER_SLICE * 5 }), () => turnsAt.push(turns.count));
    turns.stop();
    // Each slice runs within one turn, and each slice boundary is at least one turn.
    for (let slice = 0; slice < 5; slice++) {
      const within = turnsAt.slice(slice * ITEMS_PER_SLICE, (slice + 1) * ITEMS_PER_SLICE);
      expect(new Set(within).size).toBe(1);
      if (slice > 0) expect(within[0]).toBeGreaterThan(turnsAt[slice * ITEMS_PER_SLICE - 1]!);
    }
    const small: number[] = [];
    const again = loopTurns();
    await mapInSlices(Array.from({ length: ITEMS_PER_SLICE }), () => small.push(again.count));
    again.stop();
    expect(new Set(small).size).toBe(1);
  });
});

describe.each(BACKENDS)('a large append on %s', (backend) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp({ backend });
  });
  afterAll(async () => t?.close());

  /** Loop turns between the call and the group commit reaching the store, and what the append answered. */
  async function turnsBeforeCommit<T>(append: () => Promise<T>, write: 'appendEvents' | 'appendLogs') {
    const original = t.store[write].bind(t.store) as (requests: never) => Promise<unknown>;
    const turns = loopTurns();
    let turnsAtCommit = -1;
    (t.store as unknown as Record<string, unknown>)[write] = (requests: never) => {
      turnsAtCommit = turns.count;
      return original(requests);
    };
    try {
      const result = await append();
      return { turnsAtCommit, result };
    } finally {
      turns.stop();
      (t.store as unknown as Record<string, unknown>)[write] = original;
    }
  }

  it('prepares 1,000 audit events over at least 10 turns of the loop, and stores them all', async () => {
    const inputs = Array.from({ length: 1_000 }, (_, i) => ({
      action: 'invoice.pay',
      actor: { id: `user-${i % 13}` },
      target: { type: 'invoice', id: `inv-${i}` },
      description: `sliced append ${i}`,
    }));
    const { turnsAtCommit, result } = await turnsBeforeCommit(
      () => t.services.events.append(ADMIN, inputs, true),
      'appendEvents',
    );
    // 9 slice boundaries, then the queue's own turn to gather the group; unsliced preparation gives 0 or 1.
    expect(turnsAtCommit).toBeGreaterThanOrEqual(10);
    expect(result.map((r) => r.seq)).toEqual(result.map((_, i) => result[0]!.seq + i));
    const listed = await t.app.inject({
      method: 'GET',
      url: '/api/v1/events?action=invoice.pay&limit=1&includeTotal=true',
      headers: t.auth,
    });
    expect(listed.json().total).toBe(1_000);
  });

  it('prepares 1,000 system-log entries over at least 10 turns of the loop', async () => {
    const items: LogInputItem[] = Array.from({ length: 1_000 }, (_, i) => ({
      input: { level: 'INFO', service: 'api', message: `sliced log ${i}` },
      field: `body/logs/${i}`,
    }));
    const { turnsAtCommit, result } = await turnsBeforeCommit(
      () => t.services.logs.append(ADMIN, items),
      'appendLogs',
    );
    expect(turnsAtCommit).toBeGreaterThanOrEqual(10);
    expect(result.count).toBe(1_000);
  });
});
