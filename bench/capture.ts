// Change-capture benchmark (docs/capture.md): what the triggers cost the application's writes, and how fast captured
// row changes reach Logbook end to end, in-process (`logbook serve` with LOGBOOK_CAPTURE_SOURCE) and over HTTP
// (`logbook capture run`). Uses the PostgreSQL server of LOGBOOK_TEST_DATABASE_URL; Logbook's own store is SQLite.
import { spawn } from 'node:child_process';
import pg from 'pg';
import { installCapture } from '../packages/server/src/capture/index.ts';
import { createTestDatabase } from '../packages/server/test/support-backends.ts';
import { machine, REPO, startLogbook, writeResults } from './lib.ts';

const TABLE = `CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12, 2) NOT NULL,
  stock int NOT NULL, note text, updated_at timestamptz NOT NULL DEFAULT now())`;

/** Writes `changes` row changes (half inserts, a quarter updates, a quarter deletes) in transactions of 100 rows. */
async function writeChanges(client: pg.Client, changes: number): Promise<number> {
  const inserts = Math.floor(changes / 2);
  const updates = Math.floor(changes / 4);
  const deletes = changes - inserts - updates;
  const started = performance.now();
  for (let from = 0; from < inserts; from += 100) {
    const to = Math.min(from + 100, inserts);
    await client.query(
      `INSERT INTO items (id, name, price, stock, note)
        SELECT g, 'item ' || g, (g % 1000) / 10.0, g % 50, repeat('n', 40) FROM generate_series($1::int, $2::int) g`,
      [from, to - 1],
    );
  }
  for (let from = 0; from < updates; from += 100) {
    await client.query(`UPDATE items SET stock = stock + 1, updated_at = now() WHERE id >= $1 AND id < $2`, [
      from,
      Math.min(from + 100, updates),
    ]);
  }
  for (let from = 0; from < deletes; from += 100) {
    await client.query(`DELETE FROM items WHERE id >= $1 AND id < $2`, [
      inserts - deletes + from,
      Math.min(inserts - deletes + from + 100, inserts),
    ]);
  }
  return performance.now() - started;
}

async function backlog(client: pg.Client): Promise<number> {
  const { rows } = await client.query('SELECT count(*)::int AS n FROM logbook_capture.outbox');
  return rows[0].n;
}

/**
 * Starts a worker and times the outbox draining: from the first delivered batch (process start-up is not counted)
 * to an empty outbox. Returns the rows delivered in that window and its length.
 */
async function drain(client: pg.Client, start: () => Promise<() => Promise<void>>) {
  const total = await backlog(client);
  const stop = await start();
  let left = total;
  while (left === total) {
    await new Promise((r) => setTimeout(r, 20));
    left = await backlog(client);
  }
  const first = { at: performance.now(), left };
  while (left > 0) {
    await new Promise((r) => setTimeout(r, 20));
    left = await backlog(client);
  }
  const ms = performance.now() - first.at;
  await stop();
  return { rows: first.left, ms, eventsPerSecond: Math.round((first.left / ms) * 1000) };
}

export async function captureSuite(options: { events: number }): Promise<void> {
  const changes = options.events;
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    // 1. What the triggers cost the application: the same writes without and with capture.
    await client.query(TABLE);
    const plainMs = await writeChanges(client, changes);
    await client.query('DROP TABLE items');
    await client.query(TABLE);
    await installCapture(client, { tables: ['items'] });
    const capturedMs = await writeChanges(client, changes);
    const total = await backlog(client);

    // 2. In-process: `logbook serve` starts with the outbox full and delivers it.
    const inProcess = await drain(client, async () => {
      const server = await startLogbook({
        LOGBOOK_CAPTURE_SOURCE: database.url,
        LOGBOOK_CAPTURE_POLL_MS: '50',
      });
      return () => server.stop();
    });

    // 3. HTTP: a running `logbook serve`, then `logbook capture run --once` drains the outbox through the SDK.
    await client.query('TRUNCATE items');
    await client.query('TRUNCATE logbook_capture.outbox');
    await writeChanges(client, changes);
    const server = await startLogbook();
    const http = await drain(client, async () => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'packages/cli/src/main.ts',
          'capture',
          'run',
          '--source',
          database.url,
          '--url',
          server.url,
          '--key',
          server.key,
          '--once',
        ],
        { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const exited = new Promise((resolve) => child.once('exit', resolve));
      return async () => {
        await exited;
      };
    });
    await server.stop();

    const rate = (ms: number) => Math.round((total / ms) * 1000);
    const result = {
      suite: 'capture',
      machine: machine(),
      changes: total,
      applicationWrites: {
        withoutCaptureMs: Math.round(plainMs),
        withCaptureMs: Math.round(capturedMs),
        rowChangesPerSecondWithout: rate(plainMs),
        rowChangesPerSecondWith: rate(capturedMs),
      },
      // Timed from the first delivered batch to an empty outbox (the first batch itself is not in the window).
      endToEnd: { inProcess, http },
    };
    const file = writeResults(`capture-${total}`, result);
    console.log(JSON.stringify(result, null, 2));
    console.log(`wrote ${file}`);
  } finally {
    await client.end();
    await database.drop();
  }
}
