// `logbook users create|list|disable|enable`: local users (dashboard logins), through the SDK. Passwords are read from
// --password-stdin or LOGBOOK_USER_PASSWORD rather than a flag when possible, to keep them out of shell history.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { SCOPES, type Scope, USER_ROLES, type UserRole } from '@logbook/protocol';
import type { LogbookClient } from '@logbook/sdk';
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

export const USERS_USAGE = `logbook users create --username NAME [--password-stdin | --password P] [--role admin|member] [--scopes S] [--tenant T]
logbook users list [--tenant T]
logbook users disable USER      (USER: an id or a username)
logbook users enable USER

Manages local users who sign in to the dashboard or at /api/v1/auth/login (admin).
  --username NAME     1–128 of A–Z a–z 0–9 . _ @ + -
  --password-stdin    read the password from standard input (else LOGBOOK_USER_PASSWORD, else --password)
  --role ROLE         ${USER_ROLES.join(' or ')} (default member; admin holds every scope)
  --scopes S          a member's scopes, comma-separated (default audit:read,logging:read)
  --tenant T          bind the user to one tenant

${CLIENT_OPTIONS_HELP}

Examples:
  echo "$PASSWORD" | logbook users create --username alice --password-stdin --role admin
  logbook users list
  logbook users disable alice`;

/** The user's id from an id or a username. */
async function resolveUser(client: LogbookClient, who: string, tenant: string | undefined): Promise<string> {
  const users = await client.users.list(tenant ? { tenant } : {});
  const match =
    users.find((u) => u.id === who) ?? users.find((u) => u.username.toLowerCase() === who.toLowerCase());
  if (!match) throw new UsageError(`no user "${who}" (see "logbook users list")`);
  return match.id;
}

export async function usersCommand(args: string[]): Promise<number> {
  return runClient('users', USERS_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...CLIENT_OPTIONS,
        username: { type: 'string' },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean', default: false },
        role: { type: 'string' },
        scopes: { type: 'string' },
      },
    });
    const [verb] = positionals;
    if (verb === 'create') {
      if (!values.username) throw new UsageError('missing --username');
      const password = values['password-stdin']
        ? fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '')
        : (process.env.LOGBOOK_USER_PASSWORD ?? values.password);
      if (!password)
        throw new UsageError('no password: use --password-stdin, LOGBOOK_USER_PASSWORD or --password');
      if (values.role && !(USER_ROLES as readonly string[]).includes(values.role)) {
        throw new UsageError(`--role must be ${USER_ROLES.join(' or ')}`);
      }
      const scopes = list(values.scopes);
      const unknown = scopes?.filter((s) => !(SCOPES as readonly string[]).includes(s)) ?? [];
      if (unknown.length)
        throw new UsageError(`unknown scope ${unknown.join(', ')} (known: ${SCOPES.join(', ')})`);
      const user = await clientFrom(values).users.create({
        username: values.username,
        password,
        ...(values.role ? { role: values.role as UserRole } : {}),
        ...(scopes ? { scopes: scopes as Scope[] } : {}),
        ...(values.tenant ? { tenant: values.tenant } : {}),
      });
      if (values.json) return printJson(user);
      console.log(`Created user ${user.username} (${user.id}; ${user.role}; ${user.scopes.join(', ')})`);
      return;
    }
    if (verb === 'list') {
      const users = await clientFrom(values).users.list(values.tenant ? { tenant: values.tenant } : {});
      if (values.json) return printJson(users);
      console.log(
        table(
          ['ID', 'USERNAME', 'ROLE', 'SCOPES', 'TENANT', 'CREATED', 'LAST LOGIN', 'STATUS'],
          users.map((u) => [
            u.id,
            u.username,
            u.role,
            u.scopes.join(','),
            u.tenant ?? '*',
            u.createdAt,
            u.lastLoginAt ?? '-',
            u.disabledAt ? 'disabled' : 'active',
          ]),
        ),
      );
      return;
    }
    if (verb === 'disable' || verb === 'enable') {
      const who = needPositional(positionals, 1, 'USER (an id or a username)');
      const client = clientFrom(values);
      const id = await resolveUser(client, who, values.tenant);
      const user = verb === 'disable' ? await client.users.disable(id) : await client.users.enable(id);
      if (values.json) return printJson(user);
      console.log(`${verb === 'disable' ? 'Disabled' : 'Enabled'} user ${user.username} (${user.id}).`);
      return;
    }
    throw new UsageError(
      verb ? `unknown subcommand "${verb}"` : 'missing subcommand: create, list, disable or enable',
    );
  });
}
