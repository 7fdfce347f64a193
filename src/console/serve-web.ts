import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** Where `npm run build:console` (Vite) writes the single-page app. */
export const CONSOLE_BUILD_DIR = fileURLToPath(new URL('../../dist/console/', import.meta.url));

/**
 * Strict CSP: only the platform's own bundled scripts and styles, no inline script, no eval, no framing, no
 * plugin content; API calls to the same origin only. React sets element styles through the CSSOM, which CSP
 * does not govern, so no 'unsafe-inline' is needed for styles either.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The security headers of every console response (the SPA and its assets). */
export function setConsoleHeaders(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .header('cross-origin-resource-policy', 'same-origin')
    .header('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
}

interface Asset {
  body: Buffer;
  type: string;
}

function readBuild(dir: string): { index: Buffer; assets: Map<string, Asset> } | undefined {
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) return undefined;
  const assets = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const name of readdirSync(join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = join(dir, rel);
      if (statSync(full).isDirectory()) walk(rel);
      else
        assets.set(rel, {
          body: readFileSync(full),
          type: TYPES[extname(name)] ?? 'application/octet-stream',
        });
    }
  };
  walk('');
  return { index: readFileSync(indexFile), assets };
}

/**
 * Serves the built console at /console/: hashed assets cached for a year, every other path the app's
 * index.html (client-side routes), never cached. Files are read once at start (the build is a few hundred KiB).
 * `/console/auth/…` and `/console/api/…` are the console's server routes, registered elsewhere.
 */
export function registerConsoleWeb(app: FastifyInstance, options: { dir?: string } = {}): void {
  const build = readBuild(options.dir ?? CONSOLE_BUILD_DIR);
  const sendIndex = (reply: FastifyReply) => {
    setConsoleHeaders(reply).header('cache-control', 'no-store');
    if (!build) {
      return reply.code(503).type('application/problem+json').send({
        type: 'urn:accredit:problem:console_not_built',
        title: 'Service Unavailable',
        status: 503,
        code: 'console_not_built',
        detail: 'the web console is not built: run `npm run build:console`',
      });
    }
    return reply.type('text/html; charset=utf-8').send(build.index);
  };
  app.get('/console', { schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/console/', 301),
  );
  app.get('/console/*', { schema: { hide: true } }, async (request, reply) => {
    const rest = (request.params as { '*': string })['*'] ?? '';
    const path = rest.split('?')[0] ?? '';
    if (path.startsWith('api/') || path.startsWith('auth/')) {
      return reply
        .code(404)
        .type('application/problem+json')
        .send({ type: 'urn:accredit:problem:not_found', title: 'Not Found', status: 404, code: 'not_found' });
    }
    const asset = build?.assets.get(path);
    if (asset && path !== 'index.html') {
      setConsoleHeaders(reply).header(
        'cache-control',
        path.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
      return reply.type(asset.type).send(asset.body);
    }
    // A missing asset is a 404, not the app: a stale page asking for an old chunk must see it fail.
    if (path.startsWith('assets/')) {
      return reply
        .code(404)
        .type('application/problem+json')
        .send({ type: 'urn:accredit:problem:not_found', title: 'Not Found', status: 404, code: 'not_found' });
    }
    return sendIndex(reply);
  });
}
