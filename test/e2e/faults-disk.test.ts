// The disk filling up under a real `logbook serve` on SQLite: the data dir is a small tmpfs (mount needs root, as
// here and in CI; elsewhere the test skips loudly), filled with a ballast file while clients ingest. Writes must fail
// with a clear 507 INSUFFICIENT_STORAGE + Retry-After (never a 500 or a crash), reads keep working, nothing is
// corrupted (verify exits 0), and writes succeed again by themselves once space returns.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, postEvents, readAll, type ServeProcess, Storage } from './support-serve.ts';

const MIB = 1024 * 1024;

/** Mounts a tmpfs of `mib` MiB on a fresh dir; null when this machine does not allow it. */
function mountTmpfs(mib: number): string | null {
  if (process.platform !== 'linux') return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logbook-diskfull-'));
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (result.status !== 0) {
    fs.rmdirSync(dir);
    return null;
  }
  return dir;
}

const probe = mountTmpfs(1);
if (probe) {
  spawnSync('umount', [probe]);
  fs.rmdirSync(probe);
} else {
  console.warn(
    '!!! faults-disk: cannot mount a tmpfs here (needs root on Linux): the disk-full test is SKIPPED',
  );
}

/** Fills the file system holding `file` until ENOSPC, then gives back `leaveBytes`. */
function fillDisk(file: string, leaveBytes: number): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(256 * 1024, 7);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  }
  const size = fs.fstatSync(fd).size;
  fs.ftruncateSync(fd, Math.max(0, size - leaveBytes));
  fs.closeSync(fd);
}

interface Ack {
  id: string;
  seq: number;
  hash: string;
}

describe.skipIf(!probe)('disk full on SQLite', () => {
  it('writes fail with 507 + Retry-After, reads go on, nothing is corrupted, and writes resume once space returns', async () => {
    const mount = mountTmpfs(24)!;
    fs.mkdirSync(path.join(mount, 'data'));
    const storage = await Storage.create('sqlite', path.join(mount, 'data'));
    let server: ServeProcess | null = null;
    try {
      server = await storage.start({
        LOGBOOK_CHECKPOINT_INTERVAL_SECONDS: '1',
        LOGBOOK_SQLITE_CACHE_MIB: '8',
      });
      const url = server.url;
      const acked = new Map<string, Ack>();
      const batch = (n: number) => ({
        events: Array.from({ length: 40 }, (_, j) => ({
          id: `b${n}-${j}`,
          action: 'disk.fill',
          actor: { id: 'filler' },
          description: `batch ${n} event ${j} ${'x'.repeat(64)}`,
          details: { n, j, pad: 'p'.repeat(2048) },
        })),
      });
      const send = async (n: number) => {
        const res = await postEvents(url, batch(n));
        const body = (await res.json()) as { events?: Ack[]; error?: { code: string; message: string } };
        if (res.status === 201) for (const a of body.events!) acked.set(a.id, a);
        return { status: res.status, retryAfter: res.headers.get('retry-after'), error: body.error };
      };
      for (let n = 0; n < 5; n++) expect((await send(n)).status).toBe(201);

      // Leave ~1 MiB free, then keep writing until the disk is full.
      const ballast = path.join(mount, 'ballast');
      fillDisk(ballast, MIB);
      const refused: Awaited<ReturnType<typeof send>>[] = [];
      const failedBatches: number[] = [];
      let n = 5;
      for (; n < 400 && refused.length < 5; n++) {
        const answer = await send(n);
        if (answer.status !== 201) {
          refused.push(answer);
          failedBatches.push(n);
        }
      }
      expect(refused.length, 'the disk filled up').toBe(5);
      for (const r of refused) {
        expect(r.status, JSON.stringify(r)).toBe(507);
        expect(r.error!.code).toBe('INSUFFICIENT_STORAGE');
        expect(r.error!.message).toMatch(/out of storage space/);
        expect(Number(r.retryAfter)).toBeGreaterThan(0);
      }
      // The process lives on and reads still work while the disk is full.
      expect(server.running).toBe(true);
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const during = await fetch(`${url}/api/v1/events?limit=5`, { headers: { 'x-api-key': ADMIN_KEY } });
      expect(during.status).toBe(200);

      // Space returns: the refused batches (same client ids) and new ones are accepted, without a restart.
      fs.rmSync(ballast);
      for (const f of failedBatches) expect((await send(f)).status).toBe(201);
      for (let k = 0; k < 5; k++) expect((await send(n + k)).status).toBe(201);

      const stored = await readAll(url);
      const byId = new Map(stored.map((e) => [e.id, e]));
      expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i));
      for (const a of acked.values()) expect(byId.get(a.id)?.hash, a.id).toBe(a.hash);
      expect((await server.stop()).code).toBe(0);
      server = null;
      const verify = await storage.verify();
      expect(verify.status, verify.output).toBe(0);
      console.info(
        `faults-disk: ${acked.size} events acknowledged, ${refused.length} batches refused with 507 on a full 24 MiB tmpfs, all stored after space returned`,
      );
    } finally {
      await server?.kill();
      await storage.cleanup();
      spawnSync('umount', [mount]);
      fs.rmSync(mount, { recursive: true, force: true });
    }
  }, 180_000);
});
