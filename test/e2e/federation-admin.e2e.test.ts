import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import {
  JWT_TYPES,
  MEDIA_TYPES,
  verifyEntityStatement,
  verifyFederationJwt,
} from '../../src/federation/index.ts';
import { engineTargets } from '../support/engines.ts';
import { PlatformProcess, run } from '../support/platform-process.ts';

const targets = await engineTargets();
const json = <T>(text: string): T => JSON.parse(text) as T;
const LEAF = 'https://rp.partner.example';

const publicJwk = (kid: string) => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' }),
  kid,
});
const privateJwk = (kid: string) => ({
  ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }),
  kid,
});

for (const target of targets) {
  describe(`federation authority end to end: ${target.name}`, { skip: target.skip, timeout: 180_000 }, () => {
    let platform: PlatformProcess;
    let token: string;
    let orgId: string;
    let trustMarkType: string;
    const files = (name: string) => join(platform.dir, name);

    before(async () => {
      const options = target.freshOptions();
      platform = await PlatformProcess.create(
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {},
      );
      await platform.start(['--init']);
      token = readFileSync(files('operator-token'), 'utf8').trim();
      trustMarkType = `${platform.url}/trust-marks/accredited-partner`;
      const org = await platform.cli(['org', 'create', '--name', 'Federated Partner', '--json']);
      assert.equal(org.code, 0, org.stderr);
      orgId = json<{ id: string }>(org.stdout).id;
      writeFileSync(files('leaf.jwks.json'), JSON.stringify({ keys: [publicJwk('leaf-1')] }));
      writeFileSync(files('private.jwks.json'), JSON.stringify({ keys: [privateJwk('leaf-p')] }));
      writeFileSync(
        files('policy.json'),
        JSON.stringify({
          openid_relying_party: { token_endpoint_auth_method: { value: 'private_key_jwt' } },
        }),
      );
      writeFileSync(
        files('bad-policy.json'),
        JSON.stringify({ openid_relying_party: { grant_types: { value: ['implicit'], one_of: ['code'] } } }),
      );
      writeFileSync(files('constraints.json'), JSON.stringify({ max_path_length: 0 }));
    });

    after(async () => {
      await platform?.stop();
      platform?.cleanup();
      await target.cleanup();
    });

    const curl = (args: string[]) =>
      run('curl', [
        '-sS',
        '--cacert',
        platform.caBundle,
        '-w',
        '\n%{http_code} %{content_type}',
        ...args,
      ]).then((r) => {
        const lines = r.stdout.trimEnd().split('\n');
        const [status, ...type] = (lines.pop() ?? '').split(' ');
        return { status: Number(status), type: type.join(' '), body: lines.join('\n') };
      });
    const admin = (method: string, path: string, body?: unknown) =>
      curl([
        '-X',
        method,
        '-H',
        `authorization: Bearer ${token}`,
        ...(body === undefined
          ? []
          : ['-H', 'content-type: application/json', '--data-binary', JSON.stringify(body)]),
        `${platform.url}/admin/v1${path}`,
      ]);
    const entityConfiguration = async () => {
      const r = await curl([`${platform.url}/.well-known/openid-federation`]);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.type, MEDIA_TYPES.entityStatement);
      return { jwt: r.body, jwks: decodeJwt(r.body).jwks as JSONWebKeySet };
    };
    const fetchLeaf = () => curl([`${platform.url}/federation/fetch?sub=${encodeURIComponent(LEAF)}`]);
    const cliOk = async (args: string[]) => {
      const r = await platform.cli([...args, '--json']);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return json<Record<string, unknown>>(r.stdout);
    };

    test('ok/the Entity Configuration is served over TLS beside the authorization server’s discovery', async () => {
      const { jwt, jwks } = await entityConfiguration();
      const { payload } = await verifyEntityStatement(jwt, jwks, { now: new Date() });
      assert.equal(payload.iss, platform.url);
      assert.equal(payload.sub, platform.url);
      const fe = payload.metadata?.federation_entity as Record<string, string>;
      assert.equal(fe.federation_fetch_endpoint, `${platform.url}/federation/fetch`);
      assert.equal(fe.federation_resolve_endpoint, `${platform.url}/federation/resolve`);
      assert.deepEqual(payload.trust_mark_issuers, { [trustMarkType]: [platform.url] });
      const discovery = await curl([`${platform.url}/.well-known/openid-configuration`]);
      assert.equal(discovery.status, 200);
      assert.equal(json<{ issuer: string }>(discovery.body).issuer, platform.url);
      const openapi = json<{ paths: Record<string, unknown> }>(
        (await curl([`${platform.url}/admin/v1/openapi.json`])).body,
      );
      for (const path of [
        '/admin/v1/federation/subordinates',
        '/admin/v1/federation/subordinates/{entityId}',
        '/admin/v1/federation/keys/rotate',
      ]) {
        assert.ok(openapi.paths[path], `OpenAPI documents ${path}`);
      }
    });

    test('fail/subordinate add rejects bad input with one clear line', async () => {
      const cases: Array<[string, string[], RegExp]> = [
        [
          'fail/entity id over http',
          ['--entity-id', 'http://rp.partner.example', '--org', orgId, '--jwks', files('leaf.jwks.json')],
          /https/,
        ],
        [
          'fail/entity id with a query',
          ['--entity-id', `${LEAF}/?x=1`, '--org', orgId, '--jwks', files('leaf.jwks.json')],
          /query/,
        ],
        [
          'fail/private key in jwks',
          ['--entity-id', LEAF, '--org', orgId, '--jwks', files('private.jwks.json')],
          /private or symmetric key material/,
        ],
        [
          'fail/invalid policy',
          [
            '--entity-id',
            LEAF,
            '--org',
            orgId,
            '--jwks',
            files('leaf.jwks.json'),
            '--policy',
            files('bad-policy.json'),
          ],
          /metadata_policy\.openid_relying_party/,
        ],
        [
          'fail/unknown organisation',
          ['--entity-id', LEAF, '--org', 'nope', '--jwks', files('leaf.jwks.json')],
          /organisation nope does not exist/,
        ],
        ['fail/missing --jwks', ['--entity-id', LEAF, '--org', orgId], /required option '--jwks <file>'/],
        [
          'fail/unreadable --jwks',
          ['--entity-id', LEAF, '--org', orgId, '--jwks', files('none.json')],
          /cannot read JWKS file/,
        ],
      ];
      for (const [name, args, message] of cases) {
        const r = await platform.cli(['federation', 'subordinate', 'add', ...args]);
        assert.notEqual(r.code, 0, `${name} must fail`);
        assert.match(r.stderr, message, name);
        assert.equal(
          r.stderr
            .trim()
            .split('\n')
            .filter((l) => !l.startsWith('(run with')).length,
          1,
          `${name}: ${r.stderr}`,
        );
      }
      const listed = await cliOk(['federation', 'subordinate', 'list']);
      assert.deepEqual(listed, []);
    });

    test('ok/subordinate add → fetch serves a statement verifiable against the Entity Configuration', async () => {
      const added = await cliOk([
        'federation',
        'subordinate',
        'add',
        '--entity-id',
        LEAF,
        '--org',
        orgId,
        '--jwks',
        files('leaf.jwks.json'),
        '--policy',
        files('policy.json'),
        '--constraints',
        files('constraints.json'),
        '--entity-types',
        'openid_relying_party',
      ]);
      assert.equal(added.status, 'active');
      assert.deepEqual(added.entity_types, ['openid_relying_party']);
      const fetched = await fetchLeaf();
      assert.equal(fetched.status, 200, fetched.body);
      assert.equal(fetched.type, MEDIA_TYPES.entityStatement);
      const { jwks } = await entityConfiguration();
      const { payload } = await verifyEntityStatement(fetched.body, jwks, { now: new Date() });
      assert.equal(payload.iss, platform.url);
      assert.equal(payload.sub, LEAF);
      assert.deepEqual(
        payload.jwks?.keys.map((k) => k.kid),
        ['leaf-1'],
      );
      assert.deepEqual(payload.constraints, { max_path_length: 0 });
      const list = await curl([`${platform.url}/federation/list`]);
      assert.deepEqual(json(list.body), [LEAF]);
      // The admin API addresses the subordinate by its URL-encoded Entity Identifier.
      const read = await admin('GET', `/federation/subordinates/${encodeURIComponent(LEAF)}`);
      assert.equal(read.status, 200, read.body);
      const patched = await admin('PATCH', `/federation/subordinates/${encodeURIComponent(LEAF)}`, {
        constraints: null,
      });
      assert.equal(patched.status, 200, patched.body);
      assert.equal(json<{ constraints: unknown }>(patched.body).constraints, null);
      const bad = await admin('PATCH', `/federation/subordinates/${encodeURIComponent(LEAF)}`, {
        metadata_policy: { openid_relying_party: { scope: { subset_of: 'x' } } },
      });
      assert.equal(bad.status, 400);
      assert.match(bad.type, /^application\/problem\+json/);
    });

    test('ok/trust mark issue → endpoint → status active; revoke → status revoked; fail/unknown type', async () => {
      const unknown = await platform.cli([
        'federation',
        'trust-mark',
        'issue',
        '--type',
        'https://x.example/tm',
        '--sub',
        LEAF,
      ]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /does not issue trust marks of type https:\/\/x\.example\/tm/);
      const issued = await cliOk([
        'federation',
        'trust-mark',
        'issue',
        '--type',
        trustMarkType,
        '--sub',
        LEAF,
        '--expires-in',
        '3600',
      ]);
      const mark = await curl([
        `${platform.url}/federation/trust-mark?trust_mark_type=${encodeURIComponent(trustMarkType)}&sub=${encodeURIComponent(LEAF)}`,
      ]);
      assert.equal(mark.status, 200, mark.body);
      assert.equal(mark.type, MEDIA_TYPES.trustMark);
      assert.equal(decodeJwt(mark.body).jti, issued.id);
      const status = async () => {
        const r = await curl([
          '--data-urlencode',
          `trust_mark=${mark.body}`,
          `${platform.url}/federation/trust-mark-status`,
        ]);
        assert.equal(r.status, 200, r.body);
        assert.equal(r.type, MEDIA_TYPES.trustMarkStatusResponse);
        const { jwks } = await entityConfiguration();
        const { payload } = await verifyFederationJwt<{ iat: number; exp: number; status: string }>(
          r.body,
          jwks,
          {
            typ: JWT_TYPES.trustMarkStatusResponse,
            now: new Date(),
          },
        );
        return payload.status;
      };
      assert.equal(await status(), 'active');
      const listed = await cliOk(['federation', 'trust-mark', 'list', '--sub', LEAF]);
      assert.equal((listed as unknown as unknown[]).length, 1);
      const revoked = await cliOk([
        'federation',
        'trust-mark',
        'revoke',
        String(issued.id),
        '--reason',
        'audit failed',
      ]);
      assert.equal(revoked.status, 'revoked');
      assert.equal(await status(), 'revoked');
      const again = await platform.cli(['federation', 'trust-mark', 'revoke', String(issued.id)]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /already revoked/);
    });

    test('ok/keys rotate: the old key stays in the Entity Configuration and appears in historical keys', async () => {
      const before = await fetchLeaf();
      const oldKid = decodeProtectedHeader(before.body).kid;
      const keysBefore = await cliOk(['federation', 'keys', 'list']);
      assert.deepEqual(
        (keysBefore as unknown as Array<{ kid: string; status: string }>).map((k) => [k.kid, k.status]),
        [[oldKid, 'active']],
      );
      const rotated = await cliOk(['federation', 'keys', 'rotate']);
      assert.deepEqual(rotated.retired, [oldKid]);
      const { jwks } = await entityConfiguration();
      assert.equal(jwks.keys.length, 2);
      await verifyEntityStatement(before.body, jwks, { now: new Date() });
      const after = await fetchLeaf();
      assert.equal(decodeProtectedHeader(after.body).kid, (rotated.active as { kid: string }).kid);
      const hist = await curl([`${platform.url}/federation/historical-keys`]);
      assert.equal(hist.type, MEDIA_TYPES.jwkSet);
      const { payload } = await verifyFederationJwt<{
        iat: number;
        exp: number;
        keys: Array<{ kid: string }>;
      }>(hist.body, jwks, {
        typ: JWT_TYPES.jwkSet,
        now: new Date(),
      });
      assert.deepEqual(
        payload.keys.map((k) => k.kid),
        [oldKid],
      );
      const human = await platform.cli(['federation', 'keys', 'list']);
      assert.match(human.stdout, /retired/);
    });

    test('ok/subordinate remove → fetch answers not_found; the audit log records every change and verifies', async () => {
      const removed = await cliOk([
        'federation',
        'subordinate',
        'remove',
        LEAF,
        '--reason',
        'contract ended',
      ]);
      assert.equal(removed.status, 'removed');
      const gone = await fetchLeaf();
      assert.equal(gone.status, 404);
      assert.match(gone.type, /^application\/json/);
      assert.equal(json<{ error: string }>(gone.body).error, 'not_found');
      const deleted = await admin('DELETE', `/federation/subordinates/${encodeURIComponent(LEAF)}`);
      assert.equal(deleted.status, 404, 'already removed');
      const audit = json<{ items: Array<{ action: string }> }>(
        (await admin('GET', '/audit?limit=1000')).body,
      );
      const actions = audit.items.map((a) => a.action).filter((a) => a.startsWith('federation.'));
      assert.deepEqual(actions, [
        'federation.subordinate.add',
        'federation.subordinate.update',
        'federation.trust_mark.issue',
        'federation.trust_mark.revoke',
        'federation.key.rotate',
        'federation.subordinate.remove',
      ]);
      assert.equal(json<{ ok: boolean }>((await admin('GET', '/audit/verify')).body).ok, true);
    });
  });
}
