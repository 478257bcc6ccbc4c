// `logbook checkpoint [create]`: show the latest signed checkpoint of a tenant log, or sign one now, through the SDK.
import { parseArgs } from 'node:util';
import {
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  clientFrom,
  printJson,
  runClient,
  UsageError,
} from './client-options.ts';

export const CHECKPOINT_USAGE = `logbook checkpoint [--tenant T] [--json]
logbook checkpoint create [--tenant T] [--json]

Shows the latest signed checkpoint (tree size, root hash, signed note) of a tenant's audit log, or signs a
checkpoint of the current tree head now (admin). Keep copies of checkpoints elsewhere: with them,
"logbook verify" and consistency proofs show that history was not rewritten since.

${CLIENT_OPTIONS_HELP}

Examples:
  logbook checkpoint
  logbook checkpoint create --tenant acme --json > checkpoint-acme.json`;

export async function checkpointCommand(args: string[]): Promise<number> {
  return runClient('checkpoint', CHECKPOINT_USAGE, async () => {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: CLIENT_OPTIONS });
    const [verb] = positionals;
    if (verb !== undefined && verb !== 'create' && verb !== 'show') {
      throw new UsageError(`unknown subcommand "${verb}" (use "create", or nothing to show the latest)`);
    }
    const client = clientFrom(values);
    const tenant = values.tenant ? { tenant: values.tenant } : {};
    const checkpoint =
      verb === 'create'
        ? await client.integrity.createCheckpoint(tenant)
        : await client.integrity.checkpoint(tenant);
    if (values.json) return printJson(checkpoint);
    console.log(`Tenant:     ${checkpoint.tenant}`);
    console.log(`Tree size:  ${checkpoint.treeSize}`);
    console.log(`Root hash:  ${checkpoint.rootHash}`);
    console.log(`Signed at:  ${checkpoint.timestamp}`);
    console.log(`\n${checkpoint.note}`);
    return;
  });
}
