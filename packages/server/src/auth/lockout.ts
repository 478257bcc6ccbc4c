// Login throttling. Failed logins are counted per key within a window that starts at the key's first failure:
// the account (username), and the client address. An account key is slowed after a few failures (the next
// attempt must wait, doubling from 1 s) and both kinds are locked out for the window once they reach their
// maximum. Throttled attempts are refused without being counted or checked. Time comes from the caller.
// The counters live in the store (table login_failures), so every process sharing a PostgreSQL database enforces
// one count and a restart forgets nothing; each attempt reads and writes its keys in one transaction with those
// keys locked. The rules below are pure: the store only keeps what they decide.
import type { LoginFailureRecord, Store } from '../store/store.ts';

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

/** An attempt's verdict, and the keys it locked out. */
export type AttemptVerdict = ThrottleVerdict & { lockedNow: string[] };

const MAX_DELAY_MS = 30_000;
/** Expired counters are deleted at most this often (by whichever process sees an attempt first). */
const PRUNE_EVERY_MS = 60_000;

/** The wait before the next attempt after `failures` failures, when slowing starts after `slowAfter`. */
export function delayAfter(failures: number, slowAfter: number | undefined): number {
  if (slowAfter === undefined || failures <= slowAfter) return 0;
  return Math.min(1000 * 2 ** (failures - slowAfter - 1), MAX_DELAY_MS);
}

type Records = Map<string, LoginFailureRecord>;

export class LoginThrottle {
  private nextPruneMs = 0;

  constructor(
    private readonly store: Pick<Store, 'updateLoginFailures' | 'pruneLoginFailures'>,
    /** The counting window, and how long a lockout lasts. */
    private readonly windowMs: number,
  ) {}

  /** A key's record while it still counts (a lockout not yet over, or a window not yet ended). */
  private current(records: Records, key: string, nowMs: number): LoginFailureRecord | undefined {
    const record = records.get(key);
    return record && record.expiresMs > nowMs ? record : undefined;
  }

  private verdict(records: Records, keys: ThrottleKey[], nowMs: number): ThrottleVerdict {
    let verdict: ThrottleVerdict = { allowed: true };
    for (const { key, slowAfter } of keys) {
      const record = this.current(records, key, nowMs);
      if (!record) continue;
      const locked = record.lockedUntilMs > nowMs;
      const until = locked
        ? record.lockedUntilMs
        : record.lastFailureMs + delayAfter(record.failures, slowAfter);
      if (until > nowMs && (verdict.allowed || until - nowMs > verdict.retryAfterMs)) {
        verdict = { allowed: false, reason: locked ? 'locked' : 'slowed', retryAfterMs: until - nowMs };
      }
    }
    return verdict;
  }

  /** Whether an attempt may be checked now; if not, how long to wait. Counts nothing. */
  async check(keys: ThrottleKey[], nowMs: number): Promise<ThrottleVerdict> {
    return this.store.updateLoginFailures(
      keys.map((k) => k.key),
      (records) => ({ result: this.verdict(records, keys, nowMs), write: new Map() }),
    );
  }

  /**
   * Starts an attempt: refused (and not counted) while throttled; otherwise counted as a failure right away, so
   * that many attempts sent at once — to one process or to several — cannot all slip through before the first one
   * fails. `succeed` takes it back. `lockedNow` lists the keys this attempt locked out (they stay locked unless the
   * attempt succeeds).
   */
  async attempt(keys: ThrottleKey[], nowMs: number): Promise<AttemptVerdict> {
    await this.prune(nowMs);
    return this.store.updateLoginFailures<AttemptVerdict>(
      keys.map((k) => k.key),
      (records) => {
        const write = new Map<string, LoginFailureRecord>();
        const verdict = this.verdict(records, keys, nowMs);
        if (!verdict.allowed) return { result: { ...verdict, lockedNow: [] }, write };
        const lockedNow: string[] = [];
        for (const { key, maxFailures } of keys) {
          const previous = this.current(records, key, nowMs);
          const record: LoginFailureRecord = previous
            ? { ...previous }
            : {
                key,
                failures: 0,
                windowStartMs: nowMs,
                lastFailureMs: nowMs,
                lockedUntilMs: 0,
                expiresMs: 0,
              };
          record.failures += 1;
          record.lastFailureMs = nowMs;
          if (record.failures >= maxFailures && record.lockedUntilMs === 0) {
            record.lockedUntilMs = nowMs + this.windowMs;
            lockedNow.push(key);
          }
          record.expiresMs =
            record.lockedUntilMs > 0 ? record.lockedUntilMs : record.windowStartMs + this.windowMs;
          write.set(key, record);
        }
        return { result: { allowed: true, lockedNow }, write };
      },
    );
  }

  /**
   * The attempt was not a wrong guess: the first key (the account) forgets its failures; the others (the client
   * address) only take this attempt back, and unlock if it was the one that locked them.
   */
  async succeed(keys: ThrottleKey[], nowMs: number): Promise<void> {
    const [account, ...others] = keys;
    await this.store.updateLoginFailures(
      keys.map((k) => k.key),
      (records) => {
        const write = new Map<string, LoginFailureRecord | null>();
        if (account) write.set(account.key, null);
        for (const { key, maxFailures } of others) {
          const previous = this.current(records, key, nowMs);
          if (!previous) continue;
          const record = { ...previous, failures: Math.max(0, previous.failures - 1) };
          if (record.failures < maxFailures && record.lockedUntilMs > 0) {
            record.lockedUntilMs = 0;
            record.expiresMs = record.windowStartMs + this.windowMs;
          }
          write.set(key, record);
        }
        return { result: undefined, write };
      },
    );
  }

  /** Deletes counters whose window or lockout is over, so a flood of usernames cannot grow the table for ever. */
  private async prune(nowMs: number): Promise<void> {
    if (nowMs < this.nextPruneMs) return;
    this.nextPruneMs = nowMs + PRUNE_EVERY_MS;
    await this.store.pruneLoginFailures(nowMs);
  }
}
