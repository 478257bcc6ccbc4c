// End to end: retention archives verified offline by the real CLI (`node --import tsx packages/cli/src/main.ts verify
// --archive DIR --public-key FILE`), with nothing but the archive and the public key. The archive is written by a
// real retention run (injectable clock, SQLite file) over HTTP; tampered copies exit 1 naming the file (also with the
// signed manifest rewritten to match, and a whole archive removed when checked against the log), usage errors 2.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { generateSigningKey, verifierKeyString } from '@logbook/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp, sampleEvent, type TestApp, tempDir } from '../../packages/server/test/helpers.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const DAY = 86_400_000;
const NOW = Date.parse('2026-09-01T00:00:00.000Z');

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', 'packages/cli/src/main.ts', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, LOGBOOK_DATA_DIR: tempDir('logbook-e2e-nodata-') },
    timeout: 60_000,
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

describe('logbook verify --archive', () => {
  let t: TestApp;
  let work: string;
  let archive: string;
  let keyFile: string;

  beforeAll(async () => {
    work = tempDir('logbook-e2e-archive-');
    archive = path.join(work, 'archive');
    t = await makeTestApp({ clock: () => NOW, archiveDir: archive });
    for (const tenant of ['default', 'acme']) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/v1/events',
        headers: t.auth,
        payload: {
          events: Array.from({ length: 100 }, (_, i) =>
            sampleEvent({ tenant, occurredAt: new Date(NOW - (i + 1) * DAY).toISOString() }),
          ),
        },
      });
      expect(res.statusCode).toBe(201);
    }
    const run = await t.app.inject({ method: 'POST', url: '/api/v1/retention/run', headers: t.auth });
    expect(run.json()).toMatchObject({ archived: 110, deleted: 110 });
    keyFile = path.join(work, 'logbook.pub');
    fs.writeFileSync(keyFile, `${t.services.integrity.publicKey().note}\n`);
  });

  afterAll(async () => {
    await t?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('exits 0 on the archive as written', () => {
    const res = cli('verify', '--archive', archive, '--public-key', keyFile);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^OK: 110 archived events in 2 archive\(s\)/);
    expect(res.status).toBe(0);
    const json = cli('verify', '--archive', archive, '--public-key', keyFile, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, archives: 2, entries: 110, findings: [] });
  });

  it('exits 1 naming the file when a body was edited', () => {
    const copy = path.join(work, 'edited');
    fs.cpSync(archive, copy, { recursive: true });
    const dir = path.join(copy, 'acme', 'events');
    const data = fs.readdirSync(dir).find((f) => f.endsWith('.ndjson.gz'))!;
    const lines = zlib
      .gunzipSync(fs.readFileSync(path.join(dir, data)))
      .toString('utf8')
      .split('\n');
    lines[7] = lines[7]!.replace('Alice paid', 'Mallory paid');
    fs.writeFileSync(path.join(dir, data), zlib.gzipSync(lines.join('\n')));
    const res = cli('verify', '--archive', copy, '--public-key', keyFile);
    expect(res.status).toBe(1);
    expect(res.stdout).toContain(`TAMPERED: ${path.join(dir, data)}`);
  });

  it('exits 1 when a line was dropped', () => {
    const copy = path.join(work, 'dropped');
    fs.cpSync(archive, copy, { recursive: true });
    const dir = path.join(copy, 'default', 'events');
    const data = fs.readdirSync(dir).find((f) => f.endsWith('.ndjson.gz'))!;
    const lines = zlib
      .gunzipSync(fs.readFileSync(path.join(dir, data)))
      .toString('utf8')
      .split('\n');
    fs.writeFileSync(
      path.join(dir, data),
      zlib.gzipSync([...lines.slice(0, 3), ...lines.slice(4)].join('\n')),
    );
    const res = cli('verify', '--archive', copy, '--public-key', keyFile);
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(/holds 54 entries, the manifest says 55/);
  });

  it('exits 1 when the manifest was rewritten to match (count, digest): the manifest is signed', () => {
    for (const field of ['count', 'sha256'] as const) {
      const copy = path.join(work, `rewritten-${field}`);
      fs.cpSync(archive, copy, { recursive: true });
      const dir = path.join(copy, 'default', 'events');
      const manifestFile = path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.manifest.json'))!);
      const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
      manifest[field] = field === 'count' ? manifest.count - 1 : '0'.repeat(64);
      fs.writeFileSync(manifestFile, JSON.stringify(manifest));
      const res = cli('verify', '--archive', copy, '--public-key', keyFile);
      expect(res.status).toBe(1);
      expect(res.stdout).toContain(
        `TAMPERED: ${manifestFile}: the manifest differs from what the key signed`,
      );
    }
  }, 120_000);

  it('with --data-dir, checks the archives against the deletion records: a whole archive removed exits 1', () => {
    const intact = cli('verify', '--archive', archive, '--public-key', keyFile, '--data-dir', t.dir);
    expect(intact.stdout).toMatch(
      /all 2 archive\(s\) named by the log's deletion records are present and match/,
    );
    expect(intact.status).toBe(0);
    const copy = path.join(work, 'removed');
    fs.cpSync(archive, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'acme'), { recursive: true });
    // Offline the key cannot tell an archive is missing; the signed log can.
    expect(cli('verify', '--archive', copy, '--public-key', keyFile).status).toBe(0);
    const res = cli('verify', '--archive', copy, '--public-key', keyFile, '--data-dir', t.dir);
    expect(res.status).toBe(1);
    expect(res.stdout).toMatch(
      /TAMPERED: .+tenant "acme", deletion record seq \d+ names archive .+, which is missing/,
    );
  }, 120_000);

  it('exits 1 against another key, 2 on usage errors', () => {
    const otherKey = path.join(work, 'other.pub');
    const other = generateSigningKey('logbook.test');
    fs.writeFileSync(otherKey, verifierKeyString(other.name, other.publicKey));
    const wrong = cli('verify', '--archive', archive, '--public-key', otherKey);
    expect(wrong.status).toBe(1);
    expect(wrong.stdout).toMatch(/not signed by the given public key/);
    expect(cli('verify', '--archive', path.join(work, 'nope'), '--public-key', keyFile).status).toBe(2);
    expect(cli('verify', '--archive', archive).status).toBe(2);
    const empty = tempDir('logbook-e2e-empty-');
    expect(cli('verify', '--archive', empty, '--public-key', keyFile).status).toBe(2);
    fs.rmSync(empty, { recursive: true, force: true });
  }, 120_000);
});
