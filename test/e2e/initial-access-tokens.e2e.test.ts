import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { type Agent, fetch as undiciFetch } from 'undici';
import { x5tS256 } from '../../src/pki/index.ts';
import { engineTargets } from '../support/engines.ts';
import { mtlsFetch } from '../support/mtls-fetch.ts';
import { opensslKeyAndRequest, PlatformProcess } from '../support/platform-process.ts';

const targets = await engineTargets();

/** RFC 6750 §3 as openid-client reports it: a WWWAuthenticateChallengeError whose Bearer challenge names the error. */
function isInvalidTokenChallenge(err: {
  status?: number;
  cause?: Array<{ scheme?: string; parameters?: Record<string, string> }>;
}): boolean {
  assert.equal(err.status, 401, String(err));
  assert.equal(err.cause?.[0]?.scheme, 'bearer');
  assert.equal(err.cause?.[0]?.parameters?.error, 'invalid_token');
  return true;
}

interface TokenRecord {
  id: string;
  org_id: string;
  roles: string[];
  status: string;
  max_uses: number;
  used_count: number;
  initial_access_token?: string;
}

// RFC 7591 §3 where the operator allows it (ACCREDIT_REGISTRATION_ALLOW_IAT): the operator issues an initial
// access token with the CLI, a real client library (openid-client's dynamicClientRegistration with
// `initialAccessToken`) registers with it alone, gets a certificate-bound token and calls the gateway (200).
for (const target of targets) {
  describe(`initial access tokens end to end (openid-client): ${target.name}`, {
    skip: target.skip,
    timeout: 240_000,
  }, () => {
    let platform: PlatformProcess;
    let agent: Agent;
    let fetchOverMtls: client.CustomFetch;
    let subject: string;
    let certX5t: string;
    const ids: Record<string, string> = {};
    const f = (name: string) => join(platform.dir, name);

    const cli = async <T = Record<string, unknown>>(args: string[]) => {
      const r = await platform.cli([...args, '--json']);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as T;
    };
    const issueToken = async (extra: string[] = []) =>
      cli<TokenRecord>([
        'registration',
        'token',
        'issue',
        '--org',
        ids.acme!,
        '--roles',
        'partner_reader',
        ...extra,
      ]);
    const listTokens = () => cli<TokenRecord[]>(['registration', 'token', 'list', '--org', ids.acme!]);

    /** openid-client's RFC 7591 client: discovery (RFC 8414) at the issuer, then POST with the Bearer token. */
    const register = (metadata: Partial<client.ClientMetadata>, initialAccessToken: string) =>
      client.dynamicClientRegistration(new URL(platform.url), metadata, client.TlsClientAuth(), {
        algorithm: 'oauth2',
        initialAccessToken,
        [client.customFetch]: fetchOverMtls,
        timeout: 15,
      });
    const metadata = (): Partial<client.ClientMetadata> => ({
      client_name: 'Acme batch',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: subject,
      grant_types: ['client_credentials'],
    });

    before(async () => {
      const options = target.freshOptions();
      platform = await PlatformProcess.create({
        ACCREDIT_REGISTRATION_ALLOW_IAT: 'true',
        ...(target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {}),
      });
      await platform.start(['--init']);
      ids.acme = String((await cli(['org', 'create', '--name', 'Acme Bank'])).id);
      // A certificate the platform issued to the organisation: the identity the new client authenticates with.
      ids.app = String(
        (
          await cli([
            'app',
            'create',
            '--org',
            ids.acme,
            '--name',
            'Payments',
            '--roles',
            'partner_reader,partner_writer',
            '--auth',
            'tls_client_auth',
          ])
        ).client_id,
      );
      const req = await opensslKeyAndRequest({ key: f('acme.key'), out: f('acme.csr'), subject: '/CN=x' });
      assert.equal(req.code, 0, req.stderr);
      const cert = await cli([
        'cert',
        'issue',
        '--app',
        ids.app,
        '--csr',
        f('acme.csr'),
        '--out',
        f('acme.crt'),
      ]);
      subject = String(cert.subject);
      const certPem = readFileSync(f('acme.crt'), 'utf8');
      certX5t = x5tS256(new X509Certificate(certPem).raw);
      ({ agent, fetch: fetchOverMtls } = mtlsFetch(platform.caBundle, certPem, f('acme.key')));
    });

    after(async () => {
      await agent?.close();
      await platform?.stop();
      platform?.cleanup();
      await target.cleanup();
    });

    test('ok/accredit registration token issue → openid-client registers with it alone → certificate-bound token → gateway 200', async () => {
      const issued = await issueToken();
      assert.match(String(issued.initial_access_token), /^acc_iat_/);
      assert.deepEqual(issued.roles, ['partner_reader']);
      assert.equal(issued.max_uses, 1);

      const registered = await register(metadata(), String(issued.initial_access_token));
      const info = registered.clientMetadata();
      const clientId = info.client_id;
      assert.match(clientId, /^cl_/);
      assert.equal(info.org_id, ids.acme);
      assert.deepEqual(info.roles, ['partner_reader']);
      assert.equal(info.scope, 'accounts:read');
      assert.equal(info.software_statement, undefined);
      assert.equal(info.tls_client_auth_subject_dn, subject);

      const config = new client.Configuration(
        registered.serverMetadata(),
        clientId,
        { use_mtls_endpoint_aliases: true },
        client.TlsClientAuth(),
      );
      config[client.customFetch] = fetchOverMtls;
      const tokens = await client.clientCredentialsGrant(config);
      const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as {
        client_id: string;
        org_id: string;
        cnf: Record<string, string>;
      };
      assert.equal(claims.client_id, clientId);
      assert.equal(claims.org_id, ids.acme);
      assert.equal(claims.cnf['x5t#S256'], certX5t);
      const ok = await undiciFetch(`${platform.gatewayUrl}/v1/accounts`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
        dispatcher: agent,
      });
      assert.equal(ok.status, 200, await ok.text());

      const record = (await listTokens()).find((t) => t.id === issued.id);
      assert.equal(record?.used_count, 1);
      assert.equal(record?.status, 'exhausted');
      assert.equal(record?.initial_access_token, undefined, 'the list never shows the token');

      // RFC 6750 §3.1 through the library: the spent token is invalid_token (401).
      await assert.rejects(
        register(metadata(), String(issued.initial_access_token)),
        isInvalidTokenChallenge,
      );
    });

    test('fail/a revoked token, a widened role, another organisation’s subject: refused through openid-client', async () => {
      const revoked = await issueToken(['--uses', '3', '--expires-in', '600']);
      const r = await cli<TokenRecord>(['registration', 'token', 'revoke', revoked.id]);
      assert.equal(r.status, 'revoked');
      await assert.rejects(
        register(metadata(), String(revoked.initial_access_token)),
        isInvalidTokenChallenge,
      );
      const unused = await issueToken();
      const token = String(unused.initial_access_token);
      const refusal = (extra: Partial<client.ClientMetadata>) =>
        assert.rejects(
          register({ ...metadata(), ...extra }, token),
          (err: { error?: string; status?: number }) => {
            assert.equal(err.error, 'invalid_client_metadata', String(err));
            assert.equal(err.status, 400);
            return true;
          },
        );
      await refusal({ roles: ['partner_reader', 'partner_writer'] });
      await refusal({ tls_client_auth_subject_dn: 'CN=someone else' });
      const tokens = await listTokens();
      assert.equal(tokens.find((t) => t.id === revoked.id)?.status, 'revoked');
      assert.equal(
        tokens.find((t) => t.id === unused.id)?.used_count,
        0,
        'a refused registration spends no use',
      );
    });

    test('ok/the CLI: --help, a human-readable issue, and a usage error for a bad --uses', async () => {
      const help = await platform.cli(['registration', 'token', 'issue', '--help']);
      assert.equal(help.code, 0);
      assert.match(help.stdout, /--roles <roles>/);
      assert.match(help.stdout, /--expires-in <seconds>/);
      const human = await platform.cli([
        'registration',
        'token',
        'issue',
        '--org',
        ids.acme!,
        '--roles',
        'partner_reader',
      ]);
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^initial_access_token: +acc_iat_/m);
      assert.match(human.stderr, /shown only now/);
      const bad = await platform.cli([
        'registration',
        'token',
        'issue',
        '--org',
        ids.acme!,
        '--roles',
        'x',
        '--uses',
        'many',
      ]);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /expected a number of uses/);
      const unknownRole = await platform.cli([
        'registration',
        'token',
        'issue',
        '--org',
        ids.acme!,
        '--roles',
        'root',
      ]);
      assert.equal(unknownRole.code, 1);
      assert.match(unknownRole.stderr, /unknown role: root/);
    });
  });
}
