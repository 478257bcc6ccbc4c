// `logbook keys create|list|revoke`: API keys, through the SDK. The secret of a new key is printed once, never again.
import { parseArgs } from 'node:util';
import { SCOPES, type Scope } from '@logbook/protocol';
import {
  CLIENT_OPTIONS,
  CLIENT_OPTIONS_HELP,
  clientFrom,
  list,
  needPositional,
  printJson,
  runClient,
  table,
  UsageError,
} from './client-options.ts';

export const KEYS_USAGE = `logbook keys create --name NAME --scopes SCOPES [--expires ISO] [--tenant T]
logbook keys list [--tenant T]
logbook keys revoke KEY_ID

Creates, lists and revokes API keys (admin). A new key's secret is printed once: store it then.
  --name NAME       what the key is for, e.g. billing-service
  --scopes SCOPES   comma-separated: ${SCOPES.join(', ')}
  --expires ISO     when the key stops working, e.g. 2027-01-01T00:00:00Z
  --tenant T        bind the key to one tenant (it then sees nothing else)

${CLIENT_OPTIONS_HELP}

Examples:
  logbook keys create --name billing-service --scopes audit:write,logging:write
  logbook keys list --json | jq '.[].name'
  logbook keys revoke 0192f3a4-…`;

export async function keysCommand(args: string[]): Promise<number> {
  return runClient('keys', KEYS_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...CLIENT_OPTIONS,
        name: { type: 'string' },
        scopes: { type: 'string' },
        expires: { type: 'string' },
      },
    });
    const [verb] = positionals;
    if (verb === 'create') {
      if (!values.name) throw new UsageError('missing --name');
      const scopes = list(values.scopes);
      if (!scopes?.length) throw new UsageError(`missing --scopes (some of ${SCOPES.join(', ')})`);
      const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
      if (unknown.length)
        throw new UsageError(`unknown scope ${unknown.join(', ')} (known: ${SCOPES.join(', ')})`);
      const client = clientFrom(values);
      const key = await client.keys.create({
        name: values.name,
        scopes: scopes as Scope[],
        ...(values.tenant ? { tenant: values.tenant } : {}),
        ...(values.expires ? { expiresAt: values.expires } : {}),
      });
      if (values.json) return printJson(key);
      console.log(
        `Created key ${key.id} (${key.name}; ${key.scopes.join(', ')}${key.tenant ? `; tenant ${key.tenant}` : ''})`,
      );
      console.log(`\n  ${key.key}\n`);
      console.log('This is the only time the secret is shown: store it now (e.g. as LOGBOOK_API_KEY).');
      return;
    }
    if (verb === 'list') {
      const keys = await clientFrom(values).keys.list(values.tenant ? { tenant: values.tenant } : {});
      if (values.json) return printJson(keys);
      console.log(
        table(
          ['ID', 'NAME', 'PREFIX', 'SCOPES', 'TENANT', 'CREATED', 'LAST USED', 'STATUS'],
          keys.map((k) => [
            k.id,
            k.name,
            k.prefix,
            k.scopes.join(','),
            k.tenant ?? '*',
            k.createdAt,
            k.lastUsedAt ?? '-',
            k.revokedAt
              ? 'revoked'
              : k.expiresAt && Date.parse(k.expiresAt) < Date.now()
                ? 'expired'
                : 'active',
          ]),
        ),
      );
      return;
    }
    if (verb === 'revoke') {
      const id = needPositional(positionals, 1, 'KEY_ID (see "logbook keys list")');
      const key = await clientFrom(values).keys.revoke(id);
      if (values.json) return printJson(key);
      console.log(`Revoked key ${key.id} (${key.name}): it stops working now.`);
      return;
    }
    throw new UsageError(
      verb ? `unknown subcommand "${verb}"` : 'missing subcommand: create, list or revoke',
    );
  });
}
