// Export benchmark: `GET /api/v1/events/export` (NDJSON and CSV) of N events from a real `logbook serve` on SQLite,
// downloaded and counted without keeping it. Reports rows/s and the server's resident memory while exporting (sampled
// from /proc every 50 ms): before, peak, and at 10/50/90% of the rows, which is flat when memory is constant.
import http from 'node:http';
import { generateEvents } from './dataset.ts';
import { machine, rssMiB, sendAll, startLogbook, writeResults } from './lib.ts';

const BATCH = 1000;
const CONCURRENCY = 4;
const FORMATS = ['ndjson', 'csv'] as const;

interface ExportRun {
  format: string;
  rows: number;
  bytes: number;
  seconds: number;
  rowsPerSecond: number;
  rssBeforeMiB: number;
  rssPeakMiB: number;
  /** RSS when 10%, 50% and 90% of the rows had arrived. */
  rssAtMiB: Record<string, number>;
}

function download(
  url: string,
  key: string,
  expected: number,
  pid: number,
  format: string,
): Promise<ExportRun> {
  return new Promise((resolve, reject) => {
    const rssBeforeMiB = rssMiB(pid);
    let peak = rssBeforeMiB;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMiB(pid));
    }, 50);
    const started = performance.now();
    const marks = [0.1, 0.5, 0.9];
    const rssAtMiB: Record<string, number> = {};
    let newlines = 0;
    let bytes = 0;
    const req = http.get(url, { headers: { authorization: `Bearer ${key}` } }, (res) => {
      if (res.statusCode !== 200) {
        clearInterval(sampler);
        reject(new Error(`export answered ${res.statusCode}`));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) newlines += 1;
        while (marks.length > 0 && newlines >= marks[0]! * expected) {
          rssAtMiB[`${Math.round(marks.shift()! * 100)}%`] = rssMiB(pid);
        }
      });
      res.on('end', () => {
        clearInterval(sampler);
        const seconds = (performance.now() - started) / 1000;
        // CSV: a header line; neither format has newlines inside rows here (the dataset has none in its text).
        const rows = format === 'csv' ? newlines - 1 : newlines;
        resolve({
          format,
          rows,
          bytes,
          seconds: +seconds.toFixed(2),
          rowsPerSecond: Math.round(rows / seconds),
          rssBeforeMiB,
          rssPeakMiB: Math.max(peak, rssMiB(pid)),
          rssAtMiB,
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export async function exportSuite(options: { events: number }): Promise<void> {
  const n = options.events;
  const server = await startLogbook({ LOGBOOK_CHECKPOINT_INTERVAL_SECONDS: '0' });
  try {
    let ingestSeconds = 0;
    // Generated and sent in slices, so the benchmark process itself never holds a million events.
    const SLICE = 100_000;
    for (let start = 0; start < n; start += SLICE) {
      const count = Math.min(SLICE, n - start);
      const inputs = generateEvents(count, 42 + start, Date.UTC(2026, 0, 1) + start * 1000);
      const bodies: Buffer[] = [];
      for (let i = 0; i < count; i += BATCH)
        bodies.push(Buffer.from(JSON.stringify({ events: inputs.slice(i, i + BATCH) })));
      ingestSeconds += await sendAll(`${server.url}/api/v1/events`, server.key, bodies, CONCURRENCY);
    }
    console.log(
      `filled ${n} events in ${ingestSeconds.toFixed(1)} s; server RSS ${rssMiB(server.child.pid!)} MiB`,
    );
    // Only the dataset: each export records itself as an audit event (occurring now), which the next would include.
    const to = new Date().toISOString();
    const runs: ExportRun[] = [];
    for (const format of FORMATS) {
      const run = await download(
        `${server.url}/api/v1/events/export?format=${format}&to=${to}`,
        server.key,
        n,
        server.child.pid!,
        format,
      );
      if (run.rows !== n) throw new Error(`${format} export gave ${run.rows} rows, expected ${n}`);
      runs.push(run);
      console.log(
        `${format}: ${run.rows} rows, ${(run.bytes / 2 ** 20).toFixed(0)} MiB in ${run.seconds} s (${run.rowsPerSecond} rows/s); ` +
          `server RSS before ${run.rssBeforeMiB} MiB, peak ${run.rssPeakMiB} MiB, at ${JSON.stringify(run.rssAtMiB)}`,
      );
    }
    const table = [
      '| export (SQLite) | rows | MiB | s | rows/s | server RSS before → peak MiB | RSS at 10% / 50% / 90% |',
      '|---|---:|---:|---:|---:|---:|---|',
      ...runs.map(
        (r) =>
          `| ${r.format} | ${r.rows} | ${(r.bytes / 2 ** 20).toFixed(0)} | ${r.seconds} | ${r.rowsPerSecond} | ${r.rssBeforeMiB} → ${r.rssPeakMiB} | ${Object.values(r.rssAtMiB).join(' / ')} |`,
      ),
    ].join('\n');
    console.log(`\n${table}\n`);
    const file = writeResults(`export-${n}`, {
      suite: 'export',
      when: new Date().toISOString(),
      machine: machine(),
      events: n,
      ingestSeconds: +ingestSeconds.toFixed(2),
      runs,
      table,
    });
    console.log(`results: ${file}`);
  } finally {
    await server.stop();
  }
}
