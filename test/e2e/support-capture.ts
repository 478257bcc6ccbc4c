// Support for the change-capture end-to-end tests: an application database under a concurrent write load that keeps
// its own record of what committed (the ground truth; never read from the outbox), and a check of Logbook's events.
import { canonicalJson } from '@logbook/protocol';
import pg from 'pg';
import { parseJsonExact } from '../../packages/server/src/capture/events.ts';
import { createTestDatabase, type TestDatabase } from '../../packages/server/test/support-backends.ts';
import { ADMIN_KEY, sleep } from './support-serve.ts';

/** The application's tables: a serial key, a uuid key, a composite key; accounts.secret is excluded from capture. */
export const APP_SCHEMA = `
  CREATE TABLE accounts (id bigserial PRIMARY KEY, owner text NOT NULL, balance numeric(14, 2) NOT NULL, secret text);
  CREATE TABLE orders (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), account_id bigint NOT NULL, status text NOT NULL,
    total numeric(12, 2), placed_at timestamptz NOT NULL DEFAULT now());
  CREATE TABLE line_items (order_id uuid NOT NULL, line_no int NOT NULL, sku text NOT NULL, qty int NOT NULL,
    PRIMARY KEY (order_id, line_no));`;
export const CAPTURED_TABLES = 'accounts,orders,line_items';
export const EXCLUDED_COLUMNS = 'accounts.secret';

/** One committed row change, as the application saw it. */
export interface Change {
  op: 'INSERT' | 'UPDATE' | 'DELETE';
  table: string;
  id: string;
  before?: unknown;
  after?: unknown;
  actor: string;
}

/** A captured event as read back over HTTP. */
export interface CapturedEvent {
  id: string;
  seq: number;
  action: string;
  actor: { id: string; type?: string };
  target: { type: string; id?: string };
  changes?: { before?: unknown; after?: unknown };
}

export async function createAppDatabase(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query(APP_SCHEMA);
  } finally {
    await client.end();
  }
  return database;
}

export { runCli } from './support-serve.ts';

const image = (text: string | null | undefined, table: string): unknown => {
  if (text === null || text === undefined) return undefined;
  const row = parseJsonExact(text) as Record<string, unknown>;
  if (table === 'accounts') delete row.secret;
  return row;
};

const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

/**
 * Several clients writing at once: inserts, updates and deletes across the three tables, 1–4 statements per
 * transaction, about one in five rolled back, about half naming an actor with SET LOCAL. Only transactions whose
 * COMMIT succeeded go into `committed`; a deadlock or any other failure rolls back and is not recorded.
 */
export class AppLoad {
  readonly committed: Change[] = [];
  transactions = { committed: 0, rolledBack: 0, failed: 0 };
  private stopping = false;
  private readonly accounts: string[] = [];
  private readonly orders: { id: string; lines: number }[] = [];
  private readonly lines: { order: string; line: number }[] = [];
  private running: Promise<void>[] = [];

  constructor(
    private readonly url: string,
    private readonly clients = 6,
    private readonly pauseMs = 2,
  ) {}

  start(): void {
    this.running = Array.from({ length: this.clients }, (_, n) => this.client(n));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  private async client(n: number): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: `app-load-${n}` });
    client.on('error', () => {});
    await client.connect();
    let round = 0;
    try {
      while (!this.stopping) {
        await this.transaction(client, n, round++);
        if (this.pauseMs) await new Promise((r) => setTimeout(r, this.pauseMs));
      }
    } finally {
      await client.end().catch(() => {});
    }
  }

  private async transaction(client: pg.Client, n: number, round: number): Promise<void> {
    const changes: Change[] = [];
    const added = {
      accounts: [] as string[],
      orders: [] as string[],
      lines: [] as { order: string; line: number }[],
    };
    const removed = { accounts: [] as string[], orders: [] as string[], lines: [] as string[] };
    const named = Math.random() < 0.5;
    const actor = named ? `user-${n}-${round % 7}` : 'postgres';
    const rollback = Math.random() < 0.2;
    try {
      await client.query('BEGIN');
      if (named) await client.query(`SELECT set_config('logbook.actor_id', $1, true)`, [actor]);
      const statements = 1 + Math.floor(Math.random() * 4);
      for (let s = 0; s < statements; s++) {
        const kind = Math.random();
        if (kind < 0.18 || this.accounts.length < 5) {
          const { rows } = await client.query(
            `INSERT INTO accounts (owner, balance, secret) VALUES ($1, $2, 'hunter2')
              RETURNING id::text, to_jsonb(accounts.*)::text AS row`,
            [`owner ${n}/${round}`, (Math.random() * 1000).toFixed(2)],
          );
          changes.push({
            op: 'INSERT',
            table: 'accounts',
            id: rows[0].id,
            after: image(rows[0].row, 'accounts'),
            actor,
          });
          added.accounts.push(rows[0].id);
        } else if (kind < 0.36) {
          const account = pick(this.accounts)!;
          const { rows } = await client.query(
            `INSERT INTO orders (account_id, status, total) VALUES ($1, 'new', $2) RETURNING id::text, to_jsonb(orders.*)::text AS row`,
            [account, (Math.random() * 500).toFixed(2)],
          );
          changes.push({
            op: 'INSERT',
            table: 'orders',
            id: rows[0].id,
            after: image(rows[0].row, 'orders'),
            actor,
          });
          added.orders.push(rows[0].id);
        } else if (kind < 0.52 && this.orders.length > 0) {
          const order = pick(this.orders)!;
          const line = ++order.lines + n * 100_000;
          const { rows } = await client.query(
            `INSERT INTO line_items (order_id, line_no, sku, qty) VALUES ($1, $2, $3, $4)
              ON CONFLICT DO NOTHING RETURNING to_jsonb(line_items.*)::text AS row`,
            [order.id, line, `SKU-${line % 97}`, 1 + (line % 5)],
          );
          if (rows[0]) {
            changes.push({
              op: 'INSERT',
              table: 'line_items',
              id: `${order.id},${line}`,
              after: image(rows[0].row, 'line_items'),
              actor,
            });
            added.lines.push({ order: order.id, line });
          }
        } else if (kind < 0.68) {
          const id = pick(this.accounts)!;
          const before = await client.query(
            `SELECT to_jsonb(a.*)::text AS row FROM accounts a WHERE id = $1 FOR UPDATE`,
            [id],
          );
          if (!before.rows[0]) continue;
          const { rows } = await client.query(
            `UPDATE accounts SET balance = balance + $2, secret = md5(random()::text) WHERE id = $1 RETURNING to_jsonb(accounts.*)::text AS row`,
            [id, (Math.random() * 10).toFixed(2)],
          );
          changes.push({
            op: 'UPDATE',
            table: 'accounts',
            id,
            before: image(before.rows[0].row, 'accounts'),
            after: image(rows[0].row, 'accounts'),
            actor,
          });
        } else if (kind < 0.8 && this.orders.length > 0) {
          const { id } = pick(this.orders)!;
          const before = await client.query(
            `SELECT to_jsonb(o.*)::text AS row FROM orders o WHERE id = $1 FOR UPDATE`,
            [id],
          );
          if (!before.rows[0]) continue;
          const { rows } = await client.query(
            `UPDATE orders SET status = $2, total = total + 1 WHERE id = $1 RETURNING to_jsonb(orders.*)::text AS row`,
            [id, pick(['paid', 'shipped', 'cancelled'])],
          );
          changes.push({
            op: 'UPDATE',
            table: 'orders',
            id,
            before: image(before.rows[0].row, 'orders'),
            after: image(rows[0].row, 'orders'),
            actor,
          });
        } else if (kind < 0.9 && this.lines.length > 0) {
          const line = pick(this.lines)!;
          const { rows } = await client.query(
            `DELETE FROM line_items WHERE order_id = $1 AND line_no = $2 RETURNING to_jsonb(line_items.*)::text AS row`,
            [line.order, line.line],
          );
          if (rows[0]) {
            const key = `${line.order},${line.line}`;
            changes.push({
              op: 'DELETE',
              table: 'line_items',
              id: key,
              before: image(rows[0].row, 'line_items'),
              actor,
            });
            removed.lines.push(key);
          }
        } else if (kind < 0.95 && this.orders.length > 10) {
          const { id } = pick(this.orders)!;
          const { rows } = await client.query(
            `DELETE FROM orders WHERE id = $1 RETURNING to_jsonb(orders.*)::text AS row`,
            [id],
          );
          if (rows[0]) {
            changes.push({ op: 'DELETE', table: 'orders', id, before: image(rows[0].row, 'orders'), actor });
            removed.orders.push(id);
          }
        } else if (this.accounts.length > 20) {
          const id = pick(this.accounts)!;
          const { rows } = await client.query(
            `DELETE FROM accounts WHERE id = $1 RETURNING to_jsonb(accounts.*)::text AS row`,
            [id],
          );
          if (rows[0]) {
            changes.push({
              op: 'DELETE',
              table: 'accounts',
              id,
              before: image(rows[0].row, 'accounts'),
              actor,
            });
            removed.accounts.push(id);
          }
        }
      }
      if (rollback) {
        await client.query('ROLLBACK');
        this.transactions.rolledBack++;
        return;
      }
      await client.query('COMMIT');
    } catch {
      // A deadlock between clients (or any failure) rolls the whole transaction back: nothing of it committed.
      await client.query('ROLLBACK').catch(() => {});
      this.transactions.failed++;
      return;
    }
    this.transactions.committed++;
    this.committed.push(...changes);
    this.accounts.push(...added.accounts);
    this.orders.push(...added.orders.map((id) => ({ id, lines: 0 })));
    this.lines.push(...added.lines);
    const gone = (list: string[], id: string) => list.includes(id);
    for (let i = this.accounts.length - 1; i >= 0; i--)
      if (gone(removed.accounts, this.accounts[i]!)) this.accounts.splice(i, 1);
    for (let i = this.orders.length - 1; i >= 0; i--)
      if (gone(removed.orders, this.orders[i]!.id)) this.orders.splice(i, 1);
    for (let i = this.lines.length - 1; i >= 0; i--) {
      const l = this.lines[i]!;
      if (gone(removed.lines, `${l.order},${l.line}`)) this.lines.splice(i, 1);
    }
  }
}

const keyOfChange = (c: Change) =>
  `${c.op}|${c.table}|${c.id}|${canonicalJson(c.before ?? null)}|${canonicalJson(c.after ?? null)}|${c.actor}`;
const keyOfEvent = (e: CapturedEvent) =>
  `${e.action}|${e.target.type}|${e.target.id}|${canonicalJson(e.changes?.before ?? null)}|${canonicalJson(e.changes?.after ?? null)}|${e.actor.id}`;

/**
 * Compares the captured events with the committed changes as multisets; returns what is missing, extra or
 * duplicated (empty lists when they match exactly), and breaks in each row's history: in log order, every UPDATE
 * and DELETE must start from the image the previous event of that row left.
 */
export function compareCapture(committed: Change[], events: CapturedEvent[]) {
  const expected = new Map<string, number>();
  for (const c of committed) expected.set(keyOfChange(c), (expected.get(keyOfChange(c)) ?? 0) + 1);
  const extra: string[] = [];
  for (const e of events) {
    const key = keyOfEvent(e);
    const left = expected.get(key) ?? 0;
    if (left === 0) extra.push(key);
    else expected.set(key, left - 1);
  }
  const missing = [...expected.entries()].filter(([, n]) => n > 0).map(([key]) => key);
  const ids = new Set(events.map((e) => e.id));
  const brokenChains: string[] = [];
  const last = new Map<string, CapturedEvent>();
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const row = `${e.target.type}|${e.target.id}`;
    const previous = last.get(row);
    if (e.action === 'INSERT') {
      if (previous && previous.action !== 'DELETE')
        brokenChains.push(`${row}: INSERT after ${previous.action}`);
    } else if (!previous || previous.action === 'DELETE') {
      brokenChains.push(`${row}: ${e.action} without a live row before it`);
    } else if (canonicalJson(previous.changes?.after ?? null) !== canonicalJson(e.changes?.before ?? null)) {
      brokenChains.push(`${row}: ${e.action} (seq ${e.seq}) does not start where seq ${previous.seq} ended`);
    }
    last.set(row, e);
  }
  return {
    missing: missing.slice(0, 5),
    missingCount: missing.length,
    extra: extra.slice(0, 5),
    extraCount: extra.length,
    duplicateIds: events.length - ids.size,
    brokenChains: brokenChains.slice(0, 5),
  };
}

/** Every event of a tenant whose action is a row change, over HTTP. */
export async function readCaptured(url: string, tenant: string): Promise<CapturedEvent[]> {
  const all: CapturedEvent[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({
      limit: '1000',
      order: 'asc',
      tenant,
      action: 'INSERT,UPDATE,DELETE',
      ...(cursor ? { cursor } : {}),
    });
    const res = await fetch(`${url}/api/v1/events?${query}`, { headers: { 'x-api-key': ADMIN_KEY } });
    if (res.status !== 200) throw new Error(`read-back failed: ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { data: CapturedEvent[]; nextCursor: string | null };
    all.push(...body.data);
    cursor = body.nextCursor;
  } while (cursor);
  return all;
}

/** Rows waiting in the application database's outbox (only to know when to stop waiting, never as ground truth). */
export async function outboxBacklog(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query('SELECT count(*)::int AS n FROM logbook_capture.outbox');
    return rows[0].n;
  } finally {
    await client.end();
  }
}

/** compareCapture's answer when the captured events are exactly the committed changes. */
export const EXACT_CAPTURE = {
  missing: [],
  missingCount: 0,
  extra: [],
  extraCount: 0,
  duplicateIds: 0,
  brokenChains: [],
} as const;

/**
 * Waits (at most two minutes) until Logbook holds as many captured events as changes committed and the outbox is
 * drained, then compares them with the committed changes.
 */
export async function settledCapture(
  logbookUrl: string,
  appUrl: string,
  tenant: string,
  committed: Change[],
): Promise<{ events: CapturedEvent[]; report: ReturnType<typeof compareCapture> }> {
  const deadline = Date.now() + 120_000;
  let events = await readCaptured(logbookUrl, tenant);
  while ((events.length < committed.length || (await outboxBacklog(appUrl)) > 0) && Date.now() < deadline) {
    await sleep(250);
    events = await readCaptured(logbookUrl, tenant);
  }
  return { events, report: compareCapture(committed, events) };
}
