import { recordAuditEvent } from '../../audit/index.ts';
import {
  createApplication,
  deregisterApplication,
  directoryStore,
  scopesForRoles,
  updateRegisteredApplication,
} from '../../directory/index.ts';
import {
  type EntityStatementClaims,
  FederationError,
  findSubordinate,
  type ResolvedEntity,
  type TrustMarkTypeConfig,
} from '../../federation/index.ts';
import { isCodedError } from '../../shared/app-error.ts';
import { FetchError, type UrlGuard } from '../../shared/guarded-fetch/index.ts';
import { normaliseName } from '../../shared/names.ts';
import type { Storage, Tx } from '../../storage/index.ts';
import { type FederatedClient, federatedClientFrom } from './federated-client.ts';

export interface RegistrationMeta {
  actor: string;
  now: Date;
}

export interface FederationRegistrationInput {
  entity: ResolvedEntity;
  /** The RP metadata to register: the resolved metadata (policies applied) of the chosen chain. */
  rpMetadata: unknown;
  kind: 'explicit' | 'automatic';
  /** The platform's own Entity Identifier: statements it issued locate the accountable organisation. */
  platformEntityId: string;
  trustMarkTypes: readonly TrustMarkTypeConfig[];
  /** The partner fetcher's address policy: an RP's jwks_uri must be a URL the platform would fetch. */
  urlGuard: UrlGuard;
}

export interface FederationRegistration {
  clientId: string;
  orgId: string;
  roles: string[];
  scopes: string[];
  authMethod: string;
  /** Seconds since the epoch: the registration lasts no longer than its chain (§12.2.2 step 9, §12.3). */
  expiresAt: number;
  trustAnchor: string;
  authorityHint: string;
  created: boolean;
}

const invalidTrustChain = (message: string, details?: Record<string, unknown>) =>
  new FederationError('invalid_trust_chain', 403, message, details);

const NO_ROLES_MESSAGE = 'the client carries no valid Trust Mark of a type this platform grants roles for';

/** The registration was refused because none of the client's verified Trust Marks grants it a role. */
export function refusedForTrustMarks(err: unknown): boolean {
  return err instanceof FederationError && err.status === 403 && err.message === NO_ROLES_MESSAGE;
}

/**
 * The subordinate of this platform the chain passes through, nearest the client: the client's organisation
 * is the one that subordinate is linked to (every client belongs to exactly one organisation).
 */
function viaSubordinate(
  statements: readonly EntityStatementClaims[],
  platformEntityId: string,
): string | undefined {
  for (const statement of statements) {
    if (statement.iss === platformEntityId && statement.sub !== platformEntityId) return statement.sub;
  }
  return undefined;
}

async function rolesFor(
  tx: Tx,
  orgId: string,
  entity: ResolvedEntity,
  types: readonly TrustMarkTypeConfig[],
  platformEntityId: string,
): Promise<{ roles: string[]; markTypes: string[]; marksExpireAt: number | undefined }> {
  const approved = await directoryStore(tx.db).organisationRoles(orgId);
  const granted = new Set<string>();
  const markTypes: string[] = [];
  let marksExpireAt: number | undefined;
  for (const mark of entity.trustMarks) {
    const type = types.find((t) => t.type === mark.trust_mark_type);
    // The platform's own Trust Mark types grant roles only when the platform issued the mark, whoever else a
    // (foreign) Trust Anchor accredits as an issuer of that type.
    if (!type || mark.iss !== platformEntityId) continue;
    markTypes.push(type.type);
    if (mark.exp !== undefined) marksExpireAt = Math.min(marksExpireAt ?? mark.exp, mark.exp);
    // A type naming roles grants those; one naming none grants what the organisation is approved for.
    for (const role of type.roles.length > 0 ? type.roles : approved) granted.add(role);
  }
  return {
    roles: approved.filter((r) => granted.has(r)).sort(),
    markTypes: [...new Set(markTypes)].sort(),
    marksExpireAt,
  };
}

/** A JWK Set compared as a set: the same keys in any order. */
function keySetKey(jwks: unknown): string {
  const keys = (jwks as { keys?: unknown[] } | undefined)?.keys ?? [];
  return keys
    .map((k) =>
      JSON.stringify(Object.fromEntries(Object.entries(k as object).sort(([a], [b]) => a.localeCompare(b)))),
    )
    .sort()
    .join('\n');
}

/**
 * The client's own name unless another application of its organisation has it, then qualified by the host of
 * its Entity Identifier: the name is for people (the client_id identifies the client), and two RPs of one
 * organisation may well call themselves alike, which must not make the second registration fail.
 */
async function availableName(tx: Tx, orgId: string, clientId: string, wanted: string): Promise<string> {
  for (const candidate of [wanted, `${wanted} (${new URL(clientId).host})`, clientId]) {
    const { name, key } = normaliseName('client_name', candidate.slice(0, 200));
    const taken = await directoryStore(tx.db).applicationNameTaken(orgId, key);
    if (!taken) return name;
  }
  throw new FederationError(
    'invalid_request',
    409,
    `the organisation already has applications named after client ${clientId}`,
  );
}

function asRegistrationError(err: unknown): unknown {
  // The directory's own validation of keys and metadata is a metadata problem of the registering client.
  if (isCodedError(err) && err.code === 'invalid_input') {
    return new FederationError('invalid_client_metadata', 400, err.message, err.details);
  }
  return err;
}

/** The server fetches the jwks_uri of the RP metadata: never one on a loopback, private or link-local host. */
async function checkFetchable(client: FederatedClient, urlGuard: UrlGuard): Promise<void> {
  const { jwks_uri: jwksUri } = client.metadata;
  if (typeof jwksUri !== 'string') return;
  try {
    await urlGuard.assertFetchable(jwksUri);
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    throw new FederationError(
      'invalid_client_metadata',
      400,
      `jwks_uri is not a URL this server fetches: ${err.message}`,
      { field: 'jwks_uri', reason: err.code },
    );
  }
}

/**
 * Creates or updates the client of a Trust Chain that validated, in one transaction: the application
 * (client_id = Entity Identifier), its roles from the Trust Marks it carries, and the registration record
 * that ends it when the chain does. An earlier registration of the same entity is replaced (§12.2.2 step 7).
 */
export async function registerFederationClient(
  storage: Storage,
  input: FederationRegistrationInput,
  meta: RegistrationMeta,
): Promise<FederationRegistration> {
  const { entity } = input;
  const clientId = entity.entityId;
  const client = federatedClientFrom(clientId, input.rpMetadata);
  await checkFetchable(client, input.urlGuard);
  const via = viaSubordinate(entity.statements, input.platformEntityId);
  if (!via) {
    throw invalidTrustChain(
      'the trust chain does not pass through a subordinate of this platform: no organisation answers for the client',
    );
  }
  const authorityHint = entity.statements[1]?.iss;
  if (!authorityHint)
    throw invalidTrustChain('the trust chain has no Subordinate Statement about the client');
  try {
    return await storage.transaction(async (tx) => {
      const found = await findSubordinate(tx.db, via);
      const orgStatus = found && (await directoryStore(tx.db).organisationStatus(found.org_id));
      const subordinate = found && orgStatus ? { ...found, org_status: orgStatus } : undefined;
      // The platform's statement in the chain must state the keys the platform holds for that subordinate
      // today: a supplied or cached statement from before an operator changed them vouches for nothing.
      const stated = entity.statements.find((st) => st.iss === input.platformEntityId && st.sub === via);
      if (subordinate && (!stated || keySetKey(stated.jwks) !== keySetKey(subordinate.jwks))) {
        throwInvalidTrustChain(
          `the chain's statement about ${via} does not carry the keys this platform holds for it now`,
        );
      }
      if (subordinate?.status !== 'active')
        throwInvalidTrustChain(`subordinate ${via} is not registered with this platform`);
      if (subordinate!.org_status !== 'active')
        throwInvalidTrustChain(`the organisation of ${via} is ${subordinate!.org_status}`);
      const orgId = subordinate!.org_id;
      const { roles, markTypes, marksExpireAt } = await rolesFor(
        tx,
        orgId,
        entity,
        input.trustMarkTypes,
        input.platformEntityId,
      );
      // §12.3: no longer than its chain, nor than the Trust Marks its roles come from.
      const expiresAt = Math.min(entity.expiresAt, marksExpireAt ?? entity.expiresAt);
      if (roles.length === 0) {
        throwInvalidTrustChain(NO_ROLES_MESSAGE, {
          trust_marks: entity.trustMarks.map((m) => m.trust_mark_type),
        });
      }
      const existing = await directoryStore(tx.db).applicationWithOrganisation(clientId);
      if (existing && (existing.registration_type !== 'federation' || existing.org_id !== orgId)) {
        throw new FederationError(
          'invalid_request',
          409,
          `client ${clientId} is registered otherwise on this platform`,
        );
      }
      if (existing) {
        await updateRegisteredApplication(
          tx,
          clientId,
          { authMethod: client.authMethod, metadata: client.metadata, roles },
          meta,
        );
      } else {
        await createApplication(
          tx,
          {
            orgId,
            name: await availableName(tx, orgId, clientId, client.name),
            roles,
            authMethod: client.authMethod,
            metadata: client.metadata,
            registrationType: 'federation',
            clientId,
          },
          meta,
        );
      }
      const at = meta.now.toISOString();
      const row = {
        org_id: orgId,
        kind: input.kind,
        trust_anchor: entity.trustAnchor,
        authority_hint: authorityHint,
        via_subordinate: via,
        trust_mark_types: JSON.stringify(markTypes),
        expires_at: new Date(expiresAt * 1000).toISOString(),
        resolved_at: at,
        status: 'active' as const,
        ended_reason: null,
        updated_at: at,
      };
      if (existing) {
        await tx.db
          .updateTable('federation_registrations')
          .set(row)
          .where('client_id', '=', clientId)
          .execute();
      } else {
        await tx.db
          .insertInto('federation_registrations')
          .values({ ...row, client_id: clientId, created_at: at })
          .execute();
      }
      await recordAuditEvent(
        tx,
        {
          actor: meta.actor,
          action: existing ? 'federation.registration.renew' : 'federation.registration.create',
          targetType: 'application',
          targetId: clientId,
          details: {
            kind: input.kind,
            org_id: orgId,
            trust_anchor: entity.trustAnchor,
            via_subordinate: via,
            roles,
            trust_mark_types: markTypes,
            expires_at: row.expires_at,
          },
        },
        meta.now,
      );
      return {
        clientId,
        orgId,
        roles,
        scopes: await scopesForRoles(tx.db, roles),
        authMethod: client.authMethod,
        expiresAt,
        trustAnchor: entity.trustAnchor,
        authorityHint,
        created: !existing,
      };
    });
  } catch (err) {
    throw asRegistrationError(err);
  }
}

function throwInvalidTrustChain(message: string, details?: Record<string, unknown>): never {
  throw invalidTrustChain(message, details);
}

/** Ends a federation registration: the client is deregistered at once everywhere, with the reason audited. */
export async function endFederationRegistration(
  tx: Tx,
  clientId: string,
  reason: string,
  meta: RegistrationMeta,
): Promise<boolean> {
  const row = await tx.db
    .selectFrom('federation_registrations')
    .select(['status', 'org_id'])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (row?.status !== 'active') return false;
  await tx.db
    .updateTable('federation_registrations')
    .set({ status: 'ended', ended_reason: reason, updated_at: meta.now.toISOString() })
    .where('client_id', '=', clientId)
    .execute();
  await deregisterApplication(tx, clientId, { ...meta, reason });
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'federation.registration.end',
      targetType: 'application',
      targetId: clientId,
      details: { org_id: row.org_id, reason },
    },
    meta.now,
  );
  return true;
}

/** Every registration resting on a subordinate of this platform ends when that subordinate is removed. */
export async function endFederationRegistrationsVia(
  tx: Tx,
  subordinateEntityId: string,
  meta: RegistrationMeta,
): Promise<string[]> {
  const rows = await tx.db
    .selectFrom('federation_registrations')
    .select('client_id')
    .where('via_subordinate', '=', subordinateEntityId)
    .where('status', '=', 'active')
    .execute();
  for (const row of rows) {
    await endFederationRegistration(
      tx,
      row.client_id,
      `subordinate ${subordinateEntityId} was removed`,
      meta,
    );
  }
  return rows.map((r) => r.client_id);
}
