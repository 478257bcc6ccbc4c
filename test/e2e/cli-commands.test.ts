// Every client command of the `logbook` CLI end to end: a spawned `logbook` process (as a user runs it) against a
// real listening server on each backend, checking output, --json, exit codes (0 ok, 1 API failure, 2 usage) and help.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINT_USAGE } from '../../packages/cli/src/commands/checkpoint.ts';
import { EVENTS_USAGE } from '../../packages/cli/src/commands/events.ts';
import { EXPORT_USAGE } from '../../packages/cli/src/commands/export.ts';
import { KEYS_USAGE } from '../../packages/cli/src/commands/keys.ts';
import { LOGS_USAGE } from '../../packages/cli/src/commands/logs.ts';
import { USERS_USAGE } from '../../packages/cli/src/commands/users.ts';
import { VERIFY_USAGE } from '../../packages/cli/src/commands/verify.ts';
import { createClient, type LogbookClient } from '../../packages/sdk/src/index.ts';
import { type RunningServer, startServer } from '../../packages/sdk/test/support.ts';
import { cleanEnv, REPO_ROOT } from './support-serve.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(args: string[], env: Record<string, string> = {}, input?: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (input !== undefined) child.stdin!.end(input);
  return child;
}

function cli(args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  const child = start(args, env, input);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

// Each spawned CLI pays for starting Node, tsx and the command's imports (seconds on a loaded CI machine): generous
// timeouts, and no more spawns than the behaviour under test needs.
const SLOW = { timeout: 180_000 };

/** Every command's --help text, as main.ts prints it. */
const USAGES = {
  verify: VERIFY_USAGE,
  keys: KEYS_USAGE,
  users: USERS_USAGE,
  events: EVENTS_USAGE,
  logs: LOGS_USAGE,
  export: EXPORT_USAGE,
  checkpoint: CHECKPOINT_USAGE,
};

describe('logbook CLI help and usage errors', SLOW, () => {
  it('lists every command with examples, and each command has --help with examples', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const name of ['serve', 'migrate', ...Object.keys(USAGES)])
      expect(top.stdout).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    expect(top.stdout).toContain('Examples:');
    // One spawned `<command> --help`; the others print these same strings (checked in-process: spawns are slow).
    const help = await cli(['export', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout.trim()).toBe(USAGES.export.trim());
    for (const usage of Object.values(USAGES)) {
      expect(usage).toContain('Examples:');
      if (usage !== VERIFY_USAGE) expect(usage).toContain('--url');
    }
  });

  it('exits 2 with what to do on usage errors, and 1 when the server cannot be reached', async () => {
    const noKey = await cli(['events', 'search']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('LOGBOOK_API_KEY');
    const unknownFlag = await cli(['events', 'search', '--colour'], { LOGBOOK_API_KEY: 'x' });
    expect(unknownFlag.code).toBe(2);
    const down = await cli(['events', 'search', '--url', 'http://127.0.0.1:1', '--key', 'x']);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('Is the server running?');
  });
});

// The CLI speaks only HTTP through the SDK, so one storage backend suffices here; the API under it is tested on
// every backend by the server and SDK suites.
describe('logbook CLI client commands', SLOW, () => {
  const backend = 'sqlite';
  let server: RunningServer;
  let sdk: LogbookClient;
  let env: Record<string, string>;

  beforeAll(async () => {
    server = await startServer(backend);
    sdk = createClient({ url: server.url, apiKey: server.adminKey });
    env = { LOGBOOK_URL: server.url, LOGBOOK_API_KEY: server.adminKey };
  });
  afterAll(() => server?.close());

  it('keys create | list | revoke', async () => {
    const created = await cli(
      ['keys', 'create', '--name', 'ci-writer', '--scopes', 'audit:write', '--json'],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; key: string; scopes: string[] };
    expect(key.scopes).toEqual(['audit:write']);

    const listed = await cli(['keys', 'list'], env);
    expect(listed.stdout).toMatch(/^ID\s+NAME\s+PREFIX/m);
    expect(listed.stdout).toContain('ci-writer');

    const revoked = await cli(['keys', 'revoke', key.id], env);
    expect(revoked.code).toBe(0);
    const after = JSON.parse((await cli(['keys', 'list', '--json'], env)).stdout) as {
      id: string;
      revokedAt: string | null;
    }[];
    expect(after.find((k) => k.id === key.id)?.revokedAt).not.toBeNull();

    // The revoked key no longer works: an API failure, exit 1, with a hint about the key.
    const refused = await cli(['events', 'search'], { LOGBOOK_URL: server.url, LOGBOOK_API_KEY: key.key });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('UNAUTHENTICATED');
    expect(refused.stderr).toContain('--key');
  });

  it('users create | list | disable | enable', async () => {
    const created = await cli(
      ['users', 'create', '--username', 'erin', '--password-stdin', '--json'],
      env,
      'a long password\n',
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ username: 'erin', role: 'member' });
    await expect(sdk.auth.login('erin', 'a long password')).resolves.toHaveProperty('token');

    expect((await cli(['users', 'list'], env)).stdout).toMatch(/erin\s+member/);
    const disabled = await cli(['users', 'disable', 'erin'], env);
    expect(disabled.stdout).toContain('Disabled user erin');
    await expect(sdk.auth.login('erin', 'a long password')).rejects.toMatchObject({ status: 401 });
    expect((await cli(['users', 'enable', 'erin'], env)).code).toBe(0);
    await expect(sdk.auth.login('erin', 'a long password')).resolves.toHaveProperty('token');
    expect((await cli(['users', 'disable', 'nobody'], env)).code).toBe(2);
    const duplicate = await cli(
      ['users', 'create', '--username', 'erin', '--password', 'another password'],
      env,
    );
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('ALREADY_EXISTS');
  });

  it('events search: a table, --json, filters, and errors', async () => {
    await sdk.events.create([
      {
        action: 'invoice.pay',
        actor: { id: 'frank', name: 'Frank' },
        target: { type: 'invoice', id: 'inv-1' },
      },
      { action: 'invoice.void', actor: { id: 'frank' }, outcome: 'failure' },
      { action: 'user.login', actor: { id: 'grace' } },
    ]);
    const table = await cli(['events', 'search', '--actor', 'frank'], env);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^TIME\s+SEQ\s+ACTION\s+ACTOR\s+TARGET\s+OUTCOME\s+ID/);
    expect(table.stdout).toContain('invoice.pay');
    expect(table.stdout).toContain('frank (Frank)');
    expect(table.stdout).toContain('invoice:inv-1');
    expect(table.stdout).not.toContain('user.login');

    const json = await cli(
      ['events', 'search', '--action', 'invoice.*', '--outcome', 'failure', '--json'],
      env,
    );
    expect((JSON.parse(json.stdout) as { action: string }[]).map((e) => e.action)).toEqual(['invoice.void']);
    expect(
      (JSON.parse((await cli(['events', 'search', '--limit', '2', '--json'], env)).stdout) as unknown[])
        .length,
    ).toBe(2);

    expect((await cli(['events', 'search', '--outcome', 'maybe'], env)).code).toBe(2);
  });

  it('events tail: a bounded replay with --after/--once, and live events', async () => {
    const first = await sdk.events.create({ action: 'tail.a', actor: { id: 'henry' } });
    await sdk.events.create({ action: 'tail.b', actor: { id: 'henry' } });
    const replay = await cli(
      ['events', 'tail', '--actor', 'henry', '--after', String(first.seq - 1), '--once', '--json'],
      env,
    );
    expect(replay.code, replay.stderr).toBe(0);
    expect(
      replay.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { action: string }).action),
    ).toEqual(['tail.a', 'tail.b']);

    const line = await liveLine(['events', 'tail', '--actor', 'ivy'], env, () =>
      sdk.events.create({ action: 'tail.live', actor: { id: 'ivy' } }),
    );
    expect(line).toContain('tail.live');
    expect(line).toContain('ivy');
  });

  it('logs tail: live entries with filters', async () => {
    const line = await liveLine(['logs', 'tail', '--min-level', 'WARN', '--json'], env, async () => {
      await sdk.logs.create([
        { level: 'INFO', service: 'cli-test', message: 'not shown' },
        { level: 'ERROR', service: 'cli-test', message: 'disk full' },
      ]);
    });
    expect(JSON.parse(line)).toMatchObject({ level: 'ERROR', service: 'cli-test', message: 'disk full' });
  });

  it('export: NDJSON and CSV, with a progress bar, and --resume after an interruption', async () => {
    await sdk.events.create(
      Array.from({ length: 1500 }, (_, i) => ({
        action: 'bulk.export',
        actor: { id: 'exporter' },
        details: { i },
      })),
    );
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-cli-export-'));
    try {
      const file = path.join(dir, 'all.ndjson');
      const full = await cli(['export', '--actor', 'exporter', '--output', file, '--progress'], env);
      expect(full.code, full.stderr).toBe(0);
      expect(full.stderr).toContain('Exporting');
      expect(full.stderr).toContain('1500/1500');
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
      expect(lines.length).toBe(1500);
      expect(lines.map((l) => (JSON.parse(l) as { details: { i: number } }).details.i)).toEqual([
        ...Array(1500).keys(),
      ]);
      expect(fs.existsSync(`${file}.cursor`)).toBe(false);

      const csv = await cli(['export', '--format', 'csv', '--actor', 'exporter'], env);
      const rows = csv.stdout.trim().split('\r\n');
      expect(rows[0]).toMatch(/^id,seq,tenant,occurredAt,receivedAt,action,actorId/);
      expect(rows.length).toBe(1501);

      // An export cut after its first page plus half a line: --resume cuts the partial line and continues.
      const resumed = path.join(dir, 'resumed.ndjson');
      const page = await sdk.events.page({ actor: 'exporter', order: 'asc', limit: 1000 });
      const done = page.data.map((e) => `${JSON.stringify(e)}\n`).join('');
      fs.writeFileSync(resumed, `${done}{"id":"half-writ`);
      fs.writeFileSync(
        `${resumed}.cursor`,
        JSON.stringify({
          format: 'ndjson',
          filters: { actor: 'exporter' },
          cursor: page.nextCursor,
          written: 1000,
          total: 1500,
          bytes: Buffer.byteLength(done),
        }),
      );
      const again = await cli(
        ['export', '--actor', 'exporter', '--output', resumed, '--resume', '--json'],
        env,
      );
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout)).toMatchObject({ events: 1500, resumed: true });
      expect(fs.readFileSync(resumed, 'utf8')).toBe(fs.readFileSync(file, 'utf8'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checkpoint: create one, then show the latest', async () => {
    await sdk.events.create({ action: 'checkpoint.me', actor: { id: 'jack' } });
    const created = await cli(['checkpoint', 'create', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const checkpoint = JSON.parse(created.stdout) as { treeSize: number; note: string };
    expect(checkpoint.treeSize).toBeGreaterThan(0);
    const shown = await cli(['checkpoint'], env);
    expect(shown.stdout).toContain(`Tree size:  ${checkpoint.treeSize}`);
    expect(shown.stdout).toContain(checkpoint.note.trim().split('\n')[0]!);
  });
});

/** Starts a tail, keeps producing until it prints a line (the tail starts "from now"), returns that line. */
async function liveLine(
  args: string[],
  env: Record<string, string>,
  produce: () => Promise<unknown>,
): Promise<string> {
  const child = start(args, env);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  try {
    const deadline = Date.now() + 20_000;
    while (!stderr.includes('Following') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    while (!stdout.includes('\n') && Date.now() < deadline) {
      await produce();
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(stdout, stderr).toContain('\n');
    return stdout.split('\n')[0]!;
  } finally {
    child.kill('SIGINT');
    await new Promise((r) => child.once('close', r));
  }
}
