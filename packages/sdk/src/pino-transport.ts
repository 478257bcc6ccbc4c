// A pino (v9/v10) transport that sends logs to Logbook's POST /api/v1/logs: batched, retried with backoff, flushed
// when the stream ends (also at process exit, which pino waits for). It must never crash the host process: entries
// are made valid before sending, and a batch that cannot be delivered is reported on stderr and dropped.
//
//   const transport = pino.transport({
//     target: '@logbook/sdk/pino-transport',
//     options: { url: 'http://127.0.0.1:8080', apiKey: process.env.LOGBOOK_API_KEY, service: 'checkout' },
//   });
//   const logger = pino(transport);
import build from 'pino-abstract-transport';
import { LogbookHttpError, postJson, type RetryOptions } from './http.ts';

export interface LogbookTransportOptions extends RetryOptions {
  /** The Logbook server, e.g. http://127.0.0.1:8080 (POSTs go to <url>/api/v1/logs). */
  url: string;
  /** An API key with the logging:write scope. */
  apiKey: string;
  /** The service name of every entry; default: pino's `name`, else "unknown_service". */
  service?: string;
  /** Tenant to write to (a key bound to a tenant needs none). */
  tenant?: string;
  /** Entries per request (default 500, at most 10,000). */
  batchSize?: number;
  /** A partial batch is sent after this long (default 1000 ms). */
  flushIntervalMs?: number;
  /** Entries held while Logbook is unreachable; beyond it new ones are dropped and counted (default 50,000). */
  maxBufferedEntries?: number;
}

/** pino's numeric levels onto Logbook's. */
const LEVELS: [number, string][] = [
  [60, 'FATAL'],
  [50, 'ERROR'],
  [40, 'WARN'],
  [30, 'INFO'],
  [0, 'DEBUG'],
];
const OWN_KEYS = new Set([
  'level',
  'time',
  'msg',
  'hostname',
  'name',
  'v',
  'trace_id',
  'span_id',
  'traceId',
  'spanId',
]);
const MAX_MESSAGE_BYTES = 65_536;
const MAX_DETAILS_BYTES = 65_536;
const HEX32 = /^[0-9a-f]{32}$/i;
const HEX16 = /^[0-9a-f]{16}$/i;

function truncate(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes || Buffer.byteLength(text) <= maxBytes) return text;
  return `${Buffer.from(text)
    .subarray(0, maxBytes - 3)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}…`;
}

/** One pino log object as a Logbook entry (always valid: oversized parts are truncated, not refused). */
export function toLogEntry(
  record: Record<string, unknown>,
  options: Pick<LogbookTransportOptions, 'service' | 'tenant'> = {},
): Record<string, unknown> {
  const levelNumber = typeof record.level === 'number' ? record.level : 30;
  const level = LEVELS.find(([min]) => levelNumber >= min)![1];
  const time = typeof record.time === 'number' ? record.time : Date.now();
  const message =
    typeof record.msg === 'string' ? record.msg : record.msg === undefined ? '' : String(record.msg);
  const details: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(record)) if (!OWN_KEYS.has(key)) details[key] = value;
  let detailsJson = JSON.stringify(details);
  const service =
    options.service ?? (typeof record.name === 'string' && record.name ? record.name : undefined);
  const traceId = record.trace_id ?? record.traceId;
  const spanId = record.span_id ?? record.spanId;
  if (Buffer.byteLength(detailsJson) > MAX_DETAILS_BYTES) detailsJson = JSON.stringify({ truncated: true });
  return {
    timestamp: new Date(time).toISOString(),
    level,
    message: truncate(message, MAX_MESSAGE_BYTES),
    ...(service ? { service: service.slice(0, 128) } : {}),
    ...(options.tenant ? { tenant: options.tenant } : {}),
    ...(detailsJson !== '{}' ? { details: JSON.parse(detailsJson) } : {}),
    ...(typeof traceId === 'string' && HEX32.test(traceId) ? { traceId } : {}),
    ...(typeof spanId === 'string' && HEX16.test(spanId) ? { spanId } : {}),
    ...(typeof record.hostname === 'string' && record.hostname
      ? { host: record.hostname.slice(0, 256) }
      : {}),
  };
}

/** The transport: pino loads this module in a worker thread and calls it with `options`. */
export default async function logbookTransport(options: LogbookTransportOptions) {
  if (!options?.url || !options.apiKey) {
    throw new Error('@logbook/sdk/pino-transport needs options.url and options.apiKey');
  }
  const endpoint = `${options.url.replace(/\/+$/, '')}/api/v1/logs`;
  const batchSize = Math.min(Math.max(1, options.batchSize ?? 500), 10_000);
  const maxBuffered = options.maxBufferedEntries ?? 50_000;
  let buffer: Record<string, unknown>[] = [];
  let dropped = 0;
  // Sends run one at a time, in order: a chain every flush joins.
  let sending: Promise<void> = Promise.resolve();

  const report = (message: string) => process.stderr.write(`@logbook/sdk/pino-transport: ${message}\n`);

  const flush = (): Promise<void> => {
    sending = sending.then(async () => {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, batchSize);
        try {
          await postJson(endpoint, options.apiKey, batch, options);
        } catch (error) {
          const status = error instanceof LogbookHttpError ? error.status : null;
          report(`dropped ${batch.length} log entries (${status ?? 'network'}): ${(error as Error).message}`);
        }
        buffer = buffer.slice(batch.length);
      }
      if (dropped > 0) {
        report(`dropped ${dropped} log entries because more than ${maxBuffered} were waiting`);
        dropped = 0;
      }
    });
    return sending;
  };

  const timer = setInterval(() => {
    if (buffer.length > 0) void flush();
  }, options.flushIntervalMs ?? 1000);
  timer.unref();

  return build(
    async (source: AsyncIterable<Record<string, unknown>>) => {
      for await (const record of source) {
        // Logbook unreachable for long: keep what is already waiting, count what does not fit.
        if (buffer.length >= maxBuffered) dropped += 1;
        else buffer.push(toLogEntry(record, options));
        // Waiting here when a batch is full makes pino's buffer (not this one) absorb a burst.
        if (buffer.length >= batchSize) await flush();
      }
    },
    {
      // The stream ended (logger closed, or the process is exiting and pino waits for this): send what is left.
      async close() {
        clearInterval(timer);
        await flush();
      },
    },
  );
}
