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

// The issue's "done when": a real client library (openid-client's dynamicClientRegistration) registers with a
// software statement the directory issued (`accredit ssa issue`), gets a certificate-bound token and calls the
// gateway; after RFC 7592 deletion the gateway refuses the same token. The real platform, over TLS.
for (const target of targets) {
  describe(`dynamic client registration end to end (openid-client): ${target.name}`, {
    skip: target.skip,
    timeout: 240_000,
  }, () => {
    let platform: PlatformProcess;
    let agent: Agent;
    let fetchOverMtls: client.CustomFetch;
    let certX5t: string;
    const ids: Record<string, string> = {};
    const f = (name: string) => join(platform.dir, name);

    const cli = async (args: string[]) => {
      const r = await platform.cli([...args, '--json']);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const issueStatement = async () =>
      String((await cli(['ssa', 'issue', '--app', ids.software!])).software_statement);

    /** openid-client's RFC 7591 client: discovery (RFC 8414) at the issuer, then POST to registration_endpoint. */
    const register = (metadata: Partial<client.ClientMetadata>) =>
      client.dynamicClientRegistration(new URL(platform.url), metadata, client.TlsClientAuth(), {
        algorithm: 'oauth2',
        [client.customFetch]: fetchOverMtls,
        timeout: 15,
      });

    /** RFC 7592 calls at the client configuration endpoint, bearer registration access token. */
    const configure = (url: string, token: string, method = 'GET') =>
      undiciFetch(url, { method, headers: { authorization: `Bearer ${token}` }, dispatcher: agent });

    const gateway = (token: string) =>
      undiciFetch(`${platform.gatewayUrl}/v1/accounts`, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher: agent,
      });

    before(async () => {
      const options = target.freshOptions();
      const database =
        target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema }
          : {};
      platform = await PlatformProcess.create(database);
      await platform.start(['--init']);
      ids.acme = String((await cli(['org', 'create', '--name', 'Acme Bank'])).id);
      // The software: a manually registered application with its platform-issued certificate.
      ids.software = String(
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
      const req = await opensslKeyAndRequest({
        key: f('software.key'),
        out: f('software.csr'),
        subject: '/CN=x',
      });
      assert.equal(req.code, 0, req.stderr);
      await cli([
        'cert',
        'issue',
        '--app',
        ids.software,
        '--csr',
        f('software.csr'),
        '--out',
        f('software.crt'),
      ]);
      const certPem = readFileSync(f('software.crt'), 'utf8');
      certX5t = x5tS256(new X509Certificate(certPem).raw);
      ({ agent, fetch: fetchOverMtls } = mtlsFetch(platform.caBundle, certPem, f('software.key')));
    });

    after(async () => {
      await agent?.close();
      await platform?.stop();
      platform?.cleanup();
      await target.cleanup();
    });

    test('ok/register with a software statement, certificate-bound token, gateway 200; delete; the gateway refuses the token', async () => {
      const statement = await issueStatement();
      const registered = await register({ software_statement: statement, scope: 'accounts:read' });
      const metadata = registered.clientMetadata();
      const clientId = registered.clientMetadata().client_id;
      assert.match(clientId, /^cl_/);
      assert.notEqual(clientId, ids.software);
      assert.equal(metadata.software_id, ids.software);
      assert.equal(
        metadata.software_statement,
        statement,
        'RFC 7591 §3.2.1: the statement is echoed unmodified',
      );
      assert.equal(metadata.scope, 'accounts:read', 'the request narrowed the statement');
      assert.equal(metadata.token_endpoint_auth_method, 'tls_client_auth');
      assert.equal(metadata.tls_client_certificate_bound_access_tokens, true);
      const registrationUri = String(metadata.registration_client_uri);
      const registrationToken = String(metadata.registration_access_token);
      assert.equal(registrationUri, `${platform.mtlsUrl}/register/${clientId}`);
      assert.equal(registered.serverMetadata().registration_endpoint, `${platform.mtlsUrl}/register`);

      // RFC 8705 §5: client authentication and binding over the mTLS listener's token endpoint alias.
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
        scope: string;
        cnf: Record<string, string>;
      };
      assert.equal(claims.client_id, clientId);
      assert.equal(claims.org_id, ids.acme);
      assert.equal(claims.scope, 'accounts:read');
      assert.equal(claims.cnf['x5t#S256'], certX5t, 'bound to the software certificate the client presented');
      const ok = await gateway(tokens.access_token);
      assert.equal(ok.status, 200, await ok.text());

      // RFC 7592 §2.1: read with the registration access token; §3: the read rotates it.
      const read = await configure(registrationUri, registrationToken);
      assert.equal(read.status, 200);
      const current = (await read.json()) as { client_id: string; registration_access_token: string };
      assert.equal(current.client_id, clientId);
      assert.notEqual(current.registration_access_token, registrationToken);
      assert.equal((await configure(registrationUri, registrationToken)).status, 401);

      // RFC 7592 §2.3: delete; the gateway refuses the client's still unexpired token at once.
      const deleted = await configure(registrationUri, current.registration_access_token, 'DELETE');
      assert.equal(deleted.status, 204);
      const refused = await gateway(tokens.access_token);
      // RFC 6750 §3.1: the client is gone, so its token is invalid_token (401 with a challenge).
      assert.equal(refused.status, 401, await refused.text());
      assert.match(String(refused.headers.get('www-authenticate')), /error="invalid_token"/);
      await assert.rejects(client.clientCredentialsGrant(config), (err: { error?: string }) => {
        assert.equal(err.error, 'invalid_client');
        return true;
      });
      const gone = await configure(registrationUri, current.registration_access_token);
      assert.equal(gone.status, 401);
    });

    test('fail/the operator suspends the software: the client registered with it is suspended too, tokens included', async () => {
      const registered = await register({ software_statement: await issueStatement() });
      const clientId = registered.clientMetadata().client_id;
      const config = new client.Configuration(
        registered.serverMetadata(),
        clientId,
        { use_mtls_endpoint_aliases: true },
        client.TlsClientAuth(),
      );
      config[client.customFetch] = fetchOverMtls;
      const before = await client.clientCredentialsGrant(config);
      assert.equal((await gateway(before.access_token)).status, 200);
      const refusedGrant = () =>
        assert.rejects(client.clientCredentialsGrant(config), (err: { error?: string }) => {
          assert.equal(err.error, 'invalid_client');
          return true;
        });
      await cli(['app', 'suspend', ids.software!, '--reason', 'e2e']);
      try {
        // The token issued before the suspension is refused at once, not at its expiry.
        const refused = await gateway(before.access_token);
        assert.ok(refused.status === 401 || refused.status === 403, String(refused.status));
        await refusedGrant();
      } finally {
        await cli(['app', 'activate', ids.software!]);
      }
      // Re-activating the software leaves its clients to the operator's decision.
      await refusedGrant();
      await cli(['app', 'activate', clientId]);
      const after = await client.clientCredentialsGrant(config);
      assert.equal((await gateway(after.access_token)).status, 200);
    });

    test('fail/openid-client surfaces RFC 7591 §3.2.2 errors: a replayed statement, a widened scope, no statement', async () => {
      const statement = await issueStatement();
      await register({ software_statement: statement });
      const refusal = async (metadata: Partial<client.ClientMetadata>, code: string) =>
        assert.rejects(register(metadata), (err: { error?: string; status?: number; cause?: unknown }) => {
          assert.equal(err.error, code, String(err));
          assert.equal(err.status, 400);
          return true;
        });
      await refusal({ software_statement: statement }, 'invalid_software_statement');
      await refusal(
        { software_statement: await issueStatement(), scope: 'reports:download' },
        'invalid_client_metadata',
      );
      await refusal({ token_endpoint_auth_method: 'tls_client_auth' }, 'invalid_software_statement');
    });
  });
}
