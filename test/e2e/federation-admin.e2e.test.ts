import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { decodeJwt, decodeProtectedHeader, exportJWK, type JSONWebKeySet, SignJWT } from 'jose';
import { withAdminClient } from '../../src/cli/admin-client.ts';
import {
  ENTITY_CONFIGURATION_PATH,
  JWT_TYPES,
  MEDIA_TYPES,
  verifyEntityStatement,
  verifyFederationJwt,
} from '../../src/federation/index.ts';
import { platformPaths } from '../../src/platform/index.ts';
import { loadKek } from '../../src/platform/kek.ts';
import { engineTargets } from '../support/engines.ts';
import { freePort, PlatformProcess, run } from '../support/platform-process.ts';

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

interface Resolution {
  ok: boolean;
  entity_id: string;
  trust_anchor: string | null;
  expires_at: string | null;
  chain: Array<{ iss: string; sub: string; iat: number; exp: number; kind: string }>;
  trust_chain: string[];
  metadata: Record<string, Record<string, unknown>> | null;
  trust_marks: Array<{ trust_mark_type: string; iss: string; exp: number | null }>;
  findings: Array<{ step: string; code: string; message: string; entity_id: string | null }>;
}

interface LiveLeaf {
  entityId: string;
  jwks: JSONWebKeySet;
  /** Entity Configuration claims merged over the defaults at every request. */
  claims: Record<string, unknown>;
  close(): Promise<void>;
}

/**
 * A leaf entity on 127.0.0.1 serving its Entity Configuration (§9) over TLS. It presents the platform's own
 * listener certificate, issued by the platform CA, which is what the platform's federation fetcher trusts
 * besides the system roots.
 */
async function startLiveLeaf(dataDir: string, authorityHint: string): Promise<LiveLeaf> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'live-leaf-1', alg: 'ES256', use: 'sig' }] };
  const paths = platformPaths(dataDir);
  let entityId = '';
  const leaf: LiveLeaf = { entityId, jwks, claims: {}, close: async () => {} };
  const server: Server = createServer(
    {
      cert: readFileSync(paths.serverCert),
      key: readFileSync(paths.serverKey),
      passphrase: loadKek(dataDir, { create: false }, {}),
    },
    (req, res) => {
      if (req.url !== ENTITY_CONFIGURATION_PATH) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
        return;
      }
      const now = Math.floor(Date.now() / 1000);
      new SignJWT({
        iss: entityId,
        sub: entityId,
        iat: now - 60,
        exp: now + 3600,
        jwks,
        authority_hints: [authorityHint],
        metadata: {
          openid_relying_party: {
            client_name: 'Live RP',
            redirect_uris: ['https://rp.live.example/callback'],
            token_endpoint_auth_method: 'client_secret_basic',
          },
        },
        ...leaf.claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'live-leaf-1', typ: JWT_TYPES.entityStatement })
        .sign(privateKey)
        .then((jwt) => res.writeHead(200, { 'content-type': MEDIA_TYPES.entityStatement }).end(jwt))
        .catch(() => res.writeHead(500).end());
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  entityId = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  leaf.entityId = entityId;
  leaf.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return leaf;
}

for (const target of targets) {
  describe(`federation authority end to end: ${target.name}`, { skip: target.skip, timeout: 180_000 }, () => {
    let platform: PlatformProcess;
    let token: string;
    let orgId: string;
    let trustMarkType: string;
    let leaf: LiveLeaf | undefined;
    const files = (name: string) => join(platform.dir, name);

    before(async () => {
      const options = target.freshOptions();
      platform = await PlatformProcess.create({
        // The platform (its own Trust Anchor at https://localhost:PORT) and the live test leaf are on loopback.
        ACCREDIT_FEDERATION_ALLOW_LOOPBACK: 'true',
        ...(target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {}),
      });
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
      await leaf?.close();
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
        '/admin/v1/federation/resolve',
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

    const resolve = async (args: string[]) => {
      const r = await platform.cli(['federation', 'resolve', ...args, '--json']);
      return { code: r.code, stderr: r.stderr, body: json<Resolution>(r.stdout) };
    };
    const auditCount = async () =>
      json<{ items: unknown[] }>((await admin('GET', '/audit?limit=1000')).body).items.length;

    test('ok/federation resolve of the platform itself: its own Entity Configuration is the whole chain; nothing is audited', async () => {
      const audited = await auditCount();
      const { code, stderr, body } = await resolve([platform.url]);
      assert.equal(code, 0, stderr);
      assert.equal(body.ok, true);
      assert.equal(body.entity_id, platform.url);
      assert.equal(body.trust_anchor, platform.url);
      assert.deepEqual(
        body.chain.map((s) => [s.kind, s.iss, s.sub]),
        [['entity_configuration', platform.url, platform.url]],
      );
      assert.equal(body.expires_at, new Date((body.chain[0]?.exp ?? 0) * 1000).toISOString());
      assert.equal(body.trust_chain.length, 1);
      assert.equal(
        body.metadata?.federation_entity?.federation_fetch_endpoint,
        `${platform.url}/federation/fetch`,
      );
      assert.deepEqual(body.findings, []);
      const human = await platform.cli(['federation', 'resolve', platform.url, '--refresh']);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^valid:\s+yes$/m);
      assert.match(
        human.stdout,
        /^ {2}0 {2}entity_configuration {2}https:\/\/localhost:\d+ → https:\/\/localhost:\d+ {2}exp \d{4}-\d\d-\d\dT/m,
      );
      assert.match(human.stdout, /^Metadata:\n\{\n[\s\S]*^ {2}"federation_entity": \{$/m);
      assert.match(human.stdout, /^Findings:\n {2}\(none\)$/m);
      assert.equal(await auditCount(), audited, 'resolution is read-only');
      const cases: Array<[string, unknown]> = [
        ['fail/no entity_id', {}],
        ['fail/unknown member', { entity_id: platform.url, jwks: {} }],
        ['fail/force_refresh not a boolean', { entity_id: platform.url, force_refresh: 'yes' }],
      ];
      for (const [name, payload] of cases) {
        const r = await admin('POST', '/federation/resolve', payload);
        assert.equal(r.status, 400, name);
        assert.match(r.type, /^application\/problem\+json/, name);
      }
      const anonymous = await curl([
        '-X',
        'POST',
        '-H',
        'content-type: application/json',
        '--data-binary',
        JSON.stringify({ entity_id: platform.url }),
        `${platform.url}/admin/v1/federation/resolve`,
      ]);
      assert.equal(anonymous.status, 401);
    });

    test('fail/federation resolve without a valid chain: ok false, every finding with its step, exit 1', async () => {
      const unreachable = `https://127.0.0.1:${await freePort()}`;
      const cases: Array<[string, string[], string, RegExp]> = [
        ['fail/unreachable entity', [unreachable], unreachable, /^§/],
        [
          'fail/not a configured Trust Anchor',
          [platform.url, '--trust-anchor', 'https://ta.other.example'],
          'https://ta.other.example',
          /^§10\.1$/,
        ],
        ['fail/not an https Entity Identifier', ['http://rp.partner.example'], '', /^§1\.2$/],
      ];
      for (const [name, args, entityId, step] of cases) {
        const { code, body } = await resolve([...args, '--refresh']);
        assert.equal(code, 1, name);
        assert.equal(body.ok, false, name);
        assert.equal(body.trust_anchor, null, name);
        assert.deepEqual(body.chain, [], name);
        assert.ok(body.findings.length > 0, name);
        for (const f of body.findings) assert.match(f.step, /^§\d/, `${name}: ${f.step}`);
        assert.match(body.findings[0]?.step ?? '', step, name);
        if (entityId) assert.equal(body.findings[0]?.entity_id, entityId, name);
      }
      const human = await platform.cli(['federation', 'resolve', unreachable]);
      assert.equal(human.code, 1);
      assert.equal(human.stderr, '');
      assert.match(human.stdout, /^valid:\s+no/m);
      assert.doesNotMatch(human.stdout, /Trust Chain \(/);
      const noChain = new RegExp(
        `^ {2}§10\\.1 +no_trust_chain +${unreachable.replace(/[.:/]/g, '\\$&')} +no valid Trust Chain from `,
        'm',
      );
      assert.match(human.stdout, noChain);
    });

    test('ok/federation resolve of a live leaf subordinate: chain of 3, policy applied, trust mark verified; PATCH and DELETE through the admin client', async () => {
      leaf = await startLiveLeaf(platform.dir, platform.url);
      const live = leaf;
      const before = await resolve([live.entityId]);
      assert.equal(before.code, 1, 'not a subordinate yet');
      assert.ok(
        before.body.findings.some(
          (f) => f.step === '§8.1.2' && f.code === 'not_found' && f.entity_id === platform.url,
        ),
        JSON.stringify(before.body.findings),
      );

      writeFileSync(files('live.jwks.json'), JSON.stringify(live.jwks));
      await cliOk([
        'federation',
        'subordinate',
        'add',
        '--entity-id',
        live.entityId,
        '--org',
        orgId,
        '--jwks',
        files('live.jwks.json'),
        '--policy',
        files('policy.json'),
      ]);
      const issued = await cliOk([
        'federation',
        'trust-mark',
        'issue',
        '--type',
        trustMarkType,
        '--sub',
        live.entityId,
      ]);
      const mark = await curl([
        `${platform.url}/federation/trust-mark?trust_mark_type=${encodeURIComponent(trustMarkType)}&sub=${encodeURIComponent(live.entityId)}`,
      ]);
      assert.equal(mark.status, 200, mark.body);
      live.claims.trust_marks = [{ trust_mark_type: trustMarkType, trust_mark: mark.body }];
      // The leaf's Entity Configuration fetched above is cached until its exp: --refresh fetches the new one.

      const { code, stderr, body } = await resolve([
        live.entityId,
        '--trust-anchor',
        platform.url,
        '--entity-type',
        'openid_relying_party',
        '--refresh',
      ]);
      assert.equal(code, 0, stderr);
      assert.equal(body.ok, true, JSON.stringify(body.findings));
      assert.equal(body.trust_anchor, platform.url);
      assert.deepEqual(
        body.chain.map((s) => [s.kind, s.iss, s.sub]),
        [
          ['entity_configuration', live.entityId, live.entityId],
          ['subordinate_statement', platform.url, live.entityId],
          ['entity_configuration', platform.url, platform.url],
        ],
      );
      assert.deepEqual(
        body.trust_chain.map((jwt) => decodeJwt(jwt).iss),
        [live.entityId, platform.url, platform.url],
      );
      const privateMembers = body.trust_chain.flatMap((jwt) =>
        ((decodeJwt(jwt).jwks as JSONWebKeySet).keys as Array<Record<string, unknown>>).filter(
          (k) => 'd' in k,
        ),
      );
      assert.deepEqual(privateMembers, [], 'public keys only');
      assert.deepEqual(body.metadata, {
        openid_relying_party: {
          client_name: 'Live RP',
          redirect_uris: ['https://rp.live.example/callback'],
          token_endpoint_auth_method: 'private_key_jwt',
        },
      });
      assert.deepEqual(
        body.trust_marks.map((m) => [m.trust_mark_type, m.iss]),
        [[trustMarkType, platform.url]],
        JSON.stringify(body.findings),
      );
      assert.deepEqual(body.findings, []);
      const human = await platform.cli(['federation', 'resolve', live.entityId]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(
        human.stdout,
        /^ {2}1 {2}subordinate_statement {2}https:\/\/localhost:\d+ → https:\/\/127\.0\.0\.1:\d+ {2}exp \d{4}-/m,
      );
      assert.match(human.stdout, /"token_endpoint_auth_method": "private_key_jwt"/);
      assert.ok(human.stdout.includes(`  ${trustMarkType}  iss ${platform.url}  exp never`), human.stdout);

      // PATCH and DELETE straight through the CLI's admin client.
      await withAdminClient({ dataDir: platform.dir, url: platform.url }, async (client) => {
        const path = `/federation/subordinates/${encodeURIComponent(live.entityId)}`;
        const patched = await client.call<{ metadata_policy: unknown }>('PATCH', path, {
          metadata_policy: { openid_relying_party: { client_name: { value: 'Renamed RP' } } },
        });
        assert.deepEqual(patched.metadata_policy, {
          openid_relying_party: { client_name: { value: 'Renamed RP' } },
        });
        const cached = await resolve([live.entityId, '--entity-type', 'openid_relying_party']);
        assert.equal(cached.body.metadata?.openid_relying_party?.client_name, 'Live RP', 'cached chain');
        const fresh = await resolve([live.entityId, '--entity-type', 'openid_relying_party', '--refresh']);
        assert.equal(fresh.body.metadata?.openid_relying_party?.client_name, 'Renamed RP');

        const revoked = await client.call<{ status: string }>(
          'DELETE',
          `/federation/trust-marks/${encodeURIComponent(String(issued.id))}`,
        );
        assert.equal(revoked.status, 'revoked');
        await assert.rejects(
          client.call('PATCH', path, { jwks: { keys: [privateJwk('nope')] } }),
          /private or symmetric key material/,
        );
      });
      const withoutMark = await resolve([live.entityId, '--refresh']);
      assert.equal(withoutMark.code, 0, 'a Trust Mark that fails is a finding, the chain stays valid');
      assert.deepEqual(withoutMark.body.trust_marks, []);
      assert.ok(
        withoutMark.body.findings.some((f) => f.step.startsWith('§') && /revoked/.test(f.message)),
        JSON.stringify(withoutMark.body.findings),
      );

      // `subordinate remove` without a reason uses the DELETE route (the POST alias only carries a reason).
      const removed = await cliOk(['federation', 'subordinate', 'remove', live.entityId]);
      assert.equal(removed.status, 'removed');
      const deleteLine = `"method":"DELETE","url":"/admin/v1/federation/subordinates/${encodeURIComponent(live.entityId)}"`;
      // The request log line may reach the platform's stdout a moment after the response.
      for (let i = 0; i < 50 && !platform.output.includes(deleteLine); i++) await delay(100);
      assert.ok(platform.output.includes(deleteLine), 'the CLI sent DELETE');
      const again = await platform.cli(['federation', 'subordinate', 'remove', live.entityId]);
      assert.equal(again.code, 1);
      const after = await resolve([live.entityId, '--refresh']);
      assert.equal(after.code, 1);
      assert.equal(after.body.ok, false);
      assert.ok(
        after.body.findings.some((f) => f.code === 'not_found' && f.entity_id === platform.url),
        JSON.stringify(after.body.findings),
      );
    });
  });
}
