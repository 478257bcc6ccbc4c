// The login throttle's rules (auth/lockout.ts) over a real store on each backend: its schedule (slowed, locked for
// the window, forgotten after it), succeed's take-back, several keys, concurrent attempts counted once each, and
// expired counters pruned. The counters live in the store (login_failures), so a second throttle on the same store
// — another process — sees the same counts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { delayAfter, LoginThrottle, type ThrottleKey } from '../src/auth/lockout.ts';
import { BACKENDS, makeStore, type TestStore } from './support-backends.ts';

const user: ThrottleKey = { key: 'user:alice', maxFailures: 5, slowAfter: 2 };

it('delays double from 1 s after the free failures, capped at 30 s', () => {
  expect([1, 2, 3, 4, 5, 6, 10].map((f) => delayAfter(f, 2))).toEqual([0, 0, 1000, 2000, 4000, 8000, 30_000]);
  expect(delayAfter(40, undefined)).toBe(0);
});

describe.each(BACKENDS)('LoginThrottle on %s', (backend) => {
  let t: TestStore;
  let n = 0;
  /** A fresh key per test: the tests share one store. */
  const fresh = (key: ThrottleKey): ThrottleKey => ({ ...key, key: `${key.key}-${n++}` });

  beforeAll(async () => {
    t = await makeStore(backend);
  });
  afterAll(async () => t?.cleanup());

  it('slows, locks at the maximum for the window, and forgets after it', async () => {
    const throttle = new LoginThrottle(t.store, 600_000);
    const alice = fresh(user);
    let now = 1_000_000;
    expect((await throttle.attempt([alice], now)).allowed).toBe(true); // 1
    expect((await throttle.attempt([alice], now)).allowed).toBe(true); // 2
    expect((await throttle.attempt([alice], now)).allowed).toBe(true); // 3: next must wait 1 s
    expect(await throttle.attempt([alice], now)).toEqual({
      allowed: false,
      reason: 'slowed',
      retryAfterMs: 1000,
      lockedNow: [],
    });
    now += 1000;
    expect((await throttle.attempt([alice], now)).allowed).toBe(true); // 4: next waits 2 s
    expect(await throttle.check([alice], now + 1999)).toMatchObject({
      allowed: false,
      reason: 'slowed',
      retryAfterMs: 1,
    });
    now += 2000;
    expect(await throttle.attempt([alice], now)).toEqual({ allowed: true, lockedNow: [alice.key] }); // 5: locked
    expect(await throttle.check([alice], now + 599_999)).toMatchObject({
      allowed: false,
      reason: 'locked',
      retryAfterMs: 1,
    });
    expect(await throttle.check([alice], now + 600_000)).toEqual({ allowed: true });
    // After the lockout the count starts again from zero.
    expect(await throttle.attempt([alice], now + 600_000)).toEqual({ allowed: true, lockedNow: [] });
  });

  it('failures older than the window are forgotten', async () => {
    const throttle = new LoginThrottle(t.store, 60_000);
    const alice = fresh(user);
    for (let i = 0; i < 2; i++) await throttle.attempt([alice], 0);
    await throttle.attempt([alice], 1000);
    expect((await throttle.check([alice], 1500)).allowed).toBe(false);
    expect(await throttle.check([alice], 60_000)).toEqual({ allowed: true });
  });

  it('succeed clears the account and takes back only this attempt from the address', async () => {
    const throttle = new LoginThrottle(t.store, 600_000);
    const alice = fresh(user);
    const addr = fresh({ key: 'ip:x', maxFailures: 3 });
    await throttle.attempt([alice, addr], 0);
    await throttle.attempt([alice, addr], 0);
    expect((await throttle.attempt([alice, addr], 0)).lockedNow).toEqual([addr.key]);
    await throttle.succeed([alice, addr], 0); // the third attempt was right after all
    expect(await throttle.check([alice, addr], 0)).toEqual({ allowed: true });
    expect((await throttle.attempt([fresh({ key: 'user:bob', maxFailures: 5 }), addr], 0)).lockedNow).toEqual(
      [addr.key],
    );
  });

  it('the longest wait among the keys wins; unrelated keys are untouched', async () => {
    const throttle = new LoginThrottle(t.store, 600_000);
    const ip = fresh({ key: 'ip:10.0.0.1', maxFailures: 50 });
    for (let i = 0; i < 50; i++) await throttle.attempt([fresh({ key: 'user:u', maxFailures: 5 }), ip], 0);
    expect(await throttle.check([fresh({ key: 'user:new', maxFailures: 5 }), ip], 10)).toMatchObject({
      reason: 'locked',
    });
    expect(
      await throttle.check(
        [fresh({ key: 'user:new', maxFailures: 5 }), fresh({ key: 'ip:other', maxFailures: 50 })],
        10,
      ),
    ).toEqual({ allowed: true });
  });

  it('attempts sent at once through two throttles on one store (two processes) are each counted once', async () => {
    const a = new LoginThrottle(t.store, 600_000);
    const b = new LoginThrottle(t.store, 600_000);
    const target = fresh({ key: 'user:carol', maxFailures: 10 });
    const verdicts = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).attempt([target], 5_000)),
    );
    // Exactly maxFailures get through, the 10th locks, the rest are refused uncounted, whichever throttle they hit.
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
    expect(verdicts.flatMap((v) => v.lockedNow)).toEqual([target.key]);
    expect(await b.check([target], 5_001)).toMatchObject({ allowed: false, reason: 'locked' });
  });

  it('expired counters are pruned from the store; live ones stay', async () => {
    const throttle = new LoginThrottle(t.store, 60_000);
    const old = Array.from({ length: 20 }, () => fresh({ key: 'user:flood', maxFailures: 5 }));
    for (const key of old) await throttle.attempt([key], 10_000_000);
    const live = fresh(user);
    await throttle.attempt([live], 10_050_000);
    // 60 s later the flood's windows are over; the live key's is not.
    expect(await t.store.pruneLoginFailures(10_070_000)).toBeGreaterThanOrEqual(old.length);
    expect(await t.store.pruneLoginFailures(10_070_000)).toBe(0);
    await t.store.updateLoginFailures([live.key, old[0]!.key], (records) => {
      expect([...records.keys()]).toEqual([live.key]);
      return { result: null, write: new Map() };
    });
  });
});
