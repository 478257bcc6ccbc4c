// The SDK's minimal HTTP helper: POST JSON to Logbook with the API key, retrying what is worth retrying (network
// errors, 429, 5xx) with exponential backoff and jitter, honouring Retry-After. It never retries a 4xx that says the
// request itself is wrong: resending it cannot succeed.

export interface RetryOptions {
  /** Attempts after the first one (default 5). */
  retries?: number;
  /** First backoff delay; doubled per attempt, with jitter (default 200 ms). */
  baseDelayMs?: number;
  /** Longest single wait (default 10 s). */
  maxDelayMs?: number;
  /** Per-attempt timeout (default 15 s). */
  timeoutMs?: number;
}

export class LogbookHttpError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly body: string,
  ) {
    super(message);
    this.name = 'LogbookHttpError';
  }
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs `body` as JSON to `url`; resolves the parsed answer, rejects with LogbookHttpError when it gives up. */
export async function postJson(
  url: string,
  apiKey: string,
  body: unknown,
  options: RetryOptions = {},
): Promise<unknown> {
  const retries = options.retries ?? 5;
  const base = options.baseDelayMs ?? 200;
  const maxDelay = options.maxDelayMs ?? 10_000;
  const payload = JSON.stringify(body);
  let last: LogbookHttpError = new LogbookHttpError('not sent', null, '');
  for (let attempt = 0; attempt <= retries; attempt++) {
    let retryAfterMs: number | null = null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body: payload,
        signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
      });
      const text = await res.text();
      if (res.ok) return text ? JSON.parse(text) : null;
      last = new LogbookHttpError(`Logbook answered ${res.status}: ${text.slice(0, 500)}`, res.status, text);
      if (!retryable(res.status)) throw last;
      const header = Number(res.headers.get('retry-after'));
      if (Number.isFinite(header) && header > 0) retryAfterMs = header * 1000;
    } catch (error) {
      if (error instanceof LogbookHttpError && error.status !== null && !retryable(error.status)) throw error;
      if (!(error instanceof LogbookHttpError)) {
        last = new LogbookHttpError(`Logbook unreachable: ${(error as Error).message}`, null, '');
      }
    }
    if (attempt < retries) {
      const backoff = Math.min(maxDelay, base * 2 ** attempt);
      await sleep(retryAfterMs ?? backoff / 2 + Math.random() * (backoff / 2));
    }
  }
  throw last;
}
