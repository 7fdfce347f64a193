import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  listAuthorities,
  publishRootCrl,
  REVOCATION_REASONS,
  retireIssuing,
  revokeIssuing,
  rotateIssuing,
} from '../../pki/index.ts';
import type { AdminDeps } from './deps.ts';
import { errorResponses } from './schemas.ts';

const tags = ['pki'];

const issuingCaSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    subject: { type: 'string' },
    serial: { type: 'string' },
    previous_serial: { type: 'string' },
    not_before: { type: 'string' },
    not_after: { type: 'string' },
    crl_distribution_point: { type: 'string' },
    certificate_pem: { type: 'string' },
  },
} as const;

const authoritySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    kind: { type: 'string', enum: ['root', 'issuing'] },
    status: { type: 'string', enum: ['active', 'retiring', 'retired', 'revoked'] },
    generation: { type: 'integer' },
    subject: { type: 'string' },
    serial: { type: 'string' },
    not_before: { type: 'string' },
    not_after: { type: 'string' },
    key_online: { type: 'boolean' },
    crl_url: { type: ['string', 'null'] },
    status_changed_at: { type: ['string', 'null'] },
    revocation_reason: { type: ['string', 'null'] },
    unexpired_active_certificates: { type: ['integer', 'null'] },
    certificate_pem: { type: 'string' },
    certificates_revoked: { type: 'integer' },
    root_crl_number: { type: 'integer' },
  },
} as const;

const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
} as const;

/** Replaces a file in one step: readers see the old bundle or the new one, never half of it. */
function replaceFile(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode: 0o644 });
  renameSync(temp, path);
}

/** The platform's own CA certificates; thin: the rules are in the PKI's CertificateAuthority. */
export function registerCaRoutes(
  app: FastifyInstance,
  deps: AdminDeps,
  options: { caBundleFile: string },
): void {
  const meta = (actor: string) => ({ actor, now: deps.clock() });
  // The committed change is also announced on the change feed (`ca.changed`), which start-platform follows
  // to reload every trust store; reloading here too makes the answer and the bundle file current at once.
  const refresh = async () => {
    await deps.ca.reload(deps.storage.db);
    replaceFile(options.caBundleFile, deps.ca.chainPem);
  };

  app.get(
    '/ca/authorities',
    {
      schema: {
        tags,
        summary: 'The platform’s CAs: the root and every issuing CA generation with its status',
        response: { 200: { type: 'array', items: authoritySchema }, ...errorResponses },
      },
    },
    async () => listAuthorities(deps.storage.db, { now: deps.clock(), crlUrl: deps.ca.settings.crlUrl }),
  );

  app.post(
    '/ca/issuing/rotate',
    {
      schema: {
        tags,
        summary:
          'Bring in a new issuing CA signed by the root; the current one keeps being trusted as retiring',
        description:
          'Needs the root key online (otherwise 409 root_key_offline: run a ceremony). The new CA issues from now on, with its own CRL distribution point; the CA bundle carries both.',
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { validity_days: { type: 'integer', minimum: 30, maximum: 3650 } },
        },
        response: { 200: authoritySchema, ...errorResponses },
      },
    },
    async (request) => {
      const body = (request.body ?? {}) as { validity_days?: number };
      const rotated = await deps.storage.transaction((tx) =>
        rotateIssuing(tx, deps.ca, meta(request.actor), {
          ...(body.validity_days !== undefined ? { validityDays: body.validity_days } : {}),
        }),
      );
      await refresh();
      request.log.info({ ca: rotated.id, generation: rotated.generation }, 'issuing CA rotated');
      return rotated;
    },
  );

  app.post(
    '/ca/issuing/:id/retire',
    {
      schema: {
        tags,
        summary: 'Retire a retiring issuing CA: out of every bundle, key destroyed',
        description:
          'Refused (409 ca_in_use) while certificates it issued are active and unexpired, unless force is true.',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { force: { type: 'boolean' } },
        },
        response: { 200: authoritySchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const force = (request.body as { force?: boolean } | null)?.force === true;
      const retired = await deps.storage.transaction((tx) =>
        retireIssuing(tx, deps.ca, id, { force }, meta(request.actor)),
      );
      await refresh();
      return retired;
    },
  );

  app.post(
    '/ca/issuing/:id/revoke',
    {
      schema: {
        tags,
        summary:
          'Revoke a non-active issuing CA (compromise): its certificates are revoked, the root CRL lists it',
        params: idParams,
        body: {
          type: ['object', 'null'],
          additionalProperties: false,
          properties: { reason: { type: 'string', enum: Object.keys(REVOCATION_REASONS) } },
        },
        response: { 200: authoritySchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const reason = (request.body as { reason?: string } | null)?.reason ?? 'keyCompromise';
      const revoked = await deps.storage.transaction((tx) =>
        revokeIssuing(tx, deps.ca, id, reason, meta(request.actor)),
      );
      await refresh();
      return revoked;
    },
  );

  app.post(
    '/ca/root/crl',
    {
      schema: {
        tags,
        summary: 'Publish the root CRL now (root key online)',
        response: {
          200: {
            type: 'object',
            properties: { crl_number: { type: 'integer' }, next_update: { type: 'string' } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const published = await deps.storage.transaction((tx) =>
        publishRootCrl(tx, deps.ca, meta(request.actor)),
      );
      return { crl_number: published.crlNumber, next_update: published.nextUpdate.toISOString() };
    },
  );

  app.post(
    '/ca/issuing/reissue',
    {
      schema: {
        tags,
        summary:
          'Re-issue the issuing CA certificate (same key, subject and validity) with the root CRL distribution point',
        description:
          'Every partner certificate keeps verifying. The new certificate replaces the old one in storage, in the CA bundle file and in what /pki/ca-bundle.pem serves; clients and edges should fetch the bundle again.',
        response: { 200: issuingCaSchema, ...errorResponses },
      },
    },
    async (request) => {
      const reissued = await deps.storage.transaction((tx) =>
        deps.ca.reissueIssuing(tx, { actor: request.actor, now: deps.clock() }),
      );
      await refresh();
      request.log.info(
        { serial: reissued.serial, previous: reissued.previous_serial },
        'issuing CA re-issued',
      );
      return reissued;
    },
  );
}
