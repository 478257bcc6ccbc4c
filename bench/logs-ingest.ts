// System-log ingest benchmark (`npm run bench -- logs [--backend sqlite|postgres] [--events N]`): NDJSON, JSON arrays
// and OTLP/JSON into a real `logbook serve`, next to audit-event ingest of the same count in the same run (the issue's
// goal: logs at least twice the audit-event rate, since they skip the Merkle work). Results: bench/results/logs-*.json.
import path from 'node:path';
import { generateEvents, rng } from './dataset.ts';
import { freshDatabase, serverUrl } from './ingest-postgres.ts';
import { machine, sendAll, startLogbook, writeResults } from './lib.ts';

const SERVICES = Array.from({ length: 20 }, (_, i) => `service-${i}`);
const LEVELS = ['DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'WARN', 'ERROR', 'FATAL'] as const;
const WORDS = [
  'request',
  'served',
  'cache',
  'miss',
  'timeout',
  'retry',
  'user',
  'order',
  'payment',
  'declined',
  'connection',
  'reset',
  'slow',
  'query',
  'job',
  'finished',
  'started',
  'queue',
  'full',
  'upstream',
];

interface LogInput {
  timestamp: string;
  level: string;
  service: string;
  message: string;
  details: Record<string, unknown>;
  traceId?: string;
  host: string;
}

/** Seeded system-log entries of ~300 B, timestamps spread over the last `spanMs` (so they land in live partitions). */
export function generateLogs(count: number, seed = 7, spanMs = 6 * 3_600_000): LogInput[] {
  const random = rng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const end = Date.now();
  return Array.from({ length: count }, (_, i) => ({
    timestamp: new Date(end - spanMs + Math.floor((i / count) * spanMs)).toISOString(),
    level: pick(LEVELS),
    service: pick(SERVICES),
    message: `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)} id=${Math.floor(random() * 1e6)} took ${Math.floor(random() * 2000)}ms`,
    details: {
      requestId: hex(16),
      user: `user-${Math.floor(random() * 10_000)}`,
      path: `/api/${pick(WORDS)}`,
      status: 200,
    },
    ...(random() < 0.5 ? { traceId: hex(32) } : {}),
    host: `node-${Math.floor(random() * 8)}`,
  }));
}

const attr = (key: string, value: unknown) => ({
  key,
  value: typeof value === 'number' ? { intValue: String(value) } : { stringValue: String(value) },
});
const SEVERITY: Record<string, number> = { DEBUG: 5, INFO: 9, WARN: 13, ERROR: 17, FATAL: 21 };

/** An OTLP/JSON ExportLogsServiceRequest as an exporter sends it: one resource per service. */
function otlpRequest(entries: LogInput[]): unknown {
  const byService = new Map<string, LogInput[]>();
  for (const e of entries) byService.set(e.service, [...(byService.get(e.service) ?? []), e]);
  return {
    resourceLogs: [...byService].map(([service, list]) => ({
      resource: { attributes: [attr('service.name', service), attr('host.name', list[0]!.host)] },
      scopeLogs: [
        {
          scope: { name: 'bench' },
          logRecords: list.map((e) => ({
            timeUnixNano: `${Date.parse(e.timestamp)}000000`,
            severityNumber: SEVERITY[e.level],
            severityText: e.level,
            body: { stringValue: e.message },
            attributes: Object.entries(e.details).map(([k, v]) => attr(k, v)),
            ...(e.traceId ? { traceId: e.traceId } : {}),
          })),
        },
      ],
    })),
  };
}

interface Scenario {
  name: string;
  path: string;
  contentType: string;
  batch: number;
  concurrency: number;
  bodies(entries: LogInput[]): Buffer[];
}

const chunks = <T>(list: T[], size: number): T[][] =>
  Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size));

export async function logsIngestSuite(options: {
  events: number;
  backend: 'sqlite' | 'postgres';
}): Promise<void> {
  const n = options.events;
  const logs = generateLogs(n);
  const scenarios: Scenario[] = [
    {
      name: 'NDJSON, 5000 lines/request, 4 clients',
      path: '/api/v1/logs',
      contentType: 'application/x-ndjson',
      batch: 5000,
      concurrency: 4,
      bodies: (e) =>
        chunks(e, 5000).map((c) => Buffer.from(`${c.map((x) => JSON.stringify(x)).join('\n')}\n`)),
    },
    {
      name: 'JSON array, 1000/request, 4 clients',
      path: '/api/v1/logs',
      contentType: 'application/json',
      batch: 1000,
      concurrency: 4,
      bodies: (e) => chunks(e, 1000).map((c) => Buffer.from(JSON.stringify(c))),
    },
    {
      name: 'OTLP/JSON, 1000 records/export, 4 clients',
      path: '/v1/logs',
      contentType: 'application/json',
      batch: 1000,
      concurrency: 4,
      bodies: (e) => chunks(e, 1000).map((c) => Buffer.from(JSON.stringify(otlpRequest(c)))),
    },
  ];
  const start = async () => {
    if (options.backend === 'sqlite') return { server: await startLogbook(), drop: async () => {} };
    const database = await freshDatabase(serverUrl());
    return {
      server: await startLogbook({ LOGBOOK_DATABASE_URL: database.url }),
      drop: () => database.drop(),
    };
  };
  const measure = async (
    path: string,
    bodies: Buffer[],
    concurrency: number,
    contentType: string,
    status: number,
  ) => {
    const { server, drop } = await start();
    try {
      const seconds = await sendAll(
        `${server.url}${path}`,
        server.key,
        bodies,
        concurrency,
        status,
        contentType,
      );
      return { rate: n / seconds, seconds, rss: server.peakRssMiB() };
    } finally {
      await server.stop();
      await drop();
    }
  };

  const results: Record<string, unknown>[] = [];
  for (const s of scenarios) {
    const r = await measure(
      s.path,
      s.bodies(logs),
      s.concurrency,
      s.contentType,
      s.path === '/v1/logs' ? 200 : 201,
    );
    results.push({
      scenario: s.name,
      eventsPerSecond: Math.round(r.rate),
      seconds: +r.seconds.toFixed(2),
      peakRssMiB: r.rss,
    });
    console.log(`${options.backend} ${s.name}: ${Math.round(r.rate)} entries/s (peak RSS ${r.rss} MiB)`);
  }
  // The audit-event baseline: same count, same machine, same run, the events API's best batch shape.
  const events = generateEvents(n, 42, Date.now() - 6 * 3_600_000);
  const audit = await measure(
    '/api/v1/events',
    chunks(events, 1000).map((c) => Buffer.from(JSON.stringify({ events: c }))),
    4,
    'application/json',
    201,
  );
  console.log(`${options.backend} audit events, 1000/request, 4 clients: ${Math.round(audit.rate)} events/s`);
  const table = [
    `| ${options.backend}, ${n} entries | entries/s | × audit-event rate |`,
    '|---|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.scenario} | ${r.eventsPerSecond} | ${((r.eventsPerSecond as number) / audit.rate).toFixed(1)} |`,
    ),
    `| audit events (baseline), 1000/request, 4 clients | ${Math.round(audit.rate)} | 1.0 |`,
  ].join('\n');
  console.log(`\n${table}\n`);
  const file = writeResults(`logs-${options.backend}-${n}`, {
    suite: 'logs',
    backend: options.backend,
    when: new Date().toISOString(),
    machine: machine(),
    entries: n,
    results,
    auditEventsPerSecond: Math.round(audit.rate),
    table,
  });
  console.log(`results written to ${path.relative(process.cwd(), file)}`);
}
