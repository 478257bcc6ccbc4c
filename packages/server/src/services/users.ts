// Local users: create, list, disable/enable (admin), and login (anyone) → a short-lived token signed by Logbook.
// Failed logins are throttled and then locked out for a while; every login attempt that is checked, every
// lockout and every change is a self-audit event. Passwords and hashes never leave this module.
import {
  DEFAULT_MEMBER_SCOPES,
  LogbookError,
  type LoginResponse,
  type User,
  type UserCreate,
  type UserRole,
} from '@logbook/protocol';
import { v7 as uuidv7 } from 'uuid';
import { userPrincipal } from '../auth/authenticator.ts';
import { LoginThrottle, type ThrottleKey } from '../auth/lockout.ts';
import type { LoginTokens } from '../auth/login-tokens.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../auth/passwords.ts';
import { bindingFor, mayManage, type Principal, tenantFor, userScopes } from '../auth/principal.ts';
import { toIso } from '../domain/time.ts';
import type { Store, UserRecord } from '../store/store.ts';
import { type RequestContext, SELF_AUDIT_ACTIONS, type SelfAudit } from './self-audit.ts';

export interface LoginPolicy {
  /** Failed logins of one username that lock it out (LOGBOOK_LOGIN_MAX_FAILURES). */
  maxFailures: number;
  /** How long a lockout lasts, and how long failures are remembered (LOGBOOK_LOGIN_LOCKOUT_SECONDS). */
  lockoutSeconds: number;
}

/**
 * Failures from one client address (any usernames) within the window that lock the address out, as a multiple
 * of maxFailures: high, because many people may share one address (a proxy), but a bound on password spraying.
 */
export const ADDRESS_FAILURE_FACTOR = 10;

export const usernameKey = (username: string) => username.toLowerCase();

export function userView(user: UserRecord): User {
  return {
    id: user.id,
    username: user.username,
    role: user.role as UserRole,
    scopes: userScopes(user.role, user.scopes),
    tenant: user.tenant,
    createdAt: toIso(user.createdMs),
    disabledAt: user.disabledMs === null ? null : toIso(user.disabledMs),
    lastLoginAt: user.lastLoginMs === null ? null : toIso(user.lastLoginMs),
  };
}

const tooMany = (retryAfterMs: number, locked: boolean) => {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new LogbookError(
    'TOO_MANY_REQUESTS',
    locked
      ? `Too many failed logins: locked out for ${seconds} more seconds.`
      : `Too many failed logins: wait ${seconds} seconds before trying again.`,
    { headers: { 'retry-after': String(seconds) } },
  );
};

export class UserService {
  private readonly throttle: LoginThrottle;

  constructor(
    private readonly store: Store,
    private readonly audit: SelfAudit,
    private readonly tokens: LoginTokens,
    private readonly policy: LoginPolicy,
    private readonly clock: () => number = Date.now,
  ) {
    this.throttle = new LoginThrottle(store, policy.lockoutSeconds * 1000);
  }

  async create(principal: Principal, input: UserCreate, context: RequestContext = {}): Promise<User> {
    const role: UserRole = input.role ?? 'member';
    if (input.scopes?.includes('admin')) {
      throw new LogbookError(
        'VALIDATION_FAILED',
        'body/scopes may not contain "admin": give the user role "admin".',
        {
          issues: [
            { field: 'body/scopes', rule: 'enum', message: 'use "role": "admin" instead of the admin scope' },
          ],
        },
      );
    }
    const nowMs = this.clock();
    const user: UserRecord = {
      id: uuidv7({ msecs: nowMs }),
      username: input.username,
      usernameKey: usernameKey(input.username),
      passwordHash: await hashPassword(input.password),
      role,
      scopes: role === 'admin' ? ['admin'] : [...(input.scopes ?? DEFAULT_MEMBER_SCOPES)],
      tenant: bindingFor(principal, input.tenant),
      createdMs: nowMs,
      updatedMs: nowMs,
      disabledMs: null,
      sessionsNotBeforeMs: null,
      lastLoginMs: null,
    };
    if (!(await this.store.insertUser(user))) {
      throw new LogbookError(
        'ALREADY_EXISTS',
        `A user named "${input.username}" already exists (names ignore case).`,
        {
          issues: [{ field: 'body/username', rule: 'unique', message: 'is taken' }],
        },
      );
    }
    await this.audit.record({
      actor: principal,
      action: SELF_AUDIT_ACTIONS.userCreate,
      target: { type: 'user', id: user.id, name: user.username },
      description: `${principal.name} created user "${user.username}" (${role})`,
      details: { role, scopes: userScopes(role, user.scopes), tenant: user.tenant },
      context,
    });
    return userView(user);
  }

  async list(principal: Principal, tenant?: string): Promise<User[]> {
    const filter =
      principal.tenant !== null
        ? { tenant: tenantFor(principal, tenant, principal.tenant) }
        : tenant
          ? { tenant }
          : {};
    return (await this.store.listUsers(filter)).map(userView);
  }

  /** Disables (its tokens stop working at once) or enables a user; idempotent. */
  async setDisabled(
    principal: Principal,
    id: string,
    disabled: boolean,
    context: RequestContext = {},
  ): Promise<User> {
    const existing = await this.store.findUserById(id);
    if (!existing || !mayManage(principal, existing.tenant)) {
      throw new LogbookError('NOT_FOUND', `No user with id "${id}".`);
    }
    if ((existing.disabledMs !== null) === disabled) return userView(existing);
    const nowMs = this.clock();
    const updated = await this.store.setUserDisabled(id, disabled ? nowMs : null, nowMs);
    if (!updated) throw new LogbookError('NOT_FOUND', `No user with id "${id}".`);
    await this.audit.record({
      actor: principal,
      action: disabled ? SELF_AUDIT_ACTIONS.userDisable : SELF_AUDIT_ACTIONS.userEnable,
      target: { type: 'user', id: updated.id, name: updated.username },
      description: `${principal.name} ${disabled ? 'disabled' : 'enabled'} user "${updated.username}"`,
      context,
    });
    return userView(updated);
  }

  /**
   * Checks a username and password and issues a login token. Unknown users cost the same work as known ones;
   * throttled attempts are refused (429) before any password is checked, and are not audited one by one (the
   * lockout itself is), so a flood of refused attempts cannot flood the audit log.
   */
  async login(username: string, password: string, context: RequestContext = {}): Promise<LoginResponse> {
    const nowMs = this.clock();
    const key = usernameKey(username);
    const { maxFailures } = this.policy;
    const keys: ThrottleKey[] = [
      { key: `user:${key}`, maxFailures, slowAfter: Math.max(2, Math.floor(maxFailures / 2)) },
    ];
    if (context.ip) {
      keys.push({ key: `ip:${context.ip}`, maxFailures: maxFailures * ADDRESS_FAILURE_FACTOR });
    }
    const attempt = await this.throttle.attempt(keys, nowMs);
    if (!attempt.allowed) throw tooMany(attempt.retryAfterMs, attempt.reason === 'locked');

    const user = await this.store.findUserByUsernameKey(key);
    const matches = user
      ? await verifyPassword(password, user.passwordHash)
      : await verifyAgainstDummy(password);
    const actor = {
      kind: 'user' as const,
      id: user?.id ?? username,
      name: user?.username ?? username,
      tenant: user?.tenant ?? null,
    };
    const target = { type: 'user', id: actor.id, name: actor.name };

    if (!user || !matches) {
      const { lockedNow } = attempt;
      await this.audit.record({
        actor,
        action: SELF_AUDIT_ACTIONS.login,
        outcome: 'failure',
        target,
        description: `Failed login as "${username}"`,
        details: { reason: user ? 'wrong_password' : 'unknown_user' },
        context,
      });
      if (lockedNow.length > 0) {
        await this.audit.record({
          actor,
          action: SELF_AUDIT_ACTIONS.lockout,
          outcome: 'failure',
          target,
          description: `Logins locked out for ${this.policy.lockoutSeconds} s after repeated failures (${lockedNow.join(', ')})`,
          details: { keys: lockedNow, lockoutSeconds: this.policy.lockoutSeconds },
          context,
        });
      }
      throw new LogbookError('UNAUTHENTICATED', 'The username or password is wrong.');
    }
    // The password was right: this attempt is not a guess, whatever follows.
    await this.throttle.succeed(keys, nowMs);
    if (user.disabledMs !== null) {
      await this.audit.record({
        actor,
        action: SELF_AUDIT_ACTIONS.login,
        outcome: 'failure',
        target,
        description: `Refused login of disabled user "${user.username}"`,
        details: { reason: 'disabled' },
        context,
      });
      throw new LogbookError('UNAUTHENTICATED', 'This user is disabled; ask an admin to enable it.');
    }

    const principal = userPrincipal(user);
    const issued = await this.tokens.issue({ ...user, scopes: principal.scopes }, nowMs);
    await this.store.recordUserLogin(user.id, nowMs);
    await this.audit.record({
      actor: principal,
      action: SELF_AUDIT_ACTIONS.login,
      target,
      description: `${user.username} logged in`,
      context,
    });
    return {
      token: issued.token,
      tokenType: 'Bearer',
      expiresAt: toIso(issued.expiresMs),
      user: userView({ ...user, lastLoginMs: nowMs }),
    };
  }
}
