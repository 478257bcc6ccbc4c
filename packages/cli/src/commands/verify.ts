// `logbook verify`: re-derives every tenant log from storage and checks it against the pinned public key and
// witness copies. Exit 0 intact, 1 tampered (first finding printed), 2 usage or connection error.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseVerifierKey } from '@logbook/protocol';
import {
  type ArchiveLogReport,
  type Config,
  ConfigError,
  checkArchivesAgainstLog,
  listWitnessTenants,
  loadConfig,
  openStore,
  PUBLIC_KEY_FILE,
  readWitnessDirectory,
  verifyArchive,
  verifyStore,
} from '@logbook/server';
import cliProgress from 'cli-progress';

export const VERIFY_USAGE = `logbook verify [--data-dir DIR | --database-url URL] [--public-key KEY|FILE] [--witness-dir DIR] [--all] [--json]
       logbook verify --archive DIR --public-key KEY|FILE [--data-dir DIR | --database-url URL] [--json]

Re-derives every tenant's audit log from storage: each event's hash from its stored content, gap-free seqs,
the Merkle tree and its stored nodes, every checkpoint's signature and root, and witness copies.

  --data-dir DIR        the data directory (default LOGBOOK_DATA_DIR or ./data)
  --database-url URL    verify a PostgreSQL database instead (default LOGBOOK_DATABASE_URL); it is
                        only read, in read-only sessions. Give --public-key: the key is not in the database.
  --public-key KEY|FILE verifier key string (name+hash+base64) or a file holding it; default: the
                        data dir's ${PUBLIC_KEY_FILE}. Pin a copy kept outside the data dir: whoever can
                        write the data dir can replace the key there.
  --witness-dir DIR     directory witness copies (default LOGBOOK_WITNESS_DIR)
  --archive DIR         verify retention archives offline instead (no database): each manifest's signature
                        (its count, digest and ranges) and its checkpoint's against --public-key, every
                        entry's leaf hash recomputed from its body and its inclusion proof checked against
                        the signed checkpoint. With --data-dir or --database-url as well, also checks that
                        every archive the log's deletion records name is there, with the digest and
                        count they state (the key alone cannot tell that a whole archive was removed)
  --all                 report every finding instead of stopping at the first
  --json                machine-readable report on stdout

Exit codes: 0 intact, 1 tampered, 2 usage or connection error.

Examples:
  logbook verify --data-dir ./data
  logbook verify --data-dir ./data --public-key ~/logbook.pub --witness-dir /mnt/witness --json
  logbook verify --database-url postgres://logbook@db/logbook --public-key ~/logbook.pub
  logbook verify --archive ./data/archive --public-key ~/logbook.pub
  logbook verify --archive /mnt/archive --database-url postgres://logbook@db/logbook --public-key ~/logbook.pub`;

/** The pinned verifier key from a key string or a file; anything unusable is a usage error (2), never "tampered". */
function readKey(value: string): string {
  const looksLikeKey = /^[^\s/+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(value.trim());
  let text = value.trim();
  if (!looksLikeKey) {
    if (!fs.existsSync(value))
      throw new ConfigError(`--public-key: no such file, and not a verifier key string: ${value}`);
    text = fs.readFileSync(value, 'utf8').trim();
  }
  try {
    parseVerifierKey(text);
  } catch (error) {
    throw new ConfigError(
      `--public-key is not a C2SP verifier key (name+hash+base64): ${(error as Error).message}`,
    );
  }
  return text;
}

/** Unreachable server, wrong credentials, or no Logbook tables: a usage/connection error (2), not tampering (1). */
async function requireReadable(store: ReturnType<typeof openStore>): Promise<void> {
  let pending: string[];
  try {
    await store.listTenantLogs();
    pending = await store.pendingMigrations();
  } catch (error) {
    throw new ConfigError(
      `cannot read the Logbook database: ${(error as Error).message} (check the URL, or run "logbook migrate" first)`,
    );
  }
  // The verifier reads the schema this version writes (e.g. PostgreSQL's leaf hash copies, 0011): an older database
  // would fail mid-run on a missing column, which is not tampering either.
  if (pending.length > 0) {
    throw new ConfigError(
      `the Logbook database's schema is older than this verifier (not applied: ${pending.join(', ')}): run "logbook migrate" with this version first, or verify with the version that wrote it`,
    );
  }
}

export async function verifyCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
      'public-key': { type: 'string' },
      'witness-dir': { type: 'string' },
      archive: { type: 'string' },
      all: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  const env = {
    ...process.env,
    ...(values['data-dir'] ? { LOGBOOK_DATA_DIR: values['data-dir'] } : {}),
    ...(values['database-url'] ? { LOGBOOK_DATABASE_URL: values['database-url'] } : {}),
  };
  const config = loadConfig(env);
  if (values.archive !== undefined) {
    if (values['data-dir'] && values['database-url']) {
      throw new ConfigError('give --data-dir or --database-url, not both');
    }
    const againstLog = Boolean(values['data-dir'] || values['database-url']);
    return verifyArchiveCommand(
      values.archive,
      values['public-key'],
      config,
      againstLog,
      values.json ?? false,
    );
  }
  const keyFile = path.join(config.dataDir, PUBLIC_KEY_FILE);
  const keySource = values['public-key'] ?? keyFile;
  if (!values['public-key'] && !fs.existsSync(keyFile)) {
    throw new ConfigError(`no public key: pass --public-key (the data dir has no ${PUBLIC_KEY_FILE})`);
  }
  if (values['data-dir'] && values['database-url']) {
    throw new ConfigError('give --data-dir or --database-url, not both');
  }
  const witnessDir = values['witness-dir'] ?? config.witnessDir;
  if (witnessDir && !fs.statSync(witnessDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(
      `witness directory ${witnessDir} does not exist (a typo would silently skip witness checks)`,
    );
  }
  const pinnedKey = readKey(keySource);
  const store = openStore(config, { readonly: true });
  const bar =
    !values.json && process.stderr.isTTY
      ? new cliProgress.SingleBar(
          {
            format: 'verifying [{bar}] {percentage}% | {value}/{total} events | {rate} events/s',
            stream: process.stderr,
          },
          cliProgress.Presets.shades_classic,
        )
      : null;
  const started = performance.now();
  try {
    await requireReadable(store);
    const report = await verifyStore(store, {
      verifierKeys: [pinnedKey],
      all: values.all ?? false,
      ...(witnessDir
        ? {
            witnessCopies: async (tenant: string) =>
              (await readWitnessDirectory(witnessDir, tenant)).map((w) => ({ source: w.file, note: w.note })),
            witnessTenants: () => listWitnessTenants(witnessDir),
          }
        : {}),
      onProgress: (done, total) => {
        if (!bar) return;
        if (done === Math.min(done, total) && bar.getTotal() !== total) bar.start(total, 0, { rate: 0 });
        bar.update(done, { rate: Math.round(done / ((performance.now() - started) / 1000)) });
      },
    });
    bar?.stop();
    if (values.json) {
      console.log(JSON.stringify(report, null, 2));
    } else if (report.ok) {
      const rate = report.seconds > 0 ? Math.round(report.events / report.seconds) : report.events;
      console.log(
        `OK: ${report.events} events in ${report.tenants} tenant log(s), ${report.checkpoints} checkpoint(s)` +
          `${report.witnessCopies ? `, ${report.witnessCopies} witness copies` : ''} verified in ${report.seconds.toFixed(2)} s (${rate} events/s).`,
      );
      for (const [tenant, ranges] of Object.entries(report.pruned ?? {})) {
        for (const r of ranges) {
          console.log(
            `note: tenant "${tenant}": ${r.count} event(s) that occurred ${r.from} … ${r.to} were pruned with partition ${r.partition} under the deletion recorded at seq ${r.recordSeq} (leaf hashes kept and verified).`,
          );
        }
      }
      for (const [tenant, n] of Object.entries(report.redacted)) {
        console.log(
          `note: tenant "${tenant}": ${n} event(s) have had their payload deleted by a recorded deletion (leaf hashes kept and verified).`,
        );
      }
      for (const [tenant, n] of Object.entries(report.unsigned)) {
        console.log(
          `note: tenant "${tenant}": the newest ${n} event(s) are not yet covered by a signed checkpoint.`,
        );
      }
    } else {
      for (const f of report.findings) {
        console.log(
          `TAMPERED: tenant "${f.tenant}"${f.seq !== undefined ? `, seq ${f.seq}` : ''}: ${f.kind}: ${f.message}`,
        );
      }
    }
    return report.ok ? 0 : 1;
  } finally {
    bar?.stop();
    await store.close();
  }
}

/** `--archive DIR`: offline, from the archive files and the public key alone (the data dir's key file as fallback). */
async function verifyArchiveCommand(
  dir: string,
  publicKey: string | undefined,
  config: Config,
  againstLog: boolean,
  json: boolean,
): Promise<number> {
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new ConfigError(`--archive: ${dir} is not a directory`);
  }
  const keyFile = path.join(config.dataDir, PUBLIC_KEY_FILE);
  if (!publicKey && !fs.existsSync(keyFile)) {
    throw new ConfigError('no public key: pass --public-key (archives are verified against the pinned key)');
  }
  const report = await verifyArchive(dir, readKey(publicKey ?? keyFile));
  if (report.archives === 0 && report.findings.length === 0 && !againstLog) {
    throw new ConfigError(`--archive: no archive manifests (*.manifest.json) under ${dir}`);
  }
  let log: ArchiveLogReport | null = null;
  if (againstLog) {
    const store = openStore(config, { readonly: true });
    try {
      await requireReadable(store);
      log = await checkArchivesAgainstLog(store, dir);
    } finally {
      await store.close();
    }
  }
  const findings = [...report.findings, ...(log?.findings ?? [])];
  const ok = findings.length === 0;
  if (json) {
    console.log(JSON.stringify({ ...report, ok, findings, ...(log ? { log } : {}) }, null, 2));
  } else if (ok) {
    console.log(
      `OK: ${report.entries} archived events in ${report.archives} archive(s) verified against the signed checkpoints${
        log ? `; all ${log.records} archive(s) named by the log's deletion records are present and match` : ''
      }.`,
    );
    for (const file of log?.unreferenced ?? []) {
      console.log(`note: ${file} is named by no deletion record (a run archived it, then deleted nothing).`);
    }
  } else {
    for (const f of findings) {
      console.log(`TAMPERED: ${f.file}${f.line !== undefined ? `:${f.line}` : ''}: ${f.message}`);
    }
  }
  return ok ? 0 : 1;
}
