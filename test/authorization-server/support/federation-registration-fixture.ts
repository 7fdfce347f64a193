import { createOrganisation } from '../../../src/directory/index.ts';
import {
  addSubordinate,
  type ResolvedEntity,
  type TrustChainResolver,
  type TrustMarkTypeConfig,
} from '../../../src/federation/index.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { assertOk } from '../../federation/support/resolver.ts';
import type { TestEntity, Topology } from '../../federation/support/topology.ts';

export const RP = 'openid_relying_party';

/**
 * A federation whose Trust Anchor plays the platform: `platform → orgIntermediate → leaf`. The organisation's
 * Intermediate is the platform's subordinate (a `federation_subordinates` row linked to `orgId`), so its
 * Subordinate Statement is the one "issued by the platform" and the leaf belongs to that organisation.
 * The platform is also the Trust Mark Issuer of three types: reader (maps to partner_reader), all (maps
 * to every role the organisation is approved for) and unmapped (accepted by the federation, no roles here).
 */
export interface RegistrationFederation {
  platform: TestEntity;
  orgIntermediate: TestEntity;
  leaf: TestEntity;
  orgId: string;
  types: { reader: string; all: string; unmapped: string };
  trustMarkTypes: TrustMarkTypeConfig[];
  /** Adds another RP under `superior` (default the organisation's Intermediate), with a reader Trust Mark. */
  addLeaf(name: string, superior?: TestEntity): Promise<TestEntity>;
  /** Gives `entity` a Trust Mark of `type` issued by the platform (status active). */
  mark(entity: TestEntity, type: string): Promise<string>;
}

export const rpMetadata = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  client_name: 'Leaf RP',
  token_endpoint_auth_method: 'tls_client_auth',
  grant_types: ['client_credentials'],
  ...overrides,
});

export async function registrationFederation(
  topology: Topology,
  storage: Storage,
  options: {
    orgName?: string;
    /** Roles the organisation is approved for; every defined role when omitted. */
    orgRoles?: string[];
    leafMark?: 'reader' | 'all' | 'unmapped' | 'none';
  } = {},
): Promise<RegistrationFederation> {
  const platform = await topology.addEntity('platform');
  const orgIntermediate = await topology.addEntity('org-intermediate');
  platform.metadata.federation_entity = { organization_name: 'Platform' };
  orgIntermediate.metadata.federation_entity = { organization_name: 'Partner' };
  platform.addSubordinate(orgIntermediate);
  const types = {
    reader: `${platform.entityId}/trust-marks/reader`,
    all: `${platform.entityId}/trust-marks/all`,
    unmapped: `${platform.entityId}/trust-marks/unmapped`,
  };
  platform.configuration.trust_mark_issuers = {
    [types.reader]: [platform.entityId],
    [types.all]: [platform.entityId],
    [types.unmapped]: [platform.entityId],
  };
  const mark = async (entity: TestEntity, type: string) => {
    const jwt = await platform.issueTrustMark(entity, type);
    entity.addTrustMark(type, jwt);
    return jwt;
  };
  const addLeaf = async (name: string, superior = orgIntermediate) => {
    const leaf = await topology.addEntity(name);
    leaf.metadata[RP] = rpMetadata({ client_name: `RP ${name}` });
    superior.addSubordinate(leaf);
    await mark(leaf, types.reader);
    return leaf;
  };
  const leaf = await topology.addEntity('leaf');
  leaf.metadata[RP] = rpMetadata();
  orgIntermediate.addSubordinate(leaf);
  const leafMark = options.leafMark ?? 'reader';
  if (leafMark !== 'none') await mark(leaf, types[leafMark]);

  const meta = { actor: 'operator:test', now: topology.clock.now };
  const orgId = await storage.transaction((tx) =>
    createOrganisation(tx, { name: options.orgName ?? 'Partner Org', roles: options.orgRoles }, meta),
  );
  await storage.transaction((tx) =>
    addSubordinate(
      tx,
      { entityId: orgIntermediate.entityId, orgId, jwks: orgIntermediate.jwks(), isIntermediate: true },
      { authorityEntityId: platform.entityId },
      meta,
    ),
  );
  return {
    platform,
    orgIntermediate,
    leaf,
    orgId,
    types,
    trustMarkTypes: [
      { type: types.reader, roles: ['partner_reader'] },
      { type: types.all, roles: [] },
    ],
    addLeaf,
    mark,
  };
}

/** Resolves the RP afresh (no cached statements), as the registration endpoint and the refresh job do. */
export async function resolveRp(resolver: TrustChainResolver, entity: TestEntity): Promise<ResolvedEntity> {
  const result = await resolver.resolve(entity.entityId, { entityType: RP, forceRefresh: true });
  assertOk(result);
  return result.entity;
}
