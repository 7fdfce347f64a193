import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { readCatalog } from '../../directory/index.ts';
import { CHANGE_KINDS, type Storage } from '../../storage/index.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { createRenderCache } from './partner-catalog-cache.ts';
import { CATALOG_PATHS, type PartnerCatalogContext } from './partner-catalog-context.ts';
import { prefersJson } from './prefers-json.ts';
import { HTML_CSP, renderCatalogHtml } from './render-catalog-html.ts';
import { renderCatalogJson } from './render-catalog-json.ts';
import { renderCatalogOpenApi } from './render-catalog-openapi.ts';

interface Representation {
  body: string;
  etag: string;
  contentType: string;
}

interface Rendered {
  html: Representation;
  json: Representation;
  openapi: Representation;
}

/** What intermediaries and partners may keep; a changed catalog reaches them within this bound. */
export const CATALOG_MAX_AGE_SECONDS = 60;

// JSON is data, never a document: nothing in it may run or be framed if a browser opens it.
const JSON_CSP = "default-src 'none'; frame-ancestors 'none'";

function render(document: Awaited<ReturnType<typeof readCatalog>>, context: PartnerCatalogContext): Rendered {
  const catalog = renderCatalogJson(document, context);
  const tag = (kind: string) => `"${catalog.version}-${kind}"`;
  return {
    html: { body: renderCatalogHtml(catalog), etag: tag('html'), contentType: 'text/html; charset=utf-8' },
    json: {
      body: JSON.stringify(catalog),
      etag: tag('json'),
      contentType: 'application/json; charset=utf-8',
    },
    openapi: {
      body: JSON.stringify(renderCatalogOpenApi(catalog)),
      etag: tag('openapi'),
      contentType: 'application/json; charset=utf-8',
    },
  };
}

/** RFC 9110 §13.1.2: If-None-Match compares weakly; `*` matches any current representation. */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const strip = (tag: string) => tag.trim().replace(/^W\//, '');
  return header.split(',').some((tag) => tag.trim() === '*' || strip(tag) === etag);
}

/**
 * The published catalog on the public listener: `GET /catalog` (HTML, or JSON to a client that prefers it),
 * `GET /catalog.json`, `GET /catalog/openapi.json`; HEAD too. No authentication: it holds the active catalog's
 * public face only (render-catalog-json.ts decides what that is).
 */
export function registerPartnerCatalogRoutes(
  app: FastifyInstance,
  deps: { storage: Storage; context: PartnerCatalogContext; maxAgeMs?: number },
): void {
  const cache = createRenderCache({
    load: async () => render(await readCatalog(deps.storage.db), deps.context),
    maxAgeMs: deps.maxAgeMs ?? CATALOG_MAX_AGE_SECONDS * 1000,
    onBackgroundError: (err) => app.log.error({ err }, 'the published catalog could not be refreshed'),
  });
  const unfollow = deps.storage.feed.subscribe((change) => {
    if (change.kind === CHANGE_KINDS.catalogChanged) cache.invalidate();
  });
  app.addHook('onClose', async () => {
    unfollow();
  });

  const answer = async (
    request: FastifyRequest,
    reply: FastifyReply,
    pick: (rendered: Rendered) => Representation,
    negotiated: boolean,
  ) => {
    let rendered: Rendered;
    try {
      rendered = await cache.current();
    } catch (err) {
      request.log.error({ err }, 'the published catalog could not be read');
      return sendProblem(reply, problem(503, 'catalog_unavailable', 'the catalog cannot be read right now'));
    }
    const representation = pick(rendered);
    reply
      .header('etag', representation.etag)
      .header('cache-control', `public, max-age=${CATALOG_MAX_AGE_SECONDS}`)
      .header('content-type', representation.contentType)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer');
    if (negotiated) reply.header('vary', 'Accept');
    if (representation === rendered.html) reply.header('content-security-policy', HTML_CSP);
    else {
      // Public, credential-free data: API tools in a browser may read it from anywhere.
      reply.header('content-security-policy', JSON_CSP).header('access-control-allow-origin', '*');
    }
    if (noneMatch(request.headers['if-none-match'], representation.etag)) return reply.code(304).send();
    return reply.send(representation.body);
  };

  const hide = { schema: { hide: true } };
  app.get(CATALOG_PATHS.html, hide, (request, reply) =>
    answer(request, reply, (r) => (prefersJson(request.headers.accept) ? r.json : r.html), true),
  );
  app.get(CATALOG_PATHS.json, hide, (request, reply) => answer(request, reply, (r) => r.json, false));
  app.get(CATALOG_PATHS.openapi, hide, (request, reply) => answer(request, reply, (r) => r.openapi, false));
}
