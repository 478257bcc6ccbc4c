// The `logbook` command line: dispatches `logbook <command>` to commands/<command>.ts.
// Exit codes: 0 success, 1 failure of the work itself, 2 usage or configuration error.
import { parseArgs } from 'node:util';
import { ConfigError } from '@logbook/server';
import { CHECKPOINT_USAGE, checkpointCommand } from './commands/checkpoint.ts';
import { EVENTS_USAGE, eventsCommand } from './commands/events.ts';
import { EXPORT_USAGE, exportCommand } from './commands/export.ts';
import { KEYS_USAGE, keysCommand } from './commands/keys.ts';
import { LOGS_USAGE, logsCommand } from './commands/logs.ts';
import { migrateCommand } from './commands/migrate.ts';
import { serveCommand } from './commands/serve.ts';
import { USERS_USAGE, usersCommand } from './commands/users.ts';
import { VERIFY_USAGE, verifyCommand } from './commands/verify.ts';

interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'Run the Logbook server (SQLite in LOGBOOK_DATA_DIR by default)',
    usage: 'logbook serve\n\n  Example: LOGBOOK_PORT=9000 LOGBOOK_DATA_DIR=/var/lib/logbook logbook serve',
    run: serveCommand,
  },
  verify: {
    summary: 'Check that no stored audit history was changed, deleted, reordered or inserted',
    usage: VERIFY_USAGE,
    run: verifyCommand,
  },
  migrate: {
    summary: 'Apply database migrations and exit',
    usage: 'logbook migrate\n\n  Example: LOGBOOK_DATA_DIR=./data logbook migrate',
    run: migrateCommand,
  },
  // Client commands: they talk to a running server through @logbook/sdk (--url/--key or LOGBOOK_URL/LOGBOOK_API_KEY).
  keys: { summary: 'Create, list and revoke API keys', usage: KEYS_USAGE, run: keysCommand },
  users: { summary: 'Create, list, disable and enable dashboard users', usage: USERS_USAGE, run: usersCommand },
  events: { summary: 'Search audit events (table or --json), or tail them live', usage: EVENTS_USAGE, run: eventsCommand },
  logs: { summary: 'Tail system log entries live', usage: LOGS_USAGE, run: logsCommand },
  export: { summary: 'Export audit events as NDJSON or CSV (resumable, with progress)', usage: EXPORT_USAGE, run: exportCommand },
  checkpoint: { summary: 'Show the latest signed checkpoint, or create one', usage: CHECKPOINT_USAGE, run: checkpointCommand },
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: logbook <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "logbook <command> --help" for a command's options and examples. The server's configuration comes from LOGBOOK_* environment variables (see README); client commands take --url/--key or LOGBOOK_URL/LOGBOOK_API_KEY, and --json for scripts.\n\nExamples:\n  logbook serve\n  export LOGBOOK_URL=http://127.0.0.1:8080 LOGBOOK_API_KEY=lbk_…\n  logbook events search --actor alice\n  logbook keys create --name billing --scopes audit:write\n  logbook export --format csv --output audit.csv`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-v') {
    console.log('logbook 0.1.0');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`logbook: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  const { values } = parseArgs({
    args: rest,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: false,
  });
  if (values.help) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`logbook: invalid configuration: ${error.message}`);
      return 2;
    }
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`logbook ${name}: ${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
