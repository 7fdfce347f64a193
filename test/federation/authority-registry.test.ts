import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { verifyAuditChain } from '../../src/audit/index.ts';
import { createOrganisation, setOrganisationStatus } from '../../src/directory/index.ts';
import {
  addSubordinate,
  getSubordinate,
  issueTrustMark,
  listSubordinates,
  listTrustMarks,
  removeSubordinate,
  type SubordinateInput,
  updateSubordinate,
} from '../../src/federation/index.ts';
import type { Change, Storage } from '../../src/storage/index.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { entityKey, TA, TRUST_MARK_TYPE } from './authority-fixture.ts';

const targets = await engineTargets();
const LEAF = 'https://rp.partner.example';
const TYPES = [
  { type: TRUST_MARK_TYPE, roles: [] },
  { type: 'https://ta.example/trust-marks/payments', roles: ['partner_writer'] },
];

interface Ctx {
  storage: Storage;
  orgId: string;
  jwks: { keys: Array<Record<string, unknown>> };
}

async function setup(target: Parameters<typeof seededStorage>[0]): Promise<Ctx> {
  const storage = await seededStorage(target);
  const orgId = await storage.transaction((tx) =>
    createOrganisation(tx, { name: 'Acme Bank', roles: ['partner_reader'] }, META),
  );
  const { publicJwk } = await entityKey();
  return { storage, orgId, jwks: { keys: [publicJwk as Record<string, unknown>] } };
}

const add = (c: Ctx, input: Partial<SubordinateInput>, allowHttpLoopback = false) =>
  c.storage.transaction((tx) =>
    addSubordinate(
      tx,
      { entityId: LEAF, orgId: c.orgId, jwks: c.jwks, ...input },
      { authorityEntityId: TA, allowHttpLoopback },
      META,
    ),
  );

const rsaPublic = (bits: number) =>
  ({
    ...generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' }),
    kid: 'r',
  }) as Record<string, unknown>;
const ecPrivate = () =>
  ({
    ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
    kid: 'p',
  }) as Record<string, unknown>;

for (const target of targets) {
  describe(`federation subordinates and trust marks: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/add, update and remove publish federation.subordinate changes and are audited', async () => {
      const c = await setup(target);
      try {
        await c.storage.feed.start();
        const seen: Change[] = [];
        c.storage.feed.subscribe((change) => seen.push(change));
        const added = await add(c, {
          metadata: { openid_relying_party: { client_name: 'RP' } },
          constraints: { allowed_entity_types: ['openid_relying_party'] },
        });
        assert.equal(added.status, 'active');
        assert.equal(added.is_intermediate, false);
        assert.deepEqual(added.entity_types, ['openid_relying_party'], 'derived from the metadata');
        const updated = await c.storage.transaction((tx) =>
          updateSubordinate(tx, LEAF, { metadata: null, isIntermediate: true }, META),
        );
        assert.equal(updated.metadata, null);
        assert.equal(updated.is_intermediate, true);
        assert.deepEqual(
          updated.entity_types,
          ['federation_entity', 'openid_relying_party'],
          'registered types stay; an Intermediate is a federation_entity',
        );
        await c.storage.transaction((tx) =>
          issueTrustMark(tx, { trustMarkType: TRUST_MARK_TYPE, sub: LEAF }, TYPES, META),
        );
        const removed = await c.storage.transaction((tx) =>
          removeSubordinate(tx, LEAF, { ...META, reason: 'left' }),
        );
        assert.equal(removed.status, 'removed');
        assert.equal(removed.removed_at, META.now.toISOString());
        assert.deepEqual(
          (await listTrustMarks(c.storage.db, { sub: LEAF })).map((m) => m.status),
          ['revoked'],
          'removal revokes its trust marks',
        );
        assert.deepEqual(
          seen.filter((s) => s.kind === 'federation.subordinate').map((s) => [s.entityId, s.payload]),
          [
            [LEAF, { status: 'active', org_id: c.orgId }],
            [LEAF, { status: 'active', org_id: c.orgId }],
            [LEAF, { status: 'removed', org_id: c.orgId }],
          ],
        );
        assert.deepEqual(
          seen.filter((s) => s.kind === 'federation.trust_mark').map((s) => s.payload.status),
          ['active', 'revoked'],
        );
        const actions = (
          await c.storage.db
            .selectFrom('audit_log')
            .select('action')
            .where('action', 'like', 'federation.%')
            .orderBy('seq')
            .execute()
        ).map((r) => r.action);
        assert.deepEqual(actions, [
          'federation.subordinate.add',
          'federation.subordinate.update',
          'federation.trust_mark.issue',
          'federation.trust_mark.revoke',
          'federation.subordinate.remove',
        ]);
        assert.equal((await verifyAuditChain(c.storage.db)).ok, true);

        const readded = await add(c, { isIntermediate: true });
        assert.equal(readded.status, 'active', 'a removed subordinate can be added again');
        assert.equal(readded.removed_at, null);
        assert.deepEqual(
          (await listSubordinates(c.storage.db, { intermediate: true })).map((s) => s.entity_id),
          [LEAF],
        );
      } finally {
        await c.storage.close();
      }
    });

    const invalid: Array<[string, Partial<SubordinateInput>, number, RegExp]> = [
      ['fail/entity id over http', { entityId: 'http://rp.partner.example' }, 400, /https/],
      ['fail/entity id with a query', { entityId: 'https://rp.partner.example/?a=1' }, 400, /query/],
      ['fail/entity id with a fragment', { entityId: 'https://rp.partner.example/#x' }, 400, /fragment/],
      ['fail/entity id not a URL', { entityId: 'rp.partner.example' }, 400, /not a URL/],
      [
        'fail/entity id with credentials',
        { entityId: 'https://u:p@rp.partner.example' },
        400,
        /user information/,
      ],
      ['fail/the platform itself', { entityId: TA }, 400, /own Entity Identifier/],
      ['fail/http on loopback without the dev flag', { entityId: 'http://localhost:9000' }, 400, /https/],
      ['fail/jwks missing', { jwks: undefined }, 400, /JWK Set/],
      ['fail/jwks without keys', { jwks: { keys: [] } }, 400, /at least one key/],
      [
        'fail/jwks key without kid',
        { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }] } },
        400,
        /kid is required/,
      ],
      [
        'fail/jwks with a private key',
        { jwks: { keys: [ecPrivate()] } },
        400,
        /private or symmetric key material \(d\)/,
      ],
      [
        'fail/jwks with a symmetric key',
        { jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 's' }] } },
        400,
        /\(k\)/,
      ],
      ['fail/jwks with a short RSA key', { jwks: { keys: [rsaPublic(1024)] } }, 400, /2048/],
      [
        'fail/jwks key that is not a key',
        { jwks: { keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'z' }] } },
        400,
        /not a valid public JWK/,
      ],
      [
        'fail/metadata policy value not among one_of',
        {
          metadataPolicy: {
            openid_relying_party: { grant_types: { value: ['implicit'], one_of: ['code'] } },
          },
        },
        400,
        /metadata_policy\.openid_relying_party/,
      ],
      [
        'fail/metadata policy operand of the wrong type',
        { metadataPolicy: { openid_relying_party: { grant_types: { subset_of: 'code' } } } },
        400,
        /metadata_policy/,
      ],
      [
        'fail/metadata_policy_crit naming an operator not understood',
        {
          metadataPolicy: { openid_relying_party: { grant_types: { subset_of: ['code'] } } },
          metadataPolicyCrit: ['regexp'],
        },
        400,
        /metadata_policy/,
      ],
      [
        'fail/metadata_policy_crit without a policy',
        { metadataPolicyCrit: ['regexp'] },
        400,
        /needs a metadata_policy/,
      ],
      [
        'fail/metadata with null values',
        { metadata: { openid_relying_party: { logo_uri: null } } },
        400,
        /null/,
      ],
      ['fail/negative max_path_length', { constraints: { max_path_length: -1 } }, 400, /max_path_length/],
      [
        'fail/allowed_entity_types with federation_entity',
        { constraints: { allowed_entity_types: ['federation_entity'] } },
        400,
        /federation_entity/,
      ],
      ['fail/unknown organisation', { orgId: '00000000-0000-0000-0000-000000000000' }, 404, /does not exist/],
    ];
    for (const [name, input, status, message] of invalid) {
      test(`${name} → ${status}, nothing stored`, async () => {
        const c = await setup(target);
        try {
          await assert.rejects(add(c, input), (err: Error & { status?: number }) => {
            assert.equal(err.status, status, err.message);
            assert.match(err.message, message);
            return true;
          });
          assert.deepEqual(await listSubordinates(c.storage.db), []);
        } finally {
          await c.storage.close();
        }
      });
    }

    test('ok/http on loopback with the dev flag; fail/duplicates and offboarded organisations are conflicts', async () => {
      const c = await setup(target);
      try {
        assert.equal(
          (await add(c, { entityId: 'http://localhost:9000' }, true)).entity_id,
          'http://localhost:9000',
        );
        await add(c, {});
        await assert.rejects(add(c, {}), { status: 409 });
        await c.storage.transaction((tx) => setOrganisationStatus(tx, c.orgId, 'offboarded', META));
        await assert.rejects(add(c, { entityId: 'https://late.partner.example' }), { status: 409 });
        await assert.rejects(getSubordinate(c.storage.db, 'https://late.partner.example'), { status: 404 });
      } finally {
        await c.storage.close();
      }
    });

    test('fail/trust marks: unknown type, unknown or removed subject, missing role, bad lifetime', async () => {
      const c = await setup(target);
      try {
        await add(c, {});
        const issue = (type: string, sub = LEAF, expiresIn?: number) =>
          c.storage.transaction((tx) =>
            issueTrustMark(tx, { trustMarkType: type, sub, expiresIn }, TYPES, META),
          );
        await assert.rejects(issue('https://ta.example/trust-marks/unknown'), {
          status: 400,
          code: 'unknown_trust_mark_type',
        });
        await assert.rejects(issue(TRUST_MARK_TYPE, 'https://nobody.example'), { status: 404 });
        await assert.rejects(issue('https://ta.example/trust-marks/payments'), {
          status: 409,
          code: 'role_required',
        });
        await assert.rejects(issue(TRUST_MARK_TYPE, LEAF, 5), { status: 400 });
        const ok = await issue(TRUST_MARK_TYPE, LEAF, 3600);
        assert.equal(ok.exp, ok.iat + 3600);
        await c.storage.transaction((tx) => removeSubordinate(tx, LEAF, META));
        await assert.rejects(issue(TRUST_MARK_TYPE), { status: 404 });
      } finally {
        await c.storage.close();
      }
    });
  });
}
