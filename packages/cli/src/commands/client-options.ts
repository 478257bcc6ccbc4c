// What every client command of the CLI shares: --url/--key (or LOGBOOK_URL/LOGBOOK_API_KEY), --json, an SDK client,
// table output, and errors that say what to do. Exit codes: 0 done, 1 the server refused or could not be reached,
// 2 usage. The CLI never speaks HTTP itself: everything goes through @logbook/sdk.
import {
  createClient,
  LogbookApiError,
  type LogbookClient,
  LogbookConnectionError,
  LogbookVerificationError,
} from '@logbook/sdk';

/** A mistake in the command line itself (exit 2, with the usage). */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  key: { type: 'string' },
  json: { type: 'boolean', default: false },
  tenant: { type: 'string' },
} as const;

export const CLIENT_OPTIONS_HELP = `Connection (every client command):
  --url URL     the Logbook server (default LOGBOOK_URL, else http://127.0.0.1:8080)
  --key KEY     an API key or login token (default LOGBOOK_API_KEY)
  --tenant T    the tenant (default: the key's tenant, or "default")
  --json        machine-readable output on stdout`;

export function clientFrom(values: { url?: string | undefined; key?: string | undefined }): LogbookClient {
  const url = values.url ?? process.env.LOGBOOK_URL ?? 'http://127.0.0.1:8080';
  const apiKey = values.key ?? process.env.LOGBOOK_API_KEY;
  if (!apiKey) {
    throw new UsageError(
      "no API key: pass --key KEY or set LOGBOOK_API_KEY (the admin key is printed on the server's first start)",
    );
  }
  try {
    new URL(url);
  } catch {
    throw new UsageError(`--url is not a URL: ${url} (e.g. http://127.0.0.1:8080)`);
  }
  return createClient({ url, apiKey, retry: { retries: 2, baseDelayMs: 200 } });
}

const HINTS: Partial<Record<string, string>> = {
  UNAUTHENTICATED: 'Check --key / LOGBOOK_API_KEY: the key may be wrong, revoked or expired.',
  FORBIDDEN: 'This key lacks the scope for that; use a key with the needed scope (admin for keys and users).',
  NOT_FOUND: 'Check the id (list them with the matching "list" command).',
  VALIDATION_FAILED: 'Fix the option named above; see --help for the accepted values.',
  INVALID_DATE: 'Give dates as ISO 8601, e.g. 2026-11-22T10:15:00Z.',
  INVALID_CURSOR: 'The cursor is stale or from another server: start again without it.',
  TOO_MANY_REQUESTS: 'The server is rate limiting: wait a moment and retry.',
};

/** Prints a failure in words and says what to do; returns the exit code. */
export function reportError(command: string, error: unknown, usage: string): number {
  if (error instanceof UsageError) {
    console.error(`logbook ${command}: ${error.message}\n\n${usage}`);
    return 2;
  }
  if ((error as { code?: string }).code?.startsWith?.('ERR_PARSE_ARGS')) {
    console.error(`logbook ${command}: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (error instanceof LogbookApiError) {
    const issues = error.issues?.map((i) => `  - ${i.field}: ${i.message}`).join('\n');
    console.error(
      `logbook ${command}: the server answered ${error.status} ${error.code}: ${error.message}` +
        `${issues ? `\n${issues}` : ''}\n${HINTS[error.code] ?? (error.status >= 500 ? 'The server failed; retry, and check its log (request id below).' : '')}` +
        `${error.requestId ? `\n(request id ${error.requestId})` : ''}`,
    );
    return 1;
  }
  if (error instanceof LogbookConnectionError) {
    console.error(
      `logbook ${command}: ${error.message}\nIs the server running? Check --url / LOGBOOK_URL (start one with "logbook serve").`,
    );
    return 1;
  }
  if (error instanceof LogbookVerificationError) {
    console.error(`logbook ${command}: NOT VERIFIED (${error.reason}): ${error.message}`);
    return 1;
  }
  throw error;
}

/** Runs a command body, turning failures into messages and exit codes. */
export async function runClient(command: string, usage: string, body: () => Promise<number | undefined>) {
  try {
    return (await body()) ?? 0;
  } catch (error) {
    return reportError(command, error, usage);
  }
}

export const printJson = (value: unknown): undefined => {
  console.log(JSON.stringify(value, null, 2));
};

/** A plain text table: columns padded to their widest cell (capped), cells cut with … past the cap. */
export function table(
  headers: string[],
  rows: (string | number | null | undefined)[][],
  maxWidth = 48,
): string {
  const text = rows.map((row) =>
    row.map((cell) => (cell === null || cell === undefined ? '' : String(cell))),
  );
  const widths = headers.map((h, i) =>
    Math.min(maxWidth, Math.max(h.length, ...text.map((row) => (row[i] ?? '').length))),
  );
  const fit = (cell: string, i: number) => {
    const w = widths[i] ?? 0;
    return (cell.length > w ? `${cell.slice(0, w - 1)}…` : cell).padEnd(w);
  };
  return [headers, ...text].map((row) => row.map(fit).join('  ').trimEnd()).join('\n');
}

/** Splits "a,b,c" into its parts, without empty ones. */
export const list = (value: string | undefined): string[] | undefined =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The one positional argument a subcommand needs, or a usage error naming it. */
export function needPositional(positionals: string[], index: number, what: string): string {
  const value = positionals[index];
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
}
