// Abuse limits: requests per minute per credential and per client address, and a stricter limit on the login
// routes (password guessing). Counted in this process's memory (@fastify/rate-limit's local store), checked before
// authentication so that a flood of bad credentials costs no key lookups or password hashing. Over a limit the
// answer is the catalog's 429 TOO_MANY_REQUESTS with Retry-After. It must never count a request twice or block a
// route when its limit is 0 (off).
import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { LogbookError } from '@logbook/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Requests per minute; 0 turns a limit off. */
export interface RateLimitOptions {
  /** Per presented credential (API key, token), whatever address it comes from. */
  perKeyPerMinute: number;
  /** Per client address (request.ip: the socket peer, or X-Forwarded-For's hop when trustProxy is set). */
  perIpPerMinute: number;
  /** Login attempts per client address on the login routes, on top of the two above. */
  loginPerMinute: number;
}

/** The routes that check a password: Logbook's login and the compatible surface's token endpoint. */
export const LOGIN_ROUTES = ['/api/v1/auth/login', '/api/login/access-token'] as const;

const MINUTE_MS = 60_000;

/** The presented credential, hashed (never kept in memory as sent); null when there is none. */
function credentialKey(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  const value = typeof header === 'string' && header.length > 0 ? header : request.headers['x-api-key'];
  if (typeof value !== 'string' || value.length === 0) return null;
  return createHash('sha256').update(value).digest('base64url').slice(0, 22);
}

interface Limiter {
  name: string;
  applies: (request: FastifyRequest) => boolean;
  check: ReturnType<FastifyInstance['createRateLimit']>;
  message: string;
}

export async function registerRateLimits(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.perKeyPerMinute <= 0 && options.perIpPerMinute <= 0 && options.loginPerMinute <= 0) return;
  // global: false — the limits below are applied by one hook of ours, in a fixed order, not per route.
  await app.register(rateLimit, { global: false });
  const limiters: Limiter[] = [];
  const limiter = (
    name: string,
    max: number,
    key: (request: FastifyRequest) => string | null,
    message: string,
    applies: (request: FastifyRequest) => boolean = (request) => key(request) !== null,
  ) => {
    if (max <= 0) return;
    limiters.push({
      name,
      applies,
      message,
      // Each limiter has its own store; keys are prefixed anyway so that they can never collide.
      check: app.createRateLimit({ max, timeWindow: MINUTE_MS, keyGenerator: (r) => `${name}:${key(r)}` }),
    });
  };
  limiter(
    'login',
    options.loginPerMinute,
    (request) => request.ip,
    `Too many login attempts from this address (limit ${options.loginPerMinute} per minute, LOGBOOK_RATE_LIMIT_LOGIN_PER_MINUTE).`,
    (request) =>
      request.method === 'POST' &&
      (LOGIN_ROUTES as readonly string[]).includes(request.routeOptions.url ?? ''),
  );
  limiter(
    'key',
    options.perKeyPerMinute,
    credentialKey,
    `Too many requests with this credential (limit ${options.perKeyPerMinute} per minute, LOGBOOK_RATE_LIMIT_PER_KEY_PER_MINUTE).`,
  );
  limiter(
    'ip',
    options.perIpPerMinute,
    (request) => request.ip,
    `Too many requests from this address (limit ${options.perIpPerMinute} per minute, LOGBOOK_RATE_LIMIT_PER_IP_PER_MINUTE).`,
  );
  app.addHook('onRequest', async (request) => {
    for (const l of limiters) {
      if (!l.applies(request)) continue;
      const result = await l.check(request);
      if (!result.isAllowed && result.isExceeded) {
        throw new LogbookError('TOO_MANY_REQUESTS', `${l.message} Retry after ${result.ttlInSeconds} s.`, {
          headers: { 'retry-after': String(Math.max(1, result.ttlInSeconds)) },
        });
      }
    }
  });
}
