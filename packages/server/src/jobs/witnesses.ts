// Witnesses: copies of every checkpoint kept outside the database (a directory, an HTTP endpoint), so that
// deleting the newest events — and the checkpoints covering them — is still detectable. Failures are reported, never fatal.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Witness } from '../services/integrity.ts';
import type { StoredCheckpoint } from '../store/store.ts';

/** `<dir>/<tenant>/<treeSize>.checkpoint`: one file per checkpoint, written atomically, never overwritten. */
export function directoryWitness(dir: string): Witness {
  return {
    name: `dir:${dir}`,
    async publish(checkpoint: StoredCheckpoint) {
      const tenantDir = path.join(dir, checkpoint.tenant);
      await fs.mkdir(tenantDir, { recursive: true });
      const file = path.join(tenantDir, `${checkpoint.treeSize}.checkpoint`);
      const temp = `${file}.${process.pid}.tmp`;
      await fs.writeFile(temp, checkpoint.note, { flag: 'w' });
      await fs.rename(temp, file);
    },
  };
}

/** POSTs the signed note as text/plain to `url`, with the tenant and tree size in headers. */
export function httpWitness(url: string, timeoutMs = 5000): Witness {
  return {
    name: `url:${url}`,
    async publish(checkpoint: StoredCheckpoint) {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          'x-logbook-tenant': checkpoint.tenant,
          'x-logbook-tree-size': String(checkpoint.treeSize),
        },
        body: checkpoint.note,
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw new Error(`witness answered ${response.status}`);
    },
  };
}

/** Reads the checkpoints a directory witness holds for a tenant (for the verifier). */
export async function readWitnessDirectory(
  dir: string,
  tenant: string,
): Promise<{ file: string; note: string }[]> {
  const tenantDir = path.join(dir, tenant);
  let names: string[];
  try {
    names = await fs.readdir(tenantDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = names
    .filter((n) => n.endsWith('.checkpoint'))
    .sort((a, b) => Number.parseInt(a, 10) - Number.parseInt(b, 10));
  return Promise.all(
    files.map(async (name) => ({
      file: path.join(tenantDir, name),
      note: await fs.readFile(path.join(tenantDir, name), 'utf8'),
    })),
  );
}

/** Tenants a directory witness holds checkpoints for. */
export async function listWitnessTenants(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}
