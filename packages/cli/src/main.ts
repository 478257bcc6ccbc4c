// The `logbook` command line: dispatches `logbook <command>` to commands/<command>.ts.
// Exit codes: 0 success, 1 failure of the work itself, 2 usage or configuration error.
import { parseArgs } from 'node:util';
import { ConfigError } from '@logbook/server';
import { migrateCommand } from './commands/migrate.ts';
import { serveCommand } from './commands/serve.ts';
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
};

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: logbook <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "logbook <command> --help" for a command's options. Configuration comes from LOGBOOK_* environment variables (see README).`;
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
