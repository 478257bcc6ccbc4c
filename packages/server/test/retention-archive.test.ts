// Retention with archive-before-delete on both backends, driven by an injectable clock: events across 100 days, a
// 45-day policy, a run over HTTP → exactly the older events archived and their payloads gone, the rest intact,
// verifyStore passes, the archive verifies offline with the public key alone, and tampered archives do not — also
// when the forger rewrites the manifest to match (it is signed), or removes a whole archive (the log names it).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {
  formatCheckpoint,
  generateSigningKey,
  hashLeaf,
  openNote,
  parseCheckpoint,
  signNote,
  toHex,
  utf8Encode,
} from '@logbook/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ArchiveLine,
  type ArchiveManifest,
  checkArchivesAgainstLog,
  manifestNoteText,
  verifyArchive,
} from '../src/services/archive.ts';
import { verifyStore } from '../src/services/verifier.ts';
import { makeTestApp, sampleEvent, type TestApp, tempDir } from './helpers.ts';
import { BACKENDS } from './support-backends.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T12:00:00.000Z');
/** 200 events, one every 12 hours back from NOW (0.5 … 100 days old), in shuffled arrival order. */
const EVENTS = Array.from({ length: 200 }, (_, i) => ({
  id: `ev-${String(i).padStart(3, '0')}`,
  ageMs: (i + 1) * (DAY / 2),
}));
const CUTOFF = NOW - 45 * DAY;
const OLD = EVENTS.filter((e) => NOW - e.ageMs < CUTOFF).map((e) => e.id);

function manifests(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (e.name.endsWith('.manifest.json')) out.push(path.join(d, e.name));
    }
  };
  walk(dir);
  return out.sort();
}

function readLines(file: string): ArchiveLine[] {
  return zlib
    .gunzipSync(fs.readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ArchiveLine);
}

/** Rewrites an archive's data file from `lines`, leaving its manifest as it was. */
function writeLines(manifestFile: string, lines: ArchiveLine[]): Buffer {
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as ArchiveManifest;
  const data = zlib.gzipSync(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  fs.writeFileSync(path.join(path.dirname(manifestFile), manifest.file), data);
  return data;
}

/** writeLines, then, like a careful forger without the key, fixes the manifest's digest (and count and seqs). */
function rewrite(manifestFile: string, lines: ArchiveLine[], fixCount = false): void {
  const data = writeLines(manifestFile, lines);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as ArchiveManifest;
  manifest.sha256 = createHash('sha256').update(data).digest('hex');
  if (fixCount) {
    manifest.count = lines.length;
    const seqs = lines.map((l) => l.seq);
    manifest.seqs = { first: Math.min(...seqs), last: Math.max(...seqs) };
  }
  fs.writeFileSync(manifestFile, JSON.stringify(manifest));
}

function copyArchive(src: string): { dir: string; manifest: string } {
  const dir = tempDir('logbook-archive-copy-');
  fs.cpSync(src, dir, { recursive: true });
  return { dir, manifest: manifests(dir)[0]! };
}

describe.each(BACKENDS)('retention with archives on %s', (backend) => {
  let t: TestApp;
  let clock = NOW;
  let archiveDir: string;
  let key: string;
  let run: Record<string, unknown> & { purged: Record<string, unknown>[] };
  const copies: string[] = [];

  beforeAll(async () => {
    const dir = tempDir();
    archiveDir = path.join(dir, 'archive');
    clock = NOW;
    t = await makeTestApp({ backend, dir, clock: () => clock, archiveDir });
    key = t.services.integrity.publicKey().note;
    // Arrival order differs from occurrence order, so the expiring seqs are not one contiguous range.
    const shuffled = [...EVENTS].sort((a, b) => (a.id.charCodeAt(5) % 7) - (b.id.charCodeAt(5) % 7));
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/events',
      headers: t.auth,
      payload: {
        events: shuffled.map((e) =>
          sampleEvent({
            id: e.id,
            occurredAt: new Date(NOW - e.ageMs).toISOString(),
            description: `payload of ${e.id} = secret`,
          }),
        ),
      },
    });
    expect(res.statusCode).toBe(201);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/retention',
      headers: t.auth,
      payload: { stream: 'events', days: 45 },
    });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ tenant: 'default', stream: 'events', days: 45, source: 'policy' });
    const ran = await t.app.inject({
      method: 'POST',
      url: '/api/v1/retention/run',
      headers: t.auth,
      payload: {},
    });
    expect(ran.statusCode).toBe(200);
    run = ran.json();
  });

  afterAll(async () => {
    await t?.close();
    for (const c of copies) fs.rmSync(c, { recursive: true, force: true });
  });

  it('GET /api/v1/retention shows the policy and the default', async () => {
    const res = await t.app.inject({ url: '/api/v1/retention', headers: t.auth });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ defaultDays: 45, archive: true });
    expect(body.data).toContainEqual(
      expect.objectContaining({ tenant: 'default', stream: 'events', days: 45, source: 'policy' }),
    );
    expect(body.data).toContainEqual(
      expect.objectContaining({ tenant: 'default', stream: 'logs', source: 'default' }),
    );
    const one = await t.app.inject({ url: '/api/v1/retention?stream=logs&tenant=acme', headers: t.auth });
    expect(one.json().data).toEqual([expect.objectContaining({ tenant: 'acme', stream: 'logs', days: 45 })]);
    const bad = await t.app.inject({ url: '/api/v1/retention?stream=nope', headers: t.auth });
    expect(bad.statusCode).toBe(400);
    const badPut = await t.app.inject({
      method: 'PUT',
      url: '/api/v1/retention',
      headers: t.auth,
      payload: { stream: 'events', days: -1 },
    });
    expect(badPut.statusCode).toBe(400);
  });

  it('the run archived and deleted exactly the events older than 45 days', async () => {
    expect(OLD.length).toBe(110);
    expect(run).toMatchObject({ deleted: OLD.length, archived: OLD.length });
    const events = run.purged.find((p) => p.stream === 'events');
    expect(events).toMatchObject({ tenant: 'default', days: 45, deleted: 110, archived: 110 });
    expect(events!.archive).toMatch(/^default\/events\/.+\.ndjson\.gz$/);
    // Old ones: gone from reads; young ones intact with their payload.
    for (const e of EVENTS) {
      const res = await t.app.inject({ url: `/api/v1/events/${e.id}`, headers: t.auth });
      if (OLD.includes(e.id)) expect(res.statusCode).toBe(404);
      else expect(res.json().description).toBe(`payload of ${e.id} = secret`);
    }
    const list = await t.app.inject({
      url: `/api/v1/events?limit=1000&action=invoice.pay`,
      headers: t.auth,
    });
    expect(list.json().data).toHaveLength(EVENTS.length - OLD.length);
  });

  it('the store still verifies, with the redactions recorded', async () => {
    await t.services.integrity.checkpoint('default');
    const report = await verifyStore(t.store, { verifierKeys: [key], all: true });
    expect(report.findings).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.redacted).toEqual({ default: OLD.length });
  });

  it('the archive holds exactly the expired events and verifies offline', async () => {
    const files = manifests(archiveDir);
    expect(files).toHaveLength(1);
    const manifest = JSON.parse(fs.readFileSync(files[0]!, 'utf8')) as ArchiveManifest;
    expect(manifest).toMatchObject({ tenant: 'default', stream: 'events', count: 110 });
    expect(Date.parse(manifest.occurred.to)).toBeLessThan(CUTOFF);
    const lines = readLines(path.join(path.dirname(files[0]!), manifest.file));
    expect(lines.map((l) => l.id).sort()).toEqual([...OLD].sort());
    expect(JSON.parse(lines[0]!.body).description).toMatch(/^payload of ev-\d+ = secret$/);
    // Non-contiguous seqs (arrival was shuffled).
    const seqs = lines.map((l) => l.seq).sort((a, b) => a - b);
    expect(seqs[seqs.length - 1]! - seqs[0]! + 1).toBeGreaterThan(seqs.length);
    const report = await verifyArchive(archiveDir, key);
    expect(report).toEqual({ ok: true, archives: 1, entries: 110, findings: [] });
  });

  it('a second run with nothing new to expire archives and deletes nothing', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/retention/run',
      headers: t.auth,
      payload: {},
    });
    expect(res.json()).toMatchObject({ deleted: 0, archived: 0 });
    expect(manifests(archiveDir)).toHaveLength(1);
  });

  it('a day later, the next day of events expires into a second archive; both verify', async () => {
    clock = NOW + DAY;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/retention/run',
      headers: t.auth,
      payload: {},
    });
    expect(res.json()).toMatchObject({ deleted: 2, archived: 2 });
    expect(manifests(archiveDir)).toHaveLength(2);
    expect((await verifyArchive(archiveDir, key)).entries).toBe(112);
    await t.services.integrity.checkpoint('default');
    expect((await verifyStore(t.store, { verifierKeys: [key] })).ok).toBe(true);
  });

  it('an archive with one body edited does not verify', async () => {
    const copy = copyArchive(archiveDir);
    copies.push(copy.dir);
    const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
    const lines = readLines(path.join(path.dirname(copy.manifest), manifest.file));
    lines[3] = { ...lines[3]!, body: lines[3]!.body.replace('secret', 'public') };
    writeLines(copy.manifest, lines);
    const report = await verifyArchive(copy.dir, key);
    expect(report.ok).toBe(false);
    expect(report.findings[0]).toMatchObject({ line: 4, message: expect.stringMatching(/does not hash/) });
  });

  it('an archive with a line dropped does not verify (count, and digest)', async () => {
    const copy = copyArchive(archiveDir);
    copies.push(copy.dir);
    const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
    const lines = readLines(path.join(path.dirname(copy.manifest), manifest.file));
    writeLines(copy.manifest, lines.slice(1));
    const report = await verifyArchive(copy.dir, key);
    expect(report.findings[0]!.message).toMatch(/holds \d+ entries, the manifest says/);
    // A truncated gzip file is a finding, not a crash.
    const copy3 = copyArchive(archiveDir);
    copies.push(copy3.dir);
    const data3 = path.join(path.dirname(copy3.manifest), manifest.file);
    fs.writeFileSync(data3, fs.readFileSync(data3).subarray(0, 200));
    const r3 = await verifyArchive(copy3.dir, key);
    expect(r3.ok).toBe(false);
  });

  it('a line dropped with the manifest rewritten to match (count, digest, seqs) is caught by its signature', async () => {
    const copy = copyArchive(archiveDir);
    copies.push(copy.dir);
    const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
    const lines = readLines(path.join(path.dirname(copy.manifest), manifest.file));
    rewrite(copy.manifest, lines.slice(1), true);
    const report = await verifyArchive(copy.dir, key);
    expect(report.ok).toBe(false);
    expect(report.findings[0]).toMatchObject({
      file: copy.manifest,
      message: expect.stringMatching(/differs from what the key signed/),
    });
  });

  it('an edited count or an edited digest in the manifest alone is caught', async () => {
    for (const edit of [
      (m: ArchiveManifest) => {
        m.count -= 1;
      },
      (m: ArchiveManifest) => {
        m.sha256 = createHash('sha256').update('another file').digest('hex');
      },
    ]) {
      const copy = copyArchive(archiveDir);
      copies.push(copy.dir);
      const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
      edit(manifest);
      fs.writeFileSync(copy.manifest, JSON.stringify(manifest));
      const report = await verifyArchive(copy.dir, key);
      expect(report.ok).toBe(false);
      expect(report.findings[0]!.message).toMatch(/differs from what the key signed/);
    }
  });

  it('a data file removed and replaced, with the manifest rewritten to name the replacement, is caught', async () => {
    const copy = copyArchive(archiveDir);
    copies.push(copy.dir);
    const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
    const dataFile = path.join(path.dirname(copy.manifest), manifest.file);
    const kept = readLines(dataFile).slice(0, 5);
    fs.rmSync(dataFile);
    const data = zlib.gzipSync(kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
    fs.writeFileSync(path.join(path.dirname(copy.manifest), 'replacement.ndjson.gz'), data);
    manifest.file = 'replacement.ndjson.gz';
    manifest.count = kept.length;
    manifest.sha256 = createHash('sha256').update(data).digest('hex');
    fs.writeFileSync(copy.manifest, JSON.stringify(manifest));
    const report = await verifyArchive(copy.dir, key);
    expect(report.ok).toBe(false);
    expect(report.findings[0]!.message).toMatch(/differs from what the key signed/);
  });

  it('a manifest re-signed by another key (checkpoint and manifest) does not verify', async () => {
    const copy = copyArchive(archiveDir);
    copies.push(copy.dir);
    const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
    const other = generateSigningKey(key.split('+')[0]!);
    const text = openNote(manifest.checkpoint.note, key).text;
    manifest.checkpoint.note = signNote(formatCheckpoint(parseCheckpoint(text)), other);
    manifest.count -= 1;
    manifest.signature = signNote(manifestNoteText(manifest), other);
    fs.writeFileSync(copy.manifest, JSON.stringify(manifest));
    const report = await verifyArchive(copy.dir, key);
    expect(report.findings[0]!.message).toMatch(/manifest is not signed by the given public key/);
    // An unsigned manifest (the old format) is not accepted either: its count and digest prove nothing.
    const { signature: _s, ...unsigned } = JSON.parse(
      fs.readFileSync(manifests(archiveDir)[0]!, 'utf8'),
    ) as ArchiveManifest;
    fs.writeFileSync(copy.manifest, JSON.stringify({ ...unsigned, format: 'logbook-archive/1' }));
    const old = await verifyArchive(copy.dir, key);
    expect(old.findings[0]!.message).toMatch(/unsigned logbook-archive\/1 manifest/);
  });

  it('a forged entry with a matching hash but no place in the signed tree does not verify', async () => {
    const copy = copyArchive(archiveDir);
    copies.push(copy.dir);
    const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
    const lines = readLines(path.join(path.dirname(copy.manifest), manifest.file));
    const body = lines[0]!.body.replace('secret', 'forged');
    lines[0] = { ...lines[0]!, body, hash: toHex(hashLeaf(utf8Encode(body))) };
    writeLines(copy.manifest, lines);
    const report = await verifyArchive(copy.dir, key);
    expect(report.findings[0]!.message).toMatch(/not in the signed log/);
  });

  it('against the log: every archive a deletion record names is there; a whole archive removed is caught', async () => {
    const intact = await checkArchivesAgainstLog(t.store, archiveDir);
    expect(intact).toEqual({ records: 2, findings: [], unreferenced: [] });
    const copy = copyArchive(archiveDir);
    copies.push(copy.dir);
    const manifest = JSON.parse(fs.readFileSync(copy.manifest, 'utf8')) as ArchiveManifest;
    fs.rmSync(path.join(path.dirname(copy.manifest), manifest.file));
    fs.rmSync(copy.manifest);
    // Offline, the remaining archive still verifies: the key alone cannot know the other existed…
    expect((await verifyArchive(copy.dir, key)).ok).toBe(true);
    // …the signed log can.
    const removed = await checkArchivesAgainstLog(t.store, copy.dir);
    expect(removed.findings).toHaveLength(1);
    expect(removed.findings[0]!.message).toMatch(
      /names archive .+, which is missing \(the archive was removed\)/,
    );
  });
});
