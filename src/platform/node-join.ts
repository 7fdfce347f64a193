import { createHash, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { recordAuditEvent } from '../audit/index.ts';
import type { CertificateAuthority } from '../pki/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import {
  nextCursorSchema,
  type Page,
  type PageRequest,
  pageQueryProperties,
  pageRequest,
  toPage,
} from '../shared/page-cursor.ts';
import { type Database, keysetAfter, type Storage, type Tx } from '../storage/index.ts';
import { errorResponses, uuidParam } from './admin-api/schemas.ts';
import type { PlatformConfig } from './config.ts';

/**
 * Issue 16: another platform node joins with one command, like `kubeadm join`. On a node, an operator creates a
 * short-lived, one-use join token (only its SHA-256 is stored); the new node pins the platform CA by its SHA-256
 * fingerprint, redeems the token over TLS at `POST /platform/v1/join` and receives the join bundle: the KEK and
 * the settings every node must share (database, public URLs, PKI). Each node keeps its own server TLS key.
 */

const PREFIX = 'acc_join_';
export const JOIN_PATH = '/platform/v1/join';
export const JOIN_BUNDLE_FORMAT = 'accredit-join/1';
const DEFAULT_TTL_SECONDS = 15 * 60;
const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 24 * 3600;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** SHA-256 of the root CA certificate (DER), lower-case hex: what `accredit join --ca-sha256` pins. */
export function caFingerprint(rootPem: string): string {
  return createHash('sha256').update(new X509Certificate(rootPem).raw).digest('hex');
}

/** `AB:CD:…`, `sha256:abcd…` and plain hex all name the same fingerprint. */
export function normaliseFingerprint(value: string): string {
  return value
    .trim()
    .replace(/^sha256:/i, '')
    .replace(/:/g, '')
    .toLowerCase();
}

export interface JoinTokenView {
  id: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
  revoked_at: string | null;
}

/** The settings a node must share with the others: everything that names the platform to the outside world. */
const SHARED_PATHS = [
  'database.url',
  'database.schema',
  'hostnames',
  'publicUrl',
  'mtlsUrl',
  'gatewayUrl',
  'listeners.public.port',
  'listeners.mtls.port',
  'listeners.gateway.port',
  'listeners.pkiHttp.port',
  'listeners.pkiHttp.enabled',
  'accessTokenTtlSeconds',
  'pki.partnerCertDays',
  'pki.crlValidityHours',
  'pki.rootCrlValidityDays',
  'pki.keyAlgorithm',
  'pki.publicHttpUrl',
  'pki.ocspResponderDays',
  'pki.ocspValidityMinutes',
  'gateway.audience',
  'federation.entityId',
  'federation.statementLifetimeSeconds',
  'registration.softwareStatementMaxAgeSeconds',
  'registration.allowInitialAccessTokens',
  'fapi.profile',
  'dpop.requireNonce',
  'replayCache.redisUrl',
  'enforcementFeed.maxClients',
] as const;

function getPath(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

/** The shared part of this node's effective configuration, in accredit.json form (files on this node stay here). */
export function sharedConfigOf(config: PlatformConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const path of SHARED_PATHS) {
    const value = getPath(config, path);
    if (value !== undefined) setPath(out, path, value);
  }
  return out;
}

export interface JoinBundle {
  format: typeof JOIN_BUNDLE_FORMAT;
  /** The join token's id: the new node's name in the audit trail. */
  join_id: string;
  ca_sha256: string;
  ca_bundle: string;
  /** The key-encryption key: every private key at rest (CAs, signing keys) is encrypted under it. */
  kek: string;
  config: Record<string, unknown>;
}

export async function createJoinToken(
  tx: Tx,
  input: { ttlSeconds: number; actor: string; now: Date },
): Promise<JoinTokenView & { token: string }> {
  if (tx.engine !== 'postgres') {
    throw new AppError(
      'join_needs_postgres',
      409,
      'another node can only join a platform whose database is PostgreSQL (database.url postgres://…)',
    );
  }
  const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
  const view: JoinTokenView = {
    id: randomUUID(),
    created_by: input.actor,
    created_at: input.now.toISOString(),
    expires_at: new Date(input.now.getTime() + input.ttlSeconds * 1000).toISOString(),
    used_at: null,
    used_by: null,
    revoked_at: null,
  };
  await tx.db
    .insertInto('node_join_tokens')
    .values({ ...view, token_hash: hashOf(token) })
    .execute();
  await recordAuditEvent(
    tx,
    {
      actor: input.actor,
      action: 'node.join_token.create',
      targetType: 'node_join_token',
      targetId: view.id,
      details: { expires_at: view.expires_at },
    },
    input.now,
  );
  return { ...view, token };
}

export type JoinTokenState = 'unused' | 'used' | 'revoked' | 'expired';

/** Join tokens, newest first, keyset-paged by (created_at, id) descending; optionally only those in `state`. */
export async function listJoinTokens(
  db: Kysely<Database>,
  page: PageRequest,
  filter: { state?: JoinTokenState; now: Date },
): Promise<Page<JoinTokenView>> {
  let q = db
    .selectFrom('node_join_tokens')
    .select(['id', 'created_by', 'created_at', 'expires_at', 'used_at', 'used_by', 'revoked_at']);
  const at = filter.now.toISOString();
  switch (filter.state) {
    case 'used':
      q = q.where('used_at', 'is not', null);
      break;
    case 'revoked':
      q = q.where('revoked_at', 'is not', null);
      break;
    case 'expired':
      q = q.where('used_at', 'is', null).where('revoked_at', 'is', null).where('expires_at', '<=', at);
      break;
    case 'unused':
      q = q.where('used_at', 'is', null).where('revoked_at', 'is', null).where('expires_at', '>', at);
      break;
  }
  const after = page.after;
  if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'id'], after, true));
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return toPage(rows, page.limit, (r) => [r.created_at, r.id]);
}

export async function revokeJoinToken(
  tx: Tx,
  id: string,
  meta: { actor: string; now: Date },
): Promise<JoinTokenView> {
  const at = meta.now.toISOString();
  const row = await tx.db
    .updateTable('node_join_tokens')
    .set({ revoked_at: at })
    .where('id', '=', id)
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .returning(['id', 'created_by', 'created_at', 'expires_at', 'used_at', 'used_by', 'revoked_at'])
    .executeTakeFirst();
  if (!row) {
    const exists = await tx.db
      .selectFrom('node_join_tokens')
      .select('id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!exists) throw new AppError('not_found', 404, `join token ${id} does not exist`);
    throw new AppError('conflict', 409, `join token ${id} is already used or revoked`);
  }
  await recordAuditEvent(
    tx,
    { actor: meta.actor, action: 'node.join_token.revoke', targetType: 'node_join_token', targetId: id },
    meta.now,
  );
  return row;
}

const invalidToken = () =>
  new AppError('invalid_join_token', 401, 'the join token is unknown, expired, revoked or already used');

/**
 * Redeems a join token: one conditional UPDATE, so of two concurrent redemptions exactly one finds the row
 * unused. Unknown, expired, revoked and used tokens are refused alike.
 */
export async function redeemJoinToken(
  tx: Tx,
  token: string,
  input: { address: string; nodeName: string | undefined; now: Date },
): Promise<string> {
  if (!token.startsWith(PREFIX) || token.length > 100) throw invalidToken();
  const at = input.now.toISOString();
  const usedBy = input.nodeName ? `${input.nodeName} (${input.address})` : input.address;
  const row = await tx.db
    .updateTable('node_join_tokens')
    .set({ used_at: at, used_by: usedBy })
    .where('token_hash', '=', hashOf(token))
    .where('used_at', 'is', null)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', at)
    .returning(['id'])
    .executeTakeFirst();
  if (!row) throw invalidToken();
  await recordAuditEvent(
    tx,
    {
      actor: `node:${row.id}`,
      action: 'node.join',
      targetType: 'node_join_token',
      targetId: row.id,
      details: { address: input.address, ...(input.nodeName ? { node_name: input.nodeName } : {}) },
    },
    input.now,
  );
  return row.id;
}

/**
 * Failed redemptions per address and in all, in a sliding window: the token is 256 bits, so this protects the
 * database and the logs, not the secret. A limited address is answered 429 before the token is looked at.
 */
export function createJoinLimiter(options: { perAddress: number; total: number; windowMs: number }) {
  const failures: Array<{ at: number; address: string }> = [];
  const prune = (now: number) => {
    while (failures.length > 0 && failures[0]!.at <= now - options.windowMs) failures.shift();
  };
  return {
    limited(address: string, now: number): boolean {
      prune(now);
      if (failures.length >= options.total) return true;
      return failures.filter((f) => f.address === address).length >= options.perAddress;
    },
    failed(address: string, now: number): void {
      prune(now);
      failures.push({ at: now, address });
    },
  };
}

const tokenSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    created_by: { type: 'string' },
    created_at: { type: 'string' },
    expires_at: { type: 'string' },
    used_at: { type: ['string', 'null'] },
    used_by: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
  },
} as const;

export interface NodeJoinDeps {
  storage: Storage;
  clock: Clock;
  ca: CertificateAuthority;
  config: PlatformConfig;
}

/** `accredit join <url> --token … --ca-sha256 …`: the whole command a new node runs. */
export function joinCommandOf(url: string, token: string, caSha256: string): string {
  return `accredit join ${url} --token ${token} --ca-sha256 ${caSha256}`;
}

/** Admin API (inside /admin/v1, operator-authenticated): create, list and revoke join tokens. */
export function registerNodeJoinAdminRoutes(app: FastifyInstance, deps: NodeJoinDeps): void {
  const tags = ['nodes'];
  app.post(
    '/nodes/join-tokens',
    {
      schema: {
        tags,
        summary: 'Create a one-use token with which another platform node joins (`accredit join`)',
        description:
          'The token and the complete join command are returned only here; only the token’s SHA-256 is stored. ' +
          'The command pins the platform CA by its SHA-256 fingerprint.',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ttl_seconds: { type: 'integer', minimum: MIN_TTL_SECONDS, maximum: MAX_TTL_SECONDS },
          },
        },
        response: {
          201: {
            ...tokenSchema,
            properties: {
              ...tokenSchema.properties,
              token: { type: 'string' },
              ca_sha256: { type: 'string' },
              join_url: { type: 'string' },
              join_command: { type: 'string' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as { ttl_seconds?: number };
      const created = await deps.storage.transaction((tx) =>
        createJoinToken(tx, {
          ttlSeconds: body.ttl_seconds ?? DEFAULT_TTL_SECONDS,
          actor: request.actor,
          now: deps.clock(),
        }),
      );
      const caSha256 = caFingerprint(deps.ca.rootPem);
      return reply
        .code(201)
        .header('cache-control', 'no-store')
        .send({
          ...created,
          ca_sha256: caSha256,
          join_url: deps.config.publicUrl,
          join_command: joinCommandOf(deps.config.publicUrl, created.token, caSha256),
        });
    },
  );
  app.get(
    '/nodes/join-tokens',
    {
      schema: {
        tags,
        summary: 'List join tokens, newest first (never the tokens themselves)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: ['unused', 'used', 'revoked', 'expired'] },
            ...pageQueryProperties,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: tokenSchema }, next_cursor: nextCursorSchema },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query as { state?: JoinTokenState; limit?: string; cursor?: string };
      return listJoinTokens(deps.storage.db, pageRequest(q, 2), {
        ...(q.state ? { state: q.state } : {}),
        now: deps.clock(),
      });
    },
  );
  app.delete(
    '/nodes/join-tokens/:id',
    {
      schema: {
        tags,
        summary: 'Revoke an unused join token',
        params: { type: 'object', required: ['id'], properties: { id: uuidParam } },
        response: { 200: tokenSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      return deps.storage.transaction((tx) =>
        revokeJoinToken(tx, id, { actor: request.actor, now: deps.clock() }),
      );
    },
  );
}

/**
 * `POST /platform/v1/join` on the public listener (TLS only; never on the mTLS or gateway listeners): the join
 * token as a bearer token, the node's name in the body; answers the join bundle, never cached, never logged.
 */
export function registerJoinRoute(
  app: FastifyInstance,
  deps: NodeJoinDeps & { kek: string; logger: Logger },
): void {
  const limiter = createJoinLimiter({ perAddress: 10, total: 60, windowMs: 60_000 });
  app.post(
    JOIN_PATH,
    {
      bodyLimit: 1024,
      schema: {
        tags: ['nodes'],
        summary: 'Redeem a join token: the bundle a new platform node needs (KEK, shared settings)',
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { node_name: { type: 'string', minLength: 1, maxLength: 64 } },
        },
      },
    },
    async (request, reply) => {
      const address = request.ip;
      const now = deps.clock();
      if (limiter.limited(address, now.getTime())) {
        throw new AppError('too_many_attempts', 429, 'too many failed join attempts; wait a minute');
      }
      const auth = request.headers.authorization ?? '';
      const match = /^Bearer ([A-Za-z0-9_-]{1,100})$/.exec(auth);
      const nodeName = (request.body as { node_name?: string } | undefined)?.node_name;
      if (nodeName !== undefined && !NODE_NAME.test(nodeName)) {
        throw new AppError('invalid_input', 400, 'node_name: 1–64 letters, digits, ".", "_" or "-"');
      }
      let joinId: string;
      try {
        if (!match) throw invalidToken();
        joinId = await deps.storage.transaction((tx) =>
          redeemJoinToken(tx, match[1]!, { address, nodeName, now }),
        );
      } catch (err) {
        if (err instanceof AppError && err.code === 'invalid_join_token') {
          limiter.failed(address, now.getTime());
          deps.logger.warn({ address }, 'refused a join attempt');
        }
        throw err;
      }
      deps.logger.info({ join_id: joinId, address, node_name: nodeName }, 'a node joined');
      const bundle: JoinBundle = {
        format: JOIN_BUNDLE_FORMAT,
        join_id: joinId,
        ca_sha256: caFingerprint(deps.ca.rootPem),
        ca_bundle: deps.ca.chainPem,
        kek: deps.kek,
        config: sharedConfigOf(deps.config),
      };
      return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(bundle);
    },
  );
}
