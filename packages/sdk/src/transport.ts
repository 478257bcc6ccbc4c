// How the SDK talks HTTP: global fetch with the credential, a per-attempt timeout, typed errors, and retries with
// exponential backoff and jitter for requests that are safe to repeat. Browser-safe. It must never retry a request
// that is not idempotent (creating a key twice would make two keys), nor a 4xx that says the request is wrong.
import { LogbookApiError, LogbookConnectionError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts after the first (default 4). */
  retries?: number;
  /** First backoff; doubled each attempt, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Longest single wait, also for a server's Retry-After (default 30 s). */
  maxDelayMs?: number;
}

export interface TransportOptions {
  /** The server, e.g. "http://127.0.0.1:8080" (a path prefix is kept). */
  url: string;
  /** An API key or a login token, sent as "Authorization: Bearer …". */
  apiKey?: string;
  /** Per-attempt timeout (default 30 s). */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Another fetch (a test proxy, a polyfill); default the global fetch. */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export type QueryValue = string | number | boolean | undefined | null;

export interface RequestOptions {
  query?: Record<string, QueryValue> | object;
  body?: unknown;
  /** Safe to send again after a lost answer (GETs; event writes with client ids). */
  idempotent?: boolean;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** A stream (SSE, export): the timeout covers only the wait for the response headers, not the body. */
  streaming?: boolean;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Delay before retry number `attempt` (0-based): half fixed, half random, so many clients do not retry in step. */
export function backoffDelay(
  attempt: number,
  policy: Required<RetryPolicy>,
  retryAfterSeconds?: number,
): number {
  if (retryAfterSeconds !== undefined) return Math.min(policy.maxDelayMs, retryAfterSeconds * 1000);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** True for failures a retry may cure: no answer at all, or a retryable status. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof LogbookConnectionError) return true;
  return error instanceof LogbookApiError && error.retryable;
}

export class Transport {
  readonly baseUrl: string;
  readonly retry: Required<RetryPolicy>;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: TransportOptions) {
    if (!options.url) throw new TypeError('Logbook client: `url` is required (e.g. "http://127.0.0.1:8080")');
    this.baseUrl = options.url.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retry = {
      retries: options.retry?.retries ?? 4,
      baseDelayMs: options.retry?.baseDelayMs ?? 250,
      maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
    };
    this.headers = {
      ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
      ...options.headers,
    };
  }

  url(path: string, query?: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null) continue;
      params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * One attempt. For a 2xx answer: the Response, its body already read into `text` unless `streaming` (then the body
   * is the caller's to read). Anything else: a typed error.
   */
  async send(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<{ response: Response; text: string }> {
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new Error('timeout')), this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(this.url(path, options.query), {
          method,
          headers: {
            accept: 'application/json',
            ...this.headers,
            ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...options.headers,
          },
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          signal,
        });
        if (response.ok && options.streaming) return { response, text: '' };
        const text = await response.text();
        if (response.ok) return { response, text };
        throw LogbookApiError.fromResponse(response.status, text, response.headers);
      } catch (error) {
        if (error instanceof LogbookApiError) throw error;
        if (options.signal?.aborted) throw options.signal.reason;
        const timedOut = timeout.signal.aborted;
        throw new LogbookConnectionError(
          timedOut
            ? `Logbook at ${this.baseUrl} did not answer within ${this.timeoutMs} ms`
            : `Cannot reach Logbook at ${this.baseUrl}: ${describe(error)}`,
          { timeout: timedOut, cause: error },
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends the request (retrying when idempotent and worth it) and parses the JSON answer. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const retries = options.idempotent ? this.retry.retries : 0;
    for (let attempt = 0; ; attempt++) {
      try {
        const { text } = await this.send(method, path, options);
        return (text ? JSON.parse(text) : null) as T;
      } catch (error) {
        if (attempt >= retries || !isRetryable(error)) throw error;
        const after = error instanceof LogbookApiError ? error.retryAfterSeconds : undefined;
        await sleep(backoffDelay(attempt, this.retry, after), options.signal);
      }
    }
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  if (cause?.message) return cause.message;
  return (error as Error).message ?? String(error);
}

export { sleep };
