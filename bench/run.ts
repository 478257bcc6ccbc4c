// `npm run bench -- <suite> [--events N]`: runs a benchmark suite and writes bench/results/<suite>-*.json.
// Benchmarks are never part of the test run; docs/PERFORMANCE.md quotes their output.
import { parseArgs } from 'node:util';
import { ingestSuite } from './ingest.ts';
import { verifySuite } from './verify.ts';

const SUITES = { ingest: ingestSuite, verify: verifySuite } as const;

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { events: { type: 'string', default: '200000' } },
});
const names = positionals.length ? positionals : Object.keys(SUITES);
for (const name of names) {
  const suite = SUITES[name as keyof typeof SUITES];
  if (!suite) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  await suite({ events: Number(values.events) });
}
