// The `logbook` command line: dispatches `logbook <command>` to commands/<command>.ts.
// Exit codes: 0 success, 1 failure of the work itself, 2 usage or configuration error.
import { parseArgs } from 'node:util';

/** A command's module, loaded only when that command runs: a client command never loads the server. */
interface CommandModule {
  usage: string;
  run(args: string[]): Promise<number>;
}

interface Command {
  summary: string;
  load(): Promise<CommandModule>;
}

const COMMANDS: Record<string, Command> = {
  serve: {
    summary: 'Run the Logbook server (SQLite in LOGBOOK_DATA_DIR by default)',
    load: async () => ({
      usage: 'logbook serve\n\n  Example: LOGBOOK_PORT=9000 LOGBOOK_DATA_DIR=/var/lib/logbook logbook serve',
      run: (await import('./commands/serve.ts')).serveCommand,
    }),
  },
  verify: {
    summary: 'Check that no stored audit history was changed, deleted, reordered or inserted',
    load: async () => {
      const m = await import('./commands/verify.ts');
      return { usage: m.VERIFY_USAGE, run: m.verifyCommand };
    },
  },
  migrate: {
    summary: 'Apply database migrations and exit',
    load: async () => ({
      usage: 'logbook migrate\n\n  Example: LOGBOOK_DATA_DIR=./data logbook migrate',
      run: (await import('./commands/migrate.ts')).migrateCommand,
    }),
  },
  // Client commands: they talk to a running server through @logbook/sdk (--url/--key or LOGBOOK_URL/LOGBOOK_API_KEY).
  keys: {
    summary: 'Create, list and revoke API keys',
    load: async () => {
      const m = await import('./commands/keys.ts');
      return { usage: m.KEYS_USAGE, run: m.keysCommand };
    },
  },
  users: {
    summary: 'Create, list, disable and enable dashboard users',
    load: async () => {
      const m = await import('./commands/users.ts');
      return { usage: m.USERS_USAGE, run: m.usersCommand };
    },
  },
  events: {
    summary: 'Search audit events (table or --json), or tail them live',
    load: async () => {
      const m = await import('./commands/events.ts');
      return { usage: m.EVENTS_USAGE, run: m.eventsCommand };
    },
  },
  logs: {
    summary: 'Tail system log entries live',
    load: async () => {
      const m = await import('./commands/logs.ts');
      return { usage: m.LOGS_USAGE, run: m.logsCommand };
    },
  },
  export: {
    summary: 'Export audit events as NDJSON or CSV (resumable, with progress)',
    load: async () => {
      const m = await import('./commands/export.ts');
      return { usage: m.EXPORT_USAGE, run: m.exportCommand };
    },
  },
  checkpoint: {
    summary: 'Show the latest signed checkpoint, or create one',
    load: async () => {
      const m = await import('./commands/checkpoint.ts');
      return { usage: m.CHECKPOINT_USAGE, run: m.checkpointCommand };
    },
  },
  capture: {
    summary: 'Record every change of PostgreSQL application tables as audit events (install, status, run)',
    load: async () => {
      const m = await import('./commands/capture.ts');
      return { usage: m.CAPTURE_USAGE, run: m.captureCommand };
    },
  },
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
  const entry = COMMANDS[name];
  if (!entry) {
    console.error(`logbook: unknown command "${name}"\n\n${help()}`);
    return 2;
  }
  const command = await entry.load();
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
    // By name, not instanceof: importing the server's ConfigError here would load the server for every command.
    if ((error as Error).name === 'ConfigError') {
      console.error(`logbook: invalid configuration: ${(error as Error).message}`);
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
