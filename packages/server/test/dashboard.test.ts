// The dashboard's static serving (http/dashboard.ts): the page and its assets with the dashboard's CSP, browser
// navigations to client routes get the page, and nothing it adds changes an API answer. No store is involved
// (these routes read files only), so one backend is enough; test/browser drives the app itself in Chromium.
import fs from 'node:fs';
import path from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_CSP, DEFAULT_DASHBOARD_DIR, registerDashboard } from '../src/http/dashboard.ts';
import { makeTestApp, type TestApp, tempDir } from './helpers.ts';

const html = { accept: 'text/html,application/xhtml+xml' };

describe('dashboard serving', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await makeTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the built page at / and for client routes, with the dashboard CSP', async () => {
    expect(fs.existsSync(path.join(DEFAULT_DASHBOARD_DIR, 'index.html')), 'run npm run build:web').toBe(true);
    for (const url of ['/', '/events?actor=alice', '/system-logs', '/admin?tab=keys']) {
      const res = await t.app.inject({ method: 'GET', url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toBe(DASHBOARD_CSP);
      expect(res.body).toContain('<div id="root"></div>');
    }
  });

  it('serves hashed assets cacheably, and refuses anything outside assets/', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/', headers: html });
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    expect(script).toBeDefined();
    const asset = await t.app.inject({ method: 'GET', url: script! });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    for (const url of [
      '/assets/nope.js',
      '/assets/..%2Findex.html',
      '/assets/../../package.json',
      '/assets/a/b.js',
    ]) {
      const res = await t.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('ROUTE_NOT_FOUND');
    }
  });

  it('leaves API paths and non-browser requests to the API 404, with the API CSP', async () => {
    for (const [url, headers] of [
      ['/api/v1/nothing-here', html],
      ['/somewhere', { accept: 'application/json' }],
      ['/somewhere', {}],
    ] as const) {
      const res = await t.app.inject({ method: 'GET', url, headers });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('ROUTE_NOT_FOUND');
      expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    // A POST to a client route is not a navigation: the API answers.
    const post = await t.app.inject({ method: 'POST', url: '/events', headers: html });
    expect(post.statusCode).toBe(404);
  });

  it('says how to build it when the build is missing', async () => {
    const app = Fastify();
    await registerDashboard(app, { dir: path.join(tempDir(), 'no-dist') });
    const res = await app.inject({ method: 'GET', url: '/', headers: html });
    expect(res.statusCode).toBe(503);
    expect(res.body).toContain('npm run build:web');
    await app.close();
  });
});
