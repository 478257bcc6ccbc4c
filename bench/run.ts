// `npm run bench -- <suite> [--events N] [--backend sqlite|postgres] [--minutes M (soak)]`: runs a benchmark suite and writes
// bench/results/<suite>-*.json. `--backend postgres` (ingest) uses the server in LOGBOOK_DATABASE_URL.
// Benchmarks are never part of the test run; docs/PERFORMANCE.md quotes their output.
import { parseArgs } from 'node:util';
import { captureSuite } from './capture.ts';
import { componentsSuite } from './components.ts';
import { exportSuite } from './export.ts';
import { ingestSuite } from './ingest.ts';
import { logsIngestSuite } from './logs-ingest.ts';
import { querySuite } from './query.ts';
import { soakSuite } from './soak.ts';
import { verifySuite } from './verify.ts';

const SUITES = {
  ingest: ingestSuite,
  components: componentsSuite,
  verify: verifySuite,
  logs: logsIngestSuite,
  soak: soakSuite,
  export: exportSuite,
  capture: captureSuite,
  query: querySuite,
} as const;
/**
 * Suites run only when named: the soak takes `--minutes` (default 10); capture needs a PostgreSQL server; query loads
 * its dataset over HTTP first (10M events take hours), which LOGBOOK_BENCH_DATA_DIR keeps for later runs.
 */
const ON_REQUEST = ['soak', 'export', 'capture', 'query'];

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    events: { type: 'string', default: '200000' },
    backend: { type: 'string', default: 'sqlite' },
    minutes: { type: 'string', default: '10' },
  },
});
const names = positionals.length ? positionals : Object.keys(SUITES).filter((n) => !ON_REQUEST.includes(n));
for (const name of names) {
  const suite = SUITES[name as keyof typeof SUITES];
  if (!suite) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  if (values.backend !== 'sqlite' && values.backend !== 'postgres') {
    console.error(`unknown backend "${values.backend}"; backends: sqlite, postgres`);
    process.exit(2);
  }
  await suite({ events: Number(values.events), backend: values.backend, minutes: Number(values.minutes) });
}
