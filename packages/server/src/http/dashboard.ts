// The dashboard: serves the built web app (packages/web/dist) at `/` with its own CSP, and index.html for any other
// browser navigation that is not an API path (the app routes on the client). It never serves data and never
// answers for an API path: those keep their catalog 404.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** Where `npm install` (root postinstall → `vite build`) puts the dashboard. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../web/dist', import.meta.url));

/** Paths owned by the API, docs and compatibility surfaces: never answered with the dashboard's page. */
export const API_PREFIXES = [
  '/api/',
  '/v1/',
  '/docs',
  '/openapi.json',
  '/health',
  '/ready',
  '/metrics',
  '/logs',
] as const;

/**
 * The dashboard's policy: its own scripts, styles and API calls only (no inline script, no third party). The API
 * keeps its `default-src 'none'`.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Logbook</title>
<body style="font-family:system-ui;max-width:40rem;margin:4rem auto;line-height:1.5">
<h1>The Logbook dashboard is not built</h1>
<p>The API is running (see <a href="/docs">/docs</a>). To build the dashboard, run <code>npm install</code>
(it builds it) or <code>npm run build:web</code> in the Logbook folder, then reload this page.</p></body></html>`;

export interface DashboardOptions {
  /** The built app's folder (index.html + assets/); default packages/web/dist. */
  dir?: string;
}

function isApiPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return API_PREFIXES.some((prefix) => path === prefix.replace(/\/$/, '') || path.startsWith(prefix));
}

export async function registerDashboard(app: FastifyInstance, options: DashboardOptions = {}): Promise<void> {
  const dir = options.dir ?? DEFAULT_DASHBOARD_DIR;
  const indexPath = `${dir}/index.html`;
  // Read per request while missing (a build may land while the server runs), cached once present.
  let indexHtml: string | null = null;
  const page = (): string | null => {
    if (indexHtml === null && existsSync(indexPath)) indexHtml = readFileSync(indexPath, 'utf8');
    return indexHtml;
  };

  // Only the reply.sendFile decorator: the routes are declared here, each with its scope.
  await app.register(fastifyStatic, { root: dir, serve: false, wildcard: false });

  // Only the page gets the dashboard's policy: an API 404 answered through this route keeps the API's.
  const pageHeaders = async (_request: FastifyRequest, reply: FastifyReply) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', DASHBOARD_CSP);
    }
  };

  const sendPage = (reply: FastifyReply) => {
    const html = page();
    return reply
      .status(html === null ? 503 : 200)
      .type('text/html; charset=utf-8')
      .send(html ?? NOT_BUILT);
  };

  app.get(
    '/',
    { config: { scope: 'public' }, schema: { hide: true }, onSend: pageHeaders },
    async (_request, reply) => sendPage(reply),
  );

  // Vite's output names carry a content hash: safe to cache for good.
  app.get<{ Params: { '*': string } }>(
    '/assets/*',
    {
      config: { scope: 'public' },
      schema: { hide: true },
      onSend: async (_request, reply) => {
        if (reply.statusCode === 200) reply.header('cache-control', 'public, max-age=31536000, immutable');
      },
    },
    async (request, reply) => {
      const file = request.params['*'];
      if (!/^[A-Za-z0-9._-]+$/.test(file) || !existsSync(`${dir}/assets/${file}`))
        return reply.callNotFound();
      return reply.sendFile(`assets/${file}`, { cacheControl: false });
    },
  );

  // The client-side routes (/events, /stats, …): a browser navigation gets the app, anything else the API's 404.
  app.get(
    '/*',
    { config: { scope: 'public' }, schema: { hide: true }, onSend: pageHeaders },
    async (request, reply) => {
      const wantsHtml = (request.headers.accept ?? '').includes('text/html');
      if (!wantsHtml || isApiPath(request.url)) return reply.callNotFound();
      return sendPage(reply);
    },
  );
}
