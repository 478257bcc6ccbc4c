// The dashboard end to end: a real `logbook serve` (as the README starts it) over a fresh SQLite data dir, seeded
// through the API, driven with playwright-core in Debian's Chromium (never a downloaded browser). Each test saves a
// screenshot in test/browser/screenshots/. It must never mock the server or reach into the page's code.
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, hashLeaf, utf8Encode } from '@logbook/protocol';
import Database from 'better-sqlite3';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, REPO_ROOT, type ServeProcess, Storage } from '../e2e/support-serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.join(REPO_ROOT, 'test/browser/screenshots');
const BULK = 20_000;
const USER = { username: 'dana', password: 'dana-password-123' };

let storage: Storage;
let server: ServeProcess;
let url: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;

async function api(method: string, route: string, body?: unknown, key = ADMIN_KEY): Promise<unknown> {
  const res = await fetch(`${url}${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route} → ${res.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

/** Signs in with the admin API key on a fresh page (sessionStorage is per tab). */
async function signInWithKey(target = '/events'): Promise<void> {
  await page.goto(`${url}${target}`);
  await page.getByRole('tab', { name: 'API key' }).click();
  await page.getByLabel('API key').fill(ADMIN_KEY);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Waits until the events page says it holds exactly `n` matching events. */
async function eventCount(n: number): Promise<void> {
  const text = `${n.toLocaleString('en-US')} event${n === 1 ? '' : 's'}`;
  await page
    .getByTestId('event-count')
    .filter({ hasText: new RegExp(`^${text}\\b`) })
    .waitFor();
}

const rowsIn = (label: string) => page.getByRole('grid', { name: label }).locator('.body [role="row"]');

const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium && process.env.CI) throw new Error(`${CHROMIUM} is missing: apt-get install chromium`);

describe.skipIf(!hasChromium)('dashboard (Chromium)', () => {
  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    if (!fs.existsSync(path.join(REPO_ROOT, 'packages/web/dist/index.html'))) {
      throw new Error('The dashboard is not built: run `npm run build:web` (npm install does it).');
    }
    storage = await Storage.create('sqlite');
    server = await storage.start();
    url = server.url;
    const start = Date.now() - 6 * 24 * 3600_000;
    const actors = ['alice', 'bob', 'carol', 'svc-billing'];
    const actions = ['user.login', 'invoice.update', 'record.read', 'settings.change'];
    for (let chunk = 0; chunk < BULK; chunk += 10_000) {
      const events = Array.from({ length: 10_000 }, (_, j) => {
        const i = chunk + j;
        return {
          action: actions[i % actions.length],
          actor: { id: actors[i % actors.length], type: 'user' },
          target: { type: 'record', id: `R-${i % 500}` },
          occurredAt: new Date(start + i * 20_000).toISOString(),
          description: `bulk event number ${i}`,
        };
      });
      await api('POST', '/api/v1/events', { events });
    }
    // One record's history, most recent last: the diff and target-history tests look at it.
    await api('POST', '/api/v1/events', {
      events: [
        {
          action: 'invoice.create',
          actor: { id: 'erin', name: 'Erin Example', type: 'user' },
          target: { type: 'invoice', id: 'INV-42', name: 'Invoice 42' },
          changes: { after: { status: 'draft', amount: 100 } },
          description: 'Erin created invoice 42',
        },
        {
          action: 'invoice.update',
          actor: { id: 'erin', name: 'Erin Example', type: 'user' },
          target: { type: 'invoice', id: 'INV-42', name: 'Invoice 42' },
          changes: { before: { status: 'draft', amount: 100 }, after: { status: 'draft', amount: 120 } },
          description: 'Erin raised the amount',
        },
        {
          action: 'invoice.pay',
          actor: { id: 'frank', name: 'Frank Payer', type: 'user' },
          target: { type: 'invoice', id: 'INV-42', name: 'Invoice 42' },
          changes: { before: { status: 'draft', amount: 120 }, after: { status: 'paid', amount: 120 } },
          description: 'Frank marked invoice 42 paid with zebracorn transfer',
        },
      ],
    });
    await api('POST', '/api/v1/logs', {
      logs: [
        { level: 'INFO', service: 'checkout', message: 'cart opened' },
        { level: 'ERROR', service: 'payments', message: 'card declined by issuer' },
      ],
    });
    await api('POST', '/api/v1/users', { ...USER, role: 'admin' });
    // A signed checkpoint covering everything so far (also made periodically by the server).
    await api('POST', '/api/v1/integrity/checkpoint', {});

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  // A fresh browser context per test: nothing (session, pinned key, theme) leaks from one to the next.
  async function freshPage(): Promise<void> {
    await context?.close();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, locale: 'en-US' });
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  }

  it('serves the app at / with its own CSP, while API paths keep their JSON 404', async () => {
    const root = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
    expect(root.status).toBe(200);
    expect(root.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await root.text()).toContain('<div id="root">');
    const deep = await fetch(`${url}/events?actor=alice`, { headers: { accept: 'text/html' } });
    expect(deep.status).toBe(200);
    const api404 = await fetch(`${url}/api/v1/nothing-here`, { headers: { accept: 'text/html' } });
    expect(api404.status).toBe(404);
    expect((await api404.json()).error.code).toBe('ROUTE_NOT_FOUND');
    const events = await fetch(`${url}/api/v1/events?limit=1`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(events.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('signs in with a user, shows who, signs out; a wrong password says so', async () => {
    await freshPage();
    await page.goto(`${url}/`);
    await page.getByLabel('Username').fill(USER.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Wrong username or password');
    await page.getByLabel('Password').fill(USER.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByTestId('who').textContent()).resolves.toBe(`Signed in as ${USER.username}`);
    await rowsIn('Audit events').first().waitFor();
    await shot('signed-in-user');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByTestId('signin-notice').textContent()).resolves.toContain('You signed out');
    // The token is gone from the tab: a reload stays signed out.
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem('logbook.session'))).toBeNull();
  });

  it('a revoked key or expired token sends the user back to sign-in with the reason', async () => {
    await freshPage();
    const created = (await api('POST', '/api/v1/keys', { name: 'short-lived', scopes: ['audit:read'] })) as {
      id: string;
      key: string;
    };
    await page.goto(`${url}/events`);
    await page.getByRole('tab', { name: 'API key' }).click();
    await page.getByLabel('API key').fill(created.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await rowsIn('Audit events').first().waitFor();
    await api('DELETE', `/api/v1/keys/${created.id}`);
    await page.getByRole('link', { name: 'Stats' }).click();
    await expect(page.getByTestId('signin-notice').textContent()).resolves.toContain('Sign in again');
    await shot('session-ended');
  });

  it('shows tens of thousands of events in a virtualised table that loads more as it scrolls', async () => {
    await freshPage();
    await signInWithKey();
    // The bulk, the invoice's history, and Logbook's own audit events (user and key changes made so far).
    const counted = page.getByTestId('event-count').filter({ hasText: /^\d{2},\d{3} events/ });
    await counted.waitFor();
    const total = Number((await counted.textContent())?.split(' ')[0]?.replaceAll(',', ''));
    expect(total).toBeGreaterThanOrEqual(BULK + 3);
    const body = page.getByTestId('table-body');
    const before = await rowsIn('Audit events').count();
    expect(before).toBeGreaterThan(10);
    expect(before).toBeLessThan(120); // only what is in view (plus overscan) is in the DOM
    const started = Date.now();
    for (let i = 0; i < 6; i++) {
      await body.evaluate((el) => {
        el.scrollTop = el.scrollHeight;
      });
      await page.waitForTimeout(150);
    }
    await page.getByText(/\(2,000 loaded|\(2,500 loaded|\(3,000 loaded|\(3,500 loaded/).waitFor();
    const scrolledMs = Date.now() - started;
    expect(await rowsIn('Audit events').count()).toBeLessThan(120);
    expect(scrolledMs).toBeLessThan(10_000);
    // The keyboard opens a row: focus one, arrow down, Enter.
    await rowsIn('Audit events').first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByTestId('event-detail').waitFor();
    await shot('events-scrolled');
  });

  it('filters by actor and by text: the URL holds them and the rows follow', async () => {
    await freshPage();
    await signInWithKey();
    await page.getByLabel('Actor id').fill('bob');
    await page.getByLabel('Actor id').press('Enter');
    await page.waitForURL(/actor=bob/);
    await eventCount(BULK / 4);
    const actors = await rowsIn('Audit events').locator('[role="gridcell"]:nth-child(3)').allTextContents();
    expect(actors.length).toBeGreaterThan(5);
    expect(new Set(actors)).toEqual(new Set(['bob']));

    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('Search text').fill('zebracorn');
    await page.getByLabel('Search text').press('Enter');
    await page.waitForURL(/q=zebracorn/);
    await eventCount(1);
    await expect(rowsIn('Audit events').first().textContent()).resolves.toContain('invoice.pay');
    await shot('filtered-by-text');

    // The URL is the view: opening it in a new tab (after sign-in) shows the same filter.
    const shared = page.url();
    await freshPage();
    await signInWithKey(new URL(shared).pathname + new URL(shared).search);
    await eventCount(1);
    expect(await page.getByLabel('Search text').inputValue()).toBe('zebracorn');
  });

  it('opens a detail with a readable diff, then follows the target history and the actor trail', async () => {
    await freshPage();
    await signInWithKey('/events?q=zebracorn');
    await rowsIn('Audit events').first().click();
    const detail = page.getByTestId('event-detail');
    await detail.waitFor();
    await expect(detail.getByText('1 field changed: status').isVisible()).resolves.toBe(true);
    const status = detail.locator('tr[data-field="status"]');
    expect(await status.locator('td.before').textContent()).toBe('draft');
    expect(await status.locator('td.after').textContent()).toBe('paid');
    expect(await detail.locator('tr[data-field="amount"]').getAttribute('class')).toBe('same');
    await shot('event-diff');

    await detail.getByRole('button', { name: /invoice INV-42/ }).click();
    await page.waitForURL(/targetType=invoice&targetId=INV-42/);
    await expect(page.getByTestId('list-heading').textContent()).resolves.toBe('History of invoice INV-42');
    await eventCount(3);
    const actions = await rowsIn('Audit events').locator('[role="gridcell"]:nth-child(2)').allTextContents();
    expect(actions).toEqual(['invoice.pay', 'invoice.update', 'invoice.create']);
    await shot('target-history');

    await page.getByTestId('event-detail').getByRole('button', { name: 'frank' }).click();
    await page.waitForURL(/actor=frank/);
    await expect(page.getByTestId('list-heading').textContent()).resolves.toBe('Trail of actor frank');
    await eventCount(1);
  });

  it('shows new events live as they are written', async () => {
    await freshPage();
    await signInWithKey('/events?actor=live-writer');
    await page.getByText('No event matches these filters.').waitFor();
    await page.getByLabel('Live').check();
    await page.locator('.toolbar .ok').waitFor(); // connected
    await page.waitForTimeout(300);
    await api('POST', '/api/v1/events', {
      events: [{ action: 'door.open', actor: { id: 'live-writer' }, description: 'arrived while watching' }],
    });
    await rowsIn('Audit events').filter({ hasText: 'arrived while watching' }).waitFor();
    await shot('events-live');
  });

  it('renders stats: totals, the chart, by action, top actors', async () => {
    await freshPage();
    await signInWithKey('/stats');
    await page.getByTestId('stats').waitFor();
    expect(
      Number((await page.getByTestId('stat-total').textContent())?.replaceAll(',', '')),
    ).toBeGreaterThanOrEqual(BULK + 3);
    expect(await page.locator('svg.chart rect').count()).toBeGreaterThan(10);
    await page.getByRole('table', { name: 'By action' }).getByText('invoice.update').waitFor();
    await shot('stats');
    await page.getByRole('table', { name: 'Top actors' }).getByRole('button', { name: 'alice' }).click();
    await page.waitForURL(/\/events\?actor=alice/);
  });

  it('system logs: level colours, a service filter, and a live tail that receives a new entry', async () => {
    await freshPage();
    await signInWithKey('/system-logs');
    const error = rowsIn('System logs').filter({ hasText: 'card declined' });
    await error.waitFor();
    expect(await error.locator('.lv-ERROR').count()).toBe(1);
    await page.getByLabel('Services (comma-separated)').fill('checkout');
    await page.getByLabel('Services (comma-separated)').press('Enter');
    await page.waitForURL(/service=checkout/);
    // The unfiltered rows may still be on screen when the URL changes (they include 'cart opened' too): wait for the
    // filtered list itself rather than for the first matching row.
    await expect.poll(() => rowsIn('System logs').count(), { timeout: 15_000 }).toBe(1);
    await rowsIn('System logs').filter({ hasText: 'cart opened' }).waitFor();
    expect(await rowsIn('System logs').filter({ hasText: 'card declined' }).count()).toBe(0);

    await page.getByTestId('live-tail').check();
    await page.getByText('● streaming').waitFor();
    await page.waitForTimeout(300);
    await api('POST', '/api/v1/logs', {
      logs: [
        { level: 'WARN', service: 'checkout', message: 'stock low for sku 7' },
        { level: 'INFO', service: 'elsewhere', message: 'filtered out' },
      ],
    });
    await rowsIn('System logs').filter({ hasText: 'stock low for sku 7' }).waitFor();
    expect(await rowsIn('System logs').filter({ hasText: 'filtered out' }).count()).toBe(0);
    await shot('logs-live');
  });

  it('verifies an event in the browser against the pinned key, and says so when it was tampered with', async () => {
    await freshPage();
    await signInWithKey('/events?q=zebracorn');
    await rowsIn('Audit events').first().click();
    await page.getByRole('button', { name: 'Verify this event' }).click();
    const result = page.getByTestId('verify-result');
    await expect(result.textContent()).resolves.toMatch(/✔ Verified.*is in the signed log/);
    await shot('verify-ok');

    await page.getByRole('link', { name: 'Integrity' }).click();
    await expect(page.getByTestId('checkpoint-status').textContent()).resolves.toContain(
      'signature verifies',
    );
    expect(await page.getByTestId('fingerprint').textContent()).toMatch(/^([0-9a-f]{4} ){7}[0-9a-f]{4}$/);
    await shot('integrity');

    // An attacker with the database rewrites the paid invoice to unpaid, recomputing its leaf hash.
    const db = new Database(path.join(storage.dataDir, 'logbook.db'));
    try {
      const row = db.prepare("SELECT tenant, seq, body FROM events WHERE action = 'invoice.pay'").get() as {
        tenant: string;
        seq: number;
        body: string;
      };
      const body = JSON.parse(row.body);
      body.changes.after.status = 'unpaid';
      const text = canonicalJson(body);
      db.prepare('UPDATE events SET body = ?, leaf_hash = ? WHERE tenant = ? AND seq = ?').run(
        text,
        Buffer.from(hashLeaf(utf8Encode(text))),
        row.tenant,
        row.seq,
      );
    } finally {
      db.close();
    }
    await page.goto(`${url}/events?q=zebracorn`);
    await rowsIn('Audit events').first().click();
    await page
      .getByTestId('event-detail')
      .locator('tr[data-field="status"] td.after', { hasText: 'unpaid' })
      .waitFor();
    await page.getByRole('button', { name: 'Verify this event' }).click();
    await expect(result.textContent()).resolves.toMatch(/✘ Not verified/);
    await shot('verify-tampered');
  });

  it('admin: creates a key whose secret is shown once, revokes it, and changes the retention policy', async () => {
    await freshPage();
    await signInWithKey('/admin?tab=keys');
    await page.getByLabel('Key name').fill('ci-uploader');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key-secret').textContent()) ?? '';
    expect(secret.length).toBeGreaterThan(20);
    const row = page.locator('tr[data-key-name="ci-uploader"]');
    await row.waitFor();
    // The secret works, and is not in the list.
    const write = await fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'ci.upload', actor: { id: 'ci' } }),
    });
    expect(write.status).toBe(201);
    expect(await page.getByTestId('keys-table').textContent()).not.toContain(secret);
    await shot('key-created');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.reload();
    await row.waitFor();
    expect(await page.getByTestId('new-key-secret').count()).toBe(0);

    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Confirm revoke' }).click();
    await row.getByText(/revoked/).waitFor();
    const after = await fetch(`${url}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'ci.upload', actor: { id: 'ci' } }),
    });
    expect(after.status).toBe(401);

    await page.getByRole('tab', { name: 'Retention' }).click();
    await page.getByTestId('retention-current').waitFor();
    await page.getByLabel('Days to keep').fill('90');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('retention-current').filter({ hasText: 'older than 90 days' }).waitFor();
    const policy = (await api('GET', '/api/v1/activity-logs/retention')) as { data: { days: number } };
    expect(policy.data.days).toBe(90);
    await shot('retention');
  });

  it('switches between light and dark, and remembers the choice', async () => {
    await freshPage();
    await page.emulateMedia({ colorScheme: 'light' });
    await signInWithKey();
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await background();
    await page.getByTestId('theme-toggle').click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    const dark = await background();
    expect(dark).not.toBe(light);
    await shot('dark');
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await background()).toBe(dark);
  });
});
