// Issue 15 partner API (/partner/v1): organisation profile and contacts, applications (sandbox grants,
// production behind the go-live gate), role requests, certificates from a CSR (subject from the directory),
// renewal, revocation, software statements, the catalog, the playbook — and object-level authorisation of
// every endpoint: another organisation's member gets 404, a viewer 403 on changes, no session 401.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import { createCsr } from '../../src/pki/index.ts';
import {
  type ConsolePlatform,
  call,
  makeMember,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from './support/console-platform.ts';

const newCsr = () => createCsr(generateKeyPairSync('ec', { namedCurve: 'P-256' }));

describe('partner API (issue 15)', { timeout: 120_000 }, () => {
  let cp: ConsolePlatform;
  let orgA: string;
  let orgB: string;
  let adminA: TestSession;
  let devA: TestSession;
  let viewerA: TestSession;
  let adminB: TestSession;
  let appA: string;
  let serialA: string;
  let contactA: string;
  let requestA: string;
  const base = (org: string) => `/partner/v1/organisations/${org}`;

  before(async () => {
    // Renewal is allowed at once (100 % window) so the renew test needs no clock games.
    cp = await startConsolePlatform({ ACCREDIT_RENEWAL_WINDOW_PERCENT: '100' });
    const meta = { actor: 'test', now: new Date() };
    orgA = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Partner A Ltd', roles: ['partner_reader'] }, meta),
    );
    orgB = await cp.platform.storage.transaction((tx) =>
      createOrganisation(tx, { name: 'Partner B Ltd', roles: ['partner_reader'] }, meta),
    );
    adminA = await sessionFor(cp, await makeMember(cp, orgA, 'org_admin'));
    devA = await sessionFor(cp, await makeMember(cp, orgA, 'developer'));
    viewerA = await sessionFor(cp, await makeMember(cp, orgA, 'viewer'));
    adminB = await sessionFor(cp, await makeMember(cp, orgB, 'org_admin'));
    const created = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'A sandbox app',
      roles: ['partner_reader', 'partner_writer'],
    });
    assert.equal(created.status, 201, created.text);
    appA = created.json.client_id;
    const cert = await call(cp, devA, 'POST', `${base(orgA)}/applications/${appA}/certificates`, {
      csr: await newCsr(),
    });
    assert.equal(cert.status, 201, cert.text);
    serialA = cert.json.serial;
    const contact = await call(cp, adminA, 'POST', `${base(orgA)}/contacts`, {
      kind: 'security',
      name: 'Sec Team',
      email: 'sec@a.example',
    });
    assert.equal(contact.status, 201, contact.text);
    contactA = contact.json.id;
    requestA = created.json.role_requests[0].id;
  });
  after(async () => {
    await cp?.stop();
  });

  test('ok/profile: name, status, approved roles, contacts, live_at', async () => {
    const res = await call(cp, viewerA, 'GET', base(orgA));
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.name, 'Partner A Ltd');
    assert.deepEqual(res.json.roles, ['partner_reader']);
    assert.equal(res.json.live_at, null);
    assert.equal(res.json.member_role, 'viewer');
    assert.ok(res.json.contacts.some((c: { id: string }) => c.id === contactA));
  });

  test('fail/contacts: only org_admin changes them; bad kind is a 400 problem', async () => {
    const asDev = await call(cp, devA, 'POST', `${base(orgA)}/contacts`, {
      kind: 'technical',
      name: 'X',
      email: 'x@a.example',
    });
    assert.equal(asDev.status, 403);
    assert.equal(asDev.json.code, 'insufficient_member_role');
    const bad = await call(cp, adminA, 'POST', `${base(orgA)}/contacts`, {
      kind: 'ceo',
      name: 'X',
      email: 'x@a.example',
    });
    assert.equal(bad.status, 400);
    assert.match(String(bad.headers['content-type']), /problem\+json|json/);
    const added = await call(cp, adminA, 'POST', `${base(orgA)}/contacts`, {
      kind: 'billing',
      name: 'Bills',
      email: 'bills@a.example',
    });
    assert.equal(added.status, 201, added.text);
    const removed = await call(cp, adminA, 'DELETE', `${base(orgA)}/contacts/${added.json.id}`);
    assert.equal(removed.status, 204, removed.text);
    const list = await call(cp, viewerA, 'GET', `${base(orgA)}/contacts`);
    assert.ok(!list.json.items.some((c: { id: string }) => c.id === added.json.id));
  });

  test('ok/sandbox: approved roles granted at once, the others requested', async () => {
    const res = await call(cp, viewerA, 'GET', `${base(orgA)}/applications/${appA}`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.environment, 'sandbox');
    assert.deepEqual(res.json.roles, ['partner_reader']);
    assert.deepEqual(
      res.json.role_requests.map((r: { role: string; status: string }) => [r.role, r.status]),
      [['partner_writer', 'pending']],
    );
    const list = await call(cp, viewerA, 'GET', `${base(orgA)}/applications`, undefined);
    assert.ok(list.json.items.some((a: { client_id: string }) => a.client_id === appA));
    const prod = await call(cp, viewerA, 'GET', `${base(orgA)}/applications?environment=production`);
    assert.equal(prod.status, 200);
    assert.ok(!prod.json.items.some((a: { client_id: string }) => a.client_id === appA));
  });

  test('fail/production before go-live is 409 go_live_required; after it, roles are all requested', async () => {
    const early = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'A prod app',
      environment: 'production',
      roles: ['partner_reader'],
    });
    assert.equal(early.status, 409, early.text);
    assert.equal(early.json.code, 'go_live_required');
    await cp.platform.storage.db
      .updateTable('organisations')
      .set({ live_at: new Date().toISOString() })
      .where('id', '=', orgA)
      .execute();
    const live = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'A prod app',
      environment: 'production',
      roles: ['partner_reader'],
    });
    assert.equal(live.status, 201, live.text);
    assert.deepEqual(live.json.roles, []);
    assert.deepEqual(
      live.json.role_requests.map((r: { role: string }) => r.role),
      ['partner_reader'],
    );
    // Production certificates once live; then software statements (production applications only).
    const cert = await call(
      cp,
      devA,
      'POST',
      `${base(orgA)}/applications/${live.json.client_id}/certificates`,
      {
        csr: await newCsr(),
      },
    );
    assert.equal(cert.status, 201, cert.text);
    const ssa = await call(cp, devA, 'POST', `${base(orgA)}/software-statements`, {
      software_id: live.json.client_id,
    });
    assert.equal(ssa.status, 201, ssa.text);
    assert.match(ssa.json.software_statement, /^ey/);
    const sandboxSsa = await call(cp, devA, 'POST', `${base(orgA)}/software-statements`, {
      software_id: appA,
    });
    assert.equal(sandboxSsa.status, 409);
    const listed = await call(cp, viewerA, 'GET', `${base(orgA)}/software-statements`);
    assert.deepEqual(
      listed.json.items.map((s: { jti: string }) => s.jti),
      [ssa.json.jti],
    );
    assert.ok(!listed.text.includes(ssa.json.software_statement), 'the JWT is never listed');
    const other = await call(cp, adminB, 'GET', `${base(orgB)}/software-statements`);
    assert.deepEqual(other.json.items, []);
  });

  test('fail/unknown role or bad environment is a 400 problem and nothing is written', async () => {
    const res = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'Half written',
      roles: ['no_such_role'],
    });
    assert.equal(res.status, 400, res.text);
    const list = await call(cp, devA, 'GET', `${base(orgA)}/applications`);
    assert.ok(!list.json.items.some((a: { name: string }) => a.name === 'Half written'));
    const env = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'X',
      environment: 'staging',
    });
    assert.equal(env.status, 400);
  });

  test('ok/private_key_jwt with public keys; a private key in the JWKS is refused', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pub = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'ES256' };
    const ok = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'Assertion app',
      auth_method: 'private_key_jwt',
      jwks: { keys: [pub] },
    });
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.json.auth_method, 'private_key_jwt');
    const leaked = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'Leaky app',
      auth_method: 'private_key_jwt',
      jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'k2' }] },
    });
    assert.equal(leaked.status, 400, leaked.text);
    assert.doesNotMatch(leaked.text, /"d":/);
    const none = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'Keyless app',
      auth_method: 'private_key_jwt',
    });
    assert.equal(none.status, 400, none.text);
  });

  test('ok/certificate: subject from the directory, CA bundle, PEM download', async () => {
    const res = await call(cp, viewerA, 'GET', `${base(orgA)}/certificates/${serialA}`);
    assert.equal(res.status, 200, res.text);
    const cert = new X509Certificate(res.json.certificate_pem);
    assert.match(cert.subject, new RegExp(`CN=${appA}`));
    assert.match(cert.subject, /Partner A Ltd/);
    assert.doesNotMatch(cert.subject, /accredit-partner/, 'the CSR subject is ignored');
    assert.ok(res.json.ca_bundle_pem.includes('BEGIN CERTIFICATE'));
    assert.ok(cert.verify(new X509Certificate(res.json.ca_bundle_pem).publicKey));
    const pem = await call(cp, viewerA, 'GET', `${base(orgA)}/certificates/${serialA}/pem`);
    assert.equal(pem.status, 200);
    assert.match(String(pem.headers['content-type']), /application\/x-pem-file/);
    assert.ok((pem.text.match(/BEGIN CERTIFICATE/g)?.length ?? 0) >= 2, pem.text);
    const negotiated = await call(cp, viewerA, 'GET', `${base(orgA)}/certificates/${serialA}`, undefined, {
      accept: 'application/x-pem-file',
    });
    assert.equal(negotiated.text, pem.text);
    assert.doesNotMatch(pem.text + res.text, /PRIVATE KEY/);
    const list = await call(cp, viewerA, 'GET', `${base(orgA)}/applications/${appA}/certificates`);
    assert.equal(list.json.items[0].serial, serialA);
  });

  test('fail/a CSR that is not one is a 400 problem', async () => {
    const res = await call(cp, devA, 'POST', `${base(orgA)}/applications/${appA}/certificates`, {
      csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    });
    assert.equal(res.status, 400, res.text);
    assert.ok(res.json.code);
  });

  test('ok/renew then revoke', async () => {
    const issued = await call(cp, devA, 'POST', `${base(orgA)}/applications/${appA}/certificates`, {
      csr: await newCsr(),
    });
    const renewed = await call(cp, devA, 'POST', `${base(orgA)}/certificates/${issued.json.serial}/renew`, {
      csr: await newCsr(),
    });
    assert.equal(renewed.status, 201, renewed.text);
    assert.equal(renewed.json.renews, issued.json.serial);
    assert.equal(renewed.json.client_id, appA);
    const old = await call(cp, viewerA, 'GET', `${base(orgA)}/certificates/${issued.json.serial}`);
    assert.equal(old.json.superseded_by, renewed.json.serial);
    const revoked = await call(cp, devA, 'POST', `${base(orgA)}/certificates/${renewed.json.serial}/revoke`, {
      reason: 'keyCompromise',
    });
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal(revoked.json.status, 'revoked');
    assert.equal(revoked.json.revocation_reason, 'keyCompromise');
    const again = await call(
      cp,
      devA,
      'POST',
      `${base(orgA)}/certificates/${renewed.json.serial}/revoke`,
      {},
    );
    assert.equal(again.status, 409);
    const badReason = await call(cp, devA, 'POST', `${base(orgA)}/certificates/${serialA}/revoke`, {
      reason: 'cACompromise',
    });
    assert.equal(badReason.status, 400);
  });

  test('ok/role requests: ask, list, withdraw; a decided one cannot be withdrawn', async () => {
    const asked = await call(cp, devA, 'POST', `${base(orgA)}/applications/${appA}/role-requests`, {
      role: 'partner_analyst',
    });
    assert.equal(asked.status, 201, asked.text);
    const dup = await call(cp, devA, 'POST', `${base(orgA)}/applications/${appA}/role-requests`, {
      role: 'partner_analyst',
    });
    assert.equal(dup.status, 409);
    const list = await call(cp, viewerA, 'GET', `${base(orgA)}/role-requests?status=pending`);
    assert.ok(list.json.items.some((r: { id: string }) => r.id === asked.json.id));
    const withdrawn = await call(cp, devA, 'DELETE', `${base(orgA)}/role-requests/${asked.json.id}`);
    assert.equal(withdrawn.status, 200, withdrawn.text);
    assert.equal(withdrawn.json.status, 'withdrawn');
    const twice = await call(cp, devA, 'DELETE', `${base(orgA)}/role-requests/${asked.json.id}`);
    assert.equal(twice.status, 409);
  });

  test('ok/playbook: the client_id and this platform’s URLs', async () => {
    const res = await call(cp, viewerA, 'GET', `${base(orgA)}/applications/${appA}/playbook`);
    assert.equal(res.status, 200, res.text);
    const { urls } = cp.platform;
    assert.equal(res.json.client_id, appA);
    assert.equal(res.json.urls.token_endpoint, `${urls.mtls}/token`);
    assert.equal(res.json.urls.gateway, urls.gateway);
    assert.equal(res.json.urls.ca_bundle, `${urls.public}/pki/ca-bundle.pem`);
    const all = res.json.steps.map((s: { command: string }) => s.command).join('\n');
    for (const needle of [appA, `${urls.mtls}/token`, urls.gateway, 'openssl req', 'openssl verify']) {
      assert.ok(all.includes(needle), `${needle} in the playbook`);
    }
    assert.match(all, /--cert client\.pem --key client\.key --cacert ca-bundle\.pem/);
    assert.match(all, /grant_type=client_credentials/);
    assert.match(all, /openssl s_client -connect /);
  });

  test('ok/the playbook’s commands work as written: key, CSR, certificate, token, gateway call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'accredit-playbook-'));
    try {
      const res = await call(cp, devA, 'GET', `${base(orgA)}/applications/${appA}/playbook`);
      const steps: string[] = res.json.steps.map((s: { command: string }) => s.command);
      // Asynchronous: the platform answers from this very process.
      const bash = async (script: string) =>
        (
          await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script], {
            cwd: dir,
            encoding: 'utf8',
            timeout: 20_000,
          })
        ).stdout;
      const [bundle, keyAndCsr, verify, match, sClient, token, gateway] = steps as [
        string,
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      // 1: the bundle, and the fingerprint the step says it must have.
      const printed = await bash(bundle);
      const expected = /# must print: (.+)$/m.exec(bundle)?.[1];
      assert.ok(expected && printed.includes(expected), `${printed} vs ${expected}`);
      // 2: key and CSR with openssl; the CSR goes to the API, the certificate comes back.
      await bash(keyAndCsr);
      const issued = await call(cp, devA, 'POST', `${base(orgA)}/applications/${appA}/certificates`, {
        csr: readFileSync(join(dir, 'client.csr'), 'utf8'),
      });
      assert.equal(issued.status, 201, issued.text);
      writeFileSync(join(dir, 'client.pem'), issued.json.certificate_pem);
      assert.match(await bash(verify), /client\.pem: OK/);
      const [a, b] = (await bash(match)).trim().split('\n');
      assert.equal(a, b);
      await bash(sClient);
      // 6 + 7: a certificate-bound token, then the API through the gateway.
      const answer = await bash(`${token}\n${gateway}`);
      assert.match(answer, /^ey[\w-]+\.[\w-]+\.[\w-]+$/m, answer);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('ok/catalog: the published access catalog', async () => {
    const res = await call(cp, viewerA, 'GET', '/partner/v1/catalog');
    assert.equal(res.status, 200, res.text);
    assert.ok(res.json.roles.some((r: { name: string }) => r.name === 'partner_reader'));
    assert.equal((await call(cp, undefined, 'GET', '/partner/v1/catalog')).status, 401);
  });

  test('ok/patch and delete an application: certificates revoked, requests withdrawn', async () => {
    const made = await call(cp, devA, 'POST', `${base(orgA)}/applications`, {
      name: 'Short lived',
      roles: ['partner_reader', 'partner_writer'],
    });
    const id = made.json.client_id;
    const renamed = await call(cp, devA, 'PATCH', `${base(orgA)}/applications/${id}`, {
      name: 'Short lived 2',
      redirect_uris: ['https://app.a.example/cb'],
    });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.json.name, 'Short lived 2');
    assert.deepEqual(renamed.json.metadata.redirect_uris, ['https://app.a.example/cb']);
    const bad = await call(cp, devA, 'PATCH', `${base(orgA)}/applications/${id}`, {
      redirect_uris: ['http://insecure.example/cb'],
    });
    assert.equal(bad.status, 400, bad.text);
    const cert = await call(cp, devA, 'POST', `${base(orgA)}/applications/${id}/certificates`, {
      csr: await newCsr(),
    });
    const gone = await call(cp, devA, 'DELETE', `${base(orgA)}/applications/${id}`);
    assert.equal(gone.status, 204, gone.text);
    assert.equal((await call(cp, devA, 'GET', `${base(orgA)}/applications/${id}`)).status, 404);
    const c = await call(cp, devA, 'GET', `${base(orgA)}/certificates/${cert.json.serial}`);
    assert.equal(c.json.status, 'revoked');
    assert.equal(c.json.revocation_reason, 'cessationOfOperation');
    const reqs = await call(cp, devA, 'GET', `${base(orgA)}/role-requests?client_id=${id}`);
    assert.deepEqual(
      reqs.json.items.map((r: { status: string }) => r.status),
      ['withdrawn'],
    );
  });

  test('fail/before go-live no production credential: certificate and software statement 409', async () => {
    // An operator registered a production client for B (not live): the partner cannot get its credentials yet.
    const prodB = await cp.platform.storage.transaction((tx) =>
      createApplication(
        tx,
        { orgId: orgB, name: 'B prod', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
        { actor: 'test', now: new Date() },
      ),
    );
    const cert = await call(cp, adminB, 'POST', `${base(orgB)}/applications/${prodB}/certificates`, {
      csr: await newCsr(),
    });
    assert.equal(cert.status, 409, cert.text);
    assert.equal(cert.json.code, 'go_live_required');
    const ssa = await call(cp, adminB, 'POST', `${base(orgB)}/software-statements`, { software_id: prodB });
    assert.equal(ssa.status, 409, ssa.text);
    assert.equal(ssa.json.code, 'go_live_required');
    const listed = await call(cp, adminB, 'GET', `${base(orgB)}/applications/${prodB}/certificates`);
    assert.deepEqual(listed.json.items, []);
  });

  test('ok/the partner routes are in the OpenAPI document', async () => {
    const own = await call(cp, undefined, 'GET', '/partner/v1/openapi.json');
    const doc = own.status === 200 ? own : await call(cp, undefined, 'GET', '/admin/v1/openapi.json');
    assert.equal(doc.status, 200, doc.text);
    const paths = Object.keys(doc.json.paths);
    for (const path of [
      '/partner/v1/organisations/{orgId}/applications',
      '/partner/v1/organisations/{orgId}/applications/{clientId}/certificates',
      '/partner/v1/organisations/{orgId}/certificates/{serial}/renew',
      '/partner/v1/organisations/{orgId}/applications/{clientId}/playbook',
      '/partner/v1/organisations/{orgId}/software-statements',
    ]) {
      assert.ok(paths.includes(path), path);
    }
  });

  // Every partner endpoint on an organisation's objects, with A's objects in it.
  const endpoints = (): Array<{ method: string; path: (org: string) => string; body?: unknown }> => [
    { method: 'GET', path: (o) => base(o) },
    { method: 'GET', path: (o) => `${base(o)}/contacts` },
    {
      method: 'POST',
      path: (o) => `${base(o)}/contacts`,
      body: { kind: 'technical', name: 'N', email: 'n@x.example' },
    },
    { method: 'DELETE', path: (o) => `${base(o)}/contacts/${contactA}` },
    { method: 'GET', path: (o) => `${base(o)}/applications` },
    { method: 'POST', path: (o) => `${base(o)}/applications`, body: { name: 'Intruder' } },
    { method: 'GET', path: (o) => `${base(o)}/applications/${appA}` },
    { method: 'PATCH', path: (o) => `${base(o)}/applications/${appA}`, body: { name: 'Hijacked' } },
    { method: 'DELETE', path: (o) => `${base(o)}/applications/${appA}` },
    { method: 'GET', path: (o) => `${base(o)}/role-requests` },
    {
      method: 'POST',
      path: (o) => `${base(o)}/applications/${appA}/role-requests`,
      body: { role: 'partner_analyst' },
    },
    { method: 'DELETE', path: (o) => `${base(o)}/role-requests/${requestA}` },
    { method: 'GET', path: (o) => `${base(o)}/applications/${appA}/certificates` },
    {
      method: 'POST',
      path: (o) => `${base(o)}/applications/${appA}/certificates`,
      body: { csr: 'CSR' },
    },
    { method: 'GET', path: (o) => `${base(o)}/certificates/${serialA}` },
    { method: 'GET', path: (o) => `${base(o)}/certificates/${serialA}/pem` },
    { method: 'POST', path: (o) => `${base(o)}/certificates/${serialA}/renew`, body: { csr: 'CSR' } },
    { method: 'POST', path: (o) => `${base(o)}/certificates/${serialA}/revoke`, body: {} },
    { method: 'GET', path: (o) => `${base(o)}/software-statements` },
    { method: 'POST', path: (o) => `${base(o)}/software-statements`, body: { software_id: appA } },
    { method: 'GET', path: (o) => `${base(o)}/applications/${appA}/playbook` },
  ];
  // Objects of A named in a path of B: the ones the object-level lookup must refuse (the collection routes of
  // B itself answer B's own data).
  const namesAnObject = (path: string) => [appA, serialA, contactA, requestA].some((id) => path.includes(id));

  test('fail/object level: no session 401, another organisation 404, viewer 403 on changes', async () => {
    const failures: string[] = [];
    for (const e of endpoints()) {
      const label = `${e.method} ${e.path(':org')}`;
      const anon = await call(cp, undefined, e.method, e.path(orgA), e.body);
      if (anon.status !== 401) failures.push(`${label} without a session: ${anon.status}`);
      // A member of B on A's organisation: not a member, 404.
      const foreignOrg = await call(cp, adminB, e.method, e.path(orgA), e.body);
      if (foreignOrg.status !== 404) failures.push(`${label} B on A: ${foreignOrg.status}`);
      // A member of B naming A's object under B's own organisation: object-level 404.
      if (namesAnObject(e.path(orgB))) {
        const foreignObject = await call(cp, adminB, e.method, e.path(orgB), e.body);
        if (foreignObject.status !== 404) {
          failures.push(`${label} A's object under B: ${foreignObject.status} ${foreignObject.text}`);
        }
      }
      if (e.method !== 'GET') {
        const viewer = await call(cp, viewerA, e.method, e.path(orgA), e.body);
        if (viewer.status !== 403) failures.push(`${label} as viewer: ${viewer.status}`);
      }
    }
    assert.deepEqual(failures, []);
    // Nothing of A changed through any of it.
    const a = await call(cp, viewerA, 'GET', `${base(orgA)}/applications/${appA}`);
    assert.equal(a.json.name, 'A sandbox app');
    const c = await call(cp, viewerA, 'GET', `${base(orgA)}/certificates/${serialA}`);
    assert.equal(c.json.status, 'active');
    const r = await call(cp, viewerA, 'GET', `${base(orgA)}/role-requests`);
    assert.equal(r.json.items.find((x: { id: string }) => x.id === requestA)?.status, 'pending');
  });
});
