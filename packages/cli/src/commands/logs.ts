// `logbook logs tail`: follow system log entries live through the SDK, with the list filters as flags.
import { parseArgs } from 'node:util';
import type { LogEntry } from '@logbook/sdk';
import { CLIENT_OPTIONS, CLIENT_OPTIONS_HELP, clientFrom, runClient, UsageError } from './client-options.ts';

export const LOGS_USAGE = `logbook logs tail [--level L[,L]] [--min-level L] [--service S[,S]] [--q WORDS] [--trace-id ID] [--after ID] [--once] [--json]

Follows system log entries as they arrive, one line each (NDJSON with --json), until Ctrl-C.
  --level L[,L]    exact levels: DEBUG, INFO, WARN, ERROR, FATAL
  --min-level L    this level and above (--min-level WARN is WARN, ERROR, FATAL)
  --service S[,S]  only these services
  --q WORDS        full-text over message and details
  --trace-id ID    one trace (32 hex digits)
  --after ID       start after this entry (the id a previous tail printed) instead of now
  --once           exit when caught up instead of waiting for more

${CLIENT_OPTIONS_HELP}

Examples:
  logbook logs tail --min-level WARN --service billing
  logbook logs tail --json | jq .message`;

export const logLine = (l: LogEntry) =>
  `${l.timestamp}  ${l.level.padEnd(5)}  ${l.service}  ${l.message}${l.traceId ? `  trace=${l.traceId}` : ''}`;

export async function logsCommand(args: string[]): Promise<number> {
  return runClient('logs', LOGS_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...CLIENT_OPTIONS,
        level: { type: 'string' },
        'min-level': { type: 'string' },
        service: { type: 'string' },
        q: { type: 'string' },
        'trace-id': { type: 'string' },
        after: { type: 'string' },
        once: { type: 'boolean', default: false },
      },
    });
    const [verb] = positionals;
    if (verb !== 'tail')
      throw new UsageError(verb ? `unknown subcommand "${verb}"` : 'missing subcommand: tail');
    if (values.after !== undefined && !/^[0-9]{1,15}$/.test(values.after)) {
      throw new UsageError('--after must be an entry id a previous tail printed (a whole number)');
    }
    const controller = new AbortController();
    process.once('SIGINT', () => controller.abort());
    process.once('SIGTERM', () => controller.abort());
    console.error('Following system logs (Ctrl-C to stop)…');
    const stream = clientFrom(values).logs.tail(
      {
        ...(values.tenant ? { tenant: values.tenant } : {}),
        ...(values.level ? { level: values.level } : {}),
        ...(values['min-level'] ? { minLevel: values['min-level'] } : {}),
        ...(values.service ? { service: values.service } : {}),
        ...(values.q ? { q: values.q } : {}),
        ...(values['trace-id'] ? { traceId: values['trace-id'] } : {}),
        ...(values.after !== undefined ? { lastEventId: values.after } : {}),
        ...(values.once ? { follow: false } : {}),
      },
      { signal: controller.signal },
    );
    for await (const entry of stream) {
      const { tailId, ...plain } = entry;
      console.log(values.json ? JSON.stringify({ ...plain, tailId }) : `${logLine(plain)}  [${tailId}]`);
    }
    return;
  });
}
