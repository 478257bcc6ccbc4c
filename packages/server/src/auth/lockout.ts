// Login throttling. Failed logins are counted per key within a window that starts at the key's first failure:
// the account (username), and the client address. An account key is slowed after a few failures (the next
// attempt must wait, doubling from 1 s) and both kinds are locked out for the window once they reach their
// maximum. Throttled attempts are refused without being counted or checked. Pure: time comes from the caller.
// State is per process and in memory (a restart forgets it), bounded in size.

export interface ThrottleKey {
  key: string;
  /** Failures within the window that lock this key out. */
  maxFailures: number;
  /** Failures after which every further attempt must wait (1 s, 2 s, 4 s … up to 30 s); unset = never slowed. */
  slowAfter?: number;
}

export type ThrottleVerdict =
  | { allowed: true }
  | { allowed: false; reason: 'locked' | 'slowed'; retryAfterMs: number };

interface KeyState {
  failures: number;
  windowStartMs: number;
  lastFailureMs: number;
  lockedUntilMs: number;
}

const MAX_DELAY_MS = 30_000;

/** The wait before the next attempt after `failures` failures, when slowing starts after `slowAfter`. */
export function delayAfter(failures: number, slowAfter: number | undefined): number {
  if (slowAfter === undefined || failures <= slowAfter) return 0;
  return Math.min(1000 * 2 ** (failures - slowAfter - 1), MAX_DELAY_MS);
}

export class LoginThrottle {
  private readonly state = new Map<string, KeyState>();

  constructor(
    /** The counting window, and how long a lockout lasts. */
    private readonly windowMs: number,
    /** Upper bound of remembered keys, so a flood of usernames cannot grow memory without limit. */
    private readonly maxEntries = 100_000,
  ) {}

  private current(key: string, nowMs: number): KeyState | undefined {
    const state = this.state.get(key);
    if (!state) return undefined;
    const over =
      state.lockedUntilMs > 0 ? state.lockedUntilMs <= nowMs : nowMs - state.windowStartMs >= this.windowMs;
    if (over) {
      this.state.delete(key);
      return undefined;
    }
    return state;
  }

  /** Whether an attempt may be checked now; if not, how long to wait. Counts nothing. */
  check(keys: ThrottleKey[], nowMs: number): ThrottleVerdict {
    let verdict: ThrottleVerdict = { allowed: true };
    for (const { key, slowAfter } of keys) {
      const state = this.current(key, nowMs);
      if (!state) continue;
      const locked = state.lockedUntilMs > nowMs;
      const until = locked
        ? state.lockedUntilMs
        : state.lastFailureMs + delayAfter(state.failures, slowAfter);
      if (until > nowMs && (verdict.allowed || until - nowMs > verdict.retryAfterMs)) {
        verdict = { allowed: false, reason: locked ? 'locked' : 'slowed', retryAfterMs: until - nowMs };
      }
    }
    return verdict;
  }

  /**
   * Starts an attempt: refused (and not counted) while throttled; otherwise counted as a failure right away, so
   * that many attempts sent at once cannot all slip through before the first one fails. `succeed` takes it back.
   * `lockedNow` lists the keys this attempt locked out (they stay locked unless the attempt succeeds).
   */
  attempt(keys: ThrottleKey[], nowMs: number): ThrottleVerdict & { lockedNow: string[] } {
    const verdict = this.check(keys, nowMs);
    if (!verdict.allowed) return { ...verdict, lockedNow: [] };
    const lockedNow: string[] = [];
    for (const { key, maxFailures } of keys) {
      const state = this.current(key, nowMs) ?? {
        failures: 0,
        windowStartMs: nowMs,
        lastFailureMs: nowMs,
        lockedUntilMs: 0,
      };
      state.failures += 1;
      state.lastFailureMs = nowMs;
      if (state.failures >= maxFailures && state.lockedUntilMs === 0) {
        state.lockedUntilMs = nowMs + this.windowMs;
        lockedNow.push(key);
      }
      this.state.delete(key); // re-insert: Map order is then least recently failed first
      this.state.set(key, state);
      if (this.state.size > this.maxEntries) {
        const oldest = this.state.keys().next().value;
        if (oldest !== undefined) this.state.delete(oldest);
      }
    }
    return { allowed: true, lockedNow };
  }

  /**
   * The attempt was not a wrong guess: the first key (the account) forgets its failures; the others (the client
   * address) only take this attempt back, and unlock if it was the one that locked them.
   */
  succeed(keys: ThrottleKey[]): void {
    const [account, ...others] = keys;
    if (account) this.state.delete(account.key);
    for (const { key, maxFailures } of others) {
      const state = this.state.get(key);
      if (!state) continue;
      state.failures = Math.max(0, state.failures - 1);
      if (state.failures < maxFailures) state.lockedUntilMs = 0;
    }
  }
}
