import { X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { getOrganisation } from '../../directory/index.ts';
import {
  EXTERNAL_CA_PAGE_KEY_LENGTH,
  externalCaStore,
  refreshExternalCa,
  registerExternalCa,
  removeExternalCa,
  spkiSha256,
} from '../../pki/index.ts';
import { AppError, notFound } from '../../shared/app-error.ts';
import type { GuardedFetcher } from '../../shared/guarded-fetch/index.ts';
import { nextCursorSchema, pageQueryProperties, pageRequest } from '../../shared/page-cursor.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses, uuidParam } from './schemas.ts';

const tags = ['pki'];
const orgParams = { type: 'object', required: ['id'], properties: { id: uuidParam } } as const;
const caParams = {
  type: 'object',
  required: ['id', 'caId'],
  properties: { id: uuidParam, caId: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;
const nullableString = { type: ['string', 'null'] } as const;
const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const externalCaSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    org_id: { type: 'string' },
    subject: { type: 'string' },
    spki_sha256: { type: 'string' },
    not_after: { type: 'string' },
    certificate_pem: { type: 'string' },
    crl_urls: { type: 'array', items: { type: 'string' } },
    ocsp_url: nullableString,
    refresh_seconds: { type: 'integer' },
    max_staleness_seconds: { type: 'integer' },
    crl: {
      type: 'object',
      properties: {
        this_update: nullableString,
        next_update: nullableString,
        crl_number: nullableString,
        fetched_at: nullableString,
        revoked_count: { type: 'integer' },
        stale_after: nullableString,
        last_error: nullableString,
      },
    },
    created_at: { type: 'string' },
  },
} as const;

/**
 * Bring your own CA: an organisation registers the CA that issues its clients' certificates. Thin: the rules
 * (CA certificate, key pin, one organisation per key, CRL verification) are the PKI's.
 */
export function registerExternalCaRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { fetcher: GuardedFetcher },
): void {
  app.post(
    '/organisations/:id/cas',
    {
      schema: {
        tags,
        summary: "Register an organisation's own CA (bring your own CA)",
        description:
          'Pinned by the SHA-256 of its public key; one organisation per CA key. Its CRL (from crl_urls, default its CRL distribution points) is fetched at once and then on schedule; while it has no fresh CRL its certificates are refused (issuer_revocation_stale).',
        params: orgParams,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['certificate_pem'],
          properties: {
            certificate_pem: { type: 'string', minLength: 1, maxLength: 20_000 },
            crl_urls: { type: 'array', minItems: 1, maxItems: 4, items: { type: 'string', maxLength: 2048 } },
            ocsp_url: { type: 'string', maxLength: 2048 },
            refresh_seconds: { type: 'integer' },
            max_staleness_seconds: { type: 'integer' },
          },
        },
        response: { 201: externalCaSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      const body = request.body as {
        certificate_pem: string;
        crl_urls?: string[];
        ocsp_url?: string;
        refresh_seconds?: number;
        max_staleness_seconds?: number;
      };
      const now = deps.clock();
      const platformPins = (deps.ca.chainPem.match(PEM_CERT) ?? []).map((pem) =>
        spkiSha256(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })),
      );
      const registered = await deps.storage.transaction(async (tx) => {
        const org = await getOrganisation(tx.db, id);
        if (org.status !== 'active') {
          throw new AppError('organisation_not_active', 409, `organisation ${id} is ${org.status}`);
        }
        return registerExternalCa(
          tx,
          {
            orgId: id,
            certificatePem: body.certificate_pem,
            reservedPins: platformPins,
            crlUrls: body.crl_urls,
            ocspUrl: body.ocsp_url,
            refreshSeconds: body.refresh_seconds,
            maxStalenessSeconds: body.max_staleness_seconds,
          },
          { actor: request.actor, now },
        );
      });
      // The first CRL at once: until it is held, the CA's certificates are refused.
      const view =
        (await refreshExternalCa(deps.storage, options.fetcher, registered.id, deps.clock())) ?? registered;
      return reply.code(201).header('location', `/admin/v1/organisations/${id}/cas/${view.id}`).send(view);
    },
  );

  app.get(
    '/organisations/:id/cas',
    {
      schema: {
        tags,
        summary: "List an organisation's registered CAs with their CRL state, oldest first",
        params: orgParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            expired: {
              type: 'string',
              enum: ['true', 'false'],
              description: 'only the CAs whose certificate has ended (true) or is still valid (false)',
            },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: externalCaSchema }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const q = request.query as { expired?: 'true' | 'false'; limit?: string; cursor?: string };
      const page = pageRequest(q, EXTERNAL_CA_PAGE_KEY_LENGTH);
      await getOrganisation(deps.storage.db, id);
      return externalCaStore(deps.storage.db).pageOfOrganisation(
        id,
        { expired: q.expired === undefined ? undefined : q.expired === 'true', now: deps.clock() },
        page,
      );
    },
  );

  app.post(
    '/organisations/:id/cas/:caId/refresh',
    {
      schema: {
        tags,
        summary: "Fetch and verify a registered CA's CRL now",
        params: caParams,
        response: { 200: externalCaSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id, caId } = request.params as { id: string; caId: string };
      const ca = await externalCaStore(deps.storage.db).byId(caId);
      if (ca?.org_id !== id) throw notFound('certificate authority', caId);
      const view = await refreshExternalCa(deps.storage, options.fetcher, caId, deps.clock());
      if (!view) throw notFound('certificate authority', caId);
      return view;
    },
  );

  app.delete(
    '/organisations/:id/cas/:caId',
    {
      schema: {
        tags,
        summary: 'Remove a registered CA: its certificates stop authenticating at once',
        params: caParams,
        response: { 204: { type: 'null' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id, caId } = request.params as { id: string; caId: string };
      await deps.storage.transaction((tx) =>
        removeExternalCa(tx, id, caId, { actor: request.actor, now: deps.clock() }),
      );
      return reply.code(204).send();
    },
  );
}
