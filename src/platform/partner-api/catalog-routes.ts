import type { FastifyInstance } from 'fastify';
import { readCatalog } from '../../directory/index.ts';
import { AppError } from '../../shared/app-error.ts';
import { renderCatalogJson } from '../partner-catalog/render-catalog-json.ts';
import type { PartnerDeps } from './deps.ts';
import { partnerErrors, tags } from './lookup.ts';

/** The published access catalog (what /catalog.json serves), for the portal's catalog page and forms. */
export function registerPartnerCatalogApi(app: FastifyInstance, deps: PartnerDeps): void {
  app.get(
    '/catalog',
    {
      schema: {
        tags,
        summary: 'The published access catalog: operations, scopes, roles and how to request access',
        response: { 200: { type: 'object', additionalProperties: true }, ...partnerErrors },
      },
    },
    async () => {
      if (!deps.catalog) throw new AppError('not_available', 404, 'the catalog is not published here');
      return renderCatalogJson(await readCatalog(deps.storage.db), deps.catalog);
    },
  );
}
