import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import type { PresentedCertificate } from '../../src/authorization-server/client-certificate.ts';
import { bindingCertificate } from '../../src/authorization-server/token-endpoint/binding-certificate.ts';
import { certificateAuthorized } from '../../src/authorization-server/token-endpoint/certificate-authorized.ts';
import type {
  CertificateClient,
  CertificateState,
} from '../../src/authorization-server/token-endpoint/certificate-state.ts';
import { certificateSubjectMatches } from '../../src/authorization-server/token-endpoint/certificate-subject-matches.ts';
import { checkRequestedScope } from '../../src/authorization-server/token-endpoint/check-requested-scope.ts';
import { issuedCertificateRefusal } from '../../src/authorization-server/token-endpoint/issued-certificate-refusal.ts';
import type { IssuedCertificateState } from '../../src/authorization-server/token-endpoint/look-up-issued-certificate.ts';

// The steps only pass the certificate object on: any object stands for it.
const CERT = Object.freeze({ subject: 'CN=stand-in' }) as unknown as X509Certificate;
const SUBJECT = 'CN=cl_software,O=Acme,OU=org_1';

const issued = (over: Partial<IssuedCertificateState> = {}): IssuedCertificateState => ({
  client_id: 'cl_own',
  org_id: 'org_1',
  subject: SUBJECT,
  status: 'active',
  app_status: 'active',
  app_org_id: 'org_1',
  app_org_status: 'active',
  ...over,
});
const presented = (over: Partial<PresentedCertificate> = {}): PresentedCertificate => ({
  cert: CERT,
  x5t: 'thumbprint',
  chainTrusted: true,
  source: 'tls',
  ...over,
});
const client = (over: Partial<CertificateClient> = {}): CertificateClient => ({
  clientId: 'cl_own',
  tokenEndpointAuthMethod: 'tls_client_auth',
  org_id: 'org_1',
  registration_type: 'manual',
  certificate_apps: [],
  ...over,
});
const state = (i: IssuedCertificateState | undefined, p = presented()): CertificateState => ({
  presented: p,
  issued: i,
});

const ANOTHER = /issued to another application/;
const INACTIVE = /not active/;

describe('token endpoint: issuedCertificateRefusal', () => {
  const cases: {
    name: string;
    issued: IssuedCertificateState;
    client: CertificateClient;
    refused?: RegExp;
  }[] = [
    { name: 'ok/the client’s own certificate', issued: issued(), client: client() },
    {
      name: 'ok/the certificate of the software a dynamic client was registered with',
      issued: issued({ client_id: 'cl_software' }),
      client: client({ clientId: 'cl_dyn', certificate_apps: ['cl_software'] }),
    },
    {
      name: 'fail/another application’s certificate',
      issued: issued({ client_id: 'cl_other' }),
      client: client(),
      refused: ANOTHER,
    },
    {
      name: 'fail/a certificate issued to another organisation',
      issued: issued({ org_id: 'org_2' }),
      client: client(),
      refused: ANOTHER,
    },
    {
      name: 'fail/the application now belongs to another organisation',
      issued: issued({ app_org_id: 'org_2' }),
      client: client(),
      refused: ANOTHER,
    },
    {
      name: 'fail/the application no longer exists',
      issued: issued({ app_status: null, app_org_id: null, app_org_status: null }),
      client: client(),
      refused: ANOTHER,
    },
    {
      name: 'fail/a revoked certificate',
      issued: issued({ status: 'revoked' }),
      client: client(),
      refused: INACTIVE,
    },
    {
      name: 'fail/a suspended application',
      issued: issued({ app_status: 'suspended' }),
      client: client(),
      refused: INACTIVE,
    },
    {
      name: 'fail/a suspended organisation',
      issued: issued({ app_org_status: 'suspended' }),
      client: client(),
      refused: INACTIVE,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const refusal = issuedCertificateRefusal(c.issued, c.client);
      if (c.refused) assert.match(refusal ?? '', c.refused);
      else assert.equal(refusal, undefined);
    });
  }
});

describe('token endpoint: bindingCertificate (RFC 8705 §3)', () => {
  test('ok/no certificate presented binds nothing', () => {
    assert.equal(bindingCertificate({ presented: undefined, issued: undefined }, client()), undefined);
    assert.equal(bindingCertificate(undefined, client()), undefined);
  });
  test('ok/a private_key_jwt client binds its own platform certificate', () => {
    assert.equal(
      bindingCertificate(state(issued()), client({ tokenEndpointAuthMethod: 'private_key_jwt' })),
      CERT,
    );
  });
  test('ok/a private_key_jwt client binds a certificate the platform did not issue', () => {
    assert.equal(
      bindingCertificate(state(undefined), client({ tokenEndpointAuthMethod: 'private_key_jwt' })),
      CERT,
    );
  });
  test('ok/a tls_client_auth client binds the certificate it authenticated with', () => {
    assert.equal(bindingCertificate(state(issued()), client()), CERT);
  });
  test('fail/a private_key_jwt client presenting another application’s certificate: invalid_grant', () => {
    assert.throws(
      () =>
        bindingCertificate(
          state(issued({ client_id: 'cl_other' })),
          client({ tokenEndpointAuthMethod: 'private_key_jwt' }),
        ),
      (err: { error?: string; error_description?: string }) =>
        err.error === 'invalid_grant' && ANOTHER.test(err.error_description ?? ''),
    );
  });
  test('fail/a private_key_jwt client presenting its revoked certificate: invalid_grant', () => {
    assert.throws(
      () =>
        bindingCertificate(
          state(issued({ status: 'revoked' })),
          client({ tokenEndpointAuthMethod: 'private_key_jwt' }),
        ),
      (err: { error?: string }) => err.error === 'invalid_grant',
    );
  });
});

describe('token endpoint: certificateAuthorized (RFC 8705 §2.1)', () => {
  const cases: { name: string; state: CertificateState | undefined; authorized: boolean }[] = [
    {
      name: 'ok/chained to the platform CA and issued by it, active',
      state: state(issued()),
      authorized: true,
    },
    {
      name: 'fail/not chained to the platform CA',
      state: state(issued(), presented({ chainTrusted: false })),
      authorized: false,
    },
    { name: 'fail/revoked', state: state(issued({ status: 'revoked' })), authorized: false },
    { name: 'fail/chained but not one the platform issued', state: state(undefined), authorized: false },
    { name: 'fail/no certificate', state: { presented: undefined, issued: undefined }, authorized: false },
    { name: 'fail/no state', state: undefined, authorized: false },
  ];
  for (const c of cases) test(c.name, () => assert.equal(certificateAuthorized(c.state), c.authorized));
});

describe('token endpoint: certificateSubjectMatches (RFC 8705 §2.1.2)', () => {
  const dynamic = client({ clientId: 'cl_dyn', registration_type: 'dynamic' });
  const software = issued({ client_id: 'cl_software' });
  const P = 'tls_client_auth_subject_dn';
  const cases: {
    name: string;
    state: CertificateState | undefined;
    client: CertificateClient | undefined;
    property?: string;
    expected?: unknown;
    matches: boolean;
  }[] = [
    {
      name: 'ok/the client’s own active certificate',
      state: state(issued()),
      client: client(),
      matches: true,
    },
    {
      name: 'ok/a dynamic client with its software’s certificate of the registered subject',
      state: state(software),
      client: dynamic,
      expected: SUBJECT,
      matches: true,
    },
    {
      name: 'fail/another property',
      state: state(issued()),
      client: client(),
      property: 'tls_client_auth_san_dns',
      matches: false,
    },
    {
      name: 'fail/the client’s own revoked certificate',
      state: state(issued({ status: 'revoked' })),
      client: client(),
      matches: false,
    },
    {
      name: 'fail/a certificate the platform did not issue',
      state: state(undefined),
      client: client(),
      matches: false,
    },
    { name: 'fail/no client', state: state(issued()), client: undefined, matches: false },
    {
      name: 'fail/a manual client with another application’s certificate of the same subject',
      state: state(software),
      client: client({ clientId: 'cl_manual' }),
      expected: SUBJECT,
      matches: false,
    },
    {
      name: 'fail/a dynamic client, another subject',
      state: state(software),
      client: dynamic,
      expected: 'CN=other',
      matches: false,
    },
    {
      name: 'fail/a dynamic client, no registered subject',
      state: state(software),
      client: dynamic,
      expected: undefined,
      matches: false,
    },
    {
      name: 'fail/a dynamic client, the software of another organisation',
      state: state(issued({ client_id: 'cl_software', org_id: 'org_2', app_org_id: 'org_2' })),
      client: dynamic,
      expected: SUBJECT,
      matches: false,
    },
    {
      name: 'fail/a dynamic client, the software moved to another organisation',
      state: state(issued({ client_id: 'cl_software', app_org_id: 'org_2' })),
      client: dynamic,
      expected: SUBJECT,
      matches: false,
    },
    {
      name: 'fail/a dynamic client, the software suspended',
      state: state(issued({ client_id: 'cl_software', app_status: 'suspended' })),
      client: dynamic,
      expected: SUBJECT,
      matches: false,
    },
    {
      name: 'fail/a dynamic client, the software’s organisation suspended',
      state: state(issued({ client_id: 'cl_software', app_org_status: 'suspended' })),
      client: dynamic,
      expected: SUBJECT,
      matches: false,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(
        certificateSubjectMatches(c.state, c.client, c.property ?? P, c.expected ?? 'CN=x'),
        c.matches,
      );
    });
  }
  test('fail/a dynamic client whose expected subject is not a string', () => {
    assert.equal(certificateSubjectMatches(state(software), dynamic, P, { dn: SUBJECT }), false);
  });
});

describe('token endpoint: checkRequestedScope (RFC 6749 §3.3, §5.2)', () => {
  const allowed = 'accounts:read payments:write';
  test('ok/no scope requested: the default is every scope the roles grant', () => {
    assert.equal(checkRequestedScope(allowed, undefined), allowed);
    assert.equal(checkRequestedScope(allowed, ''), allowed);
  });
  test('ok/a subset of the granted scopes is kept as requested', () => {
    assert.equal(checkRequestedScope(allowed, 'accounts:read'), undefined);
    assert.equal(checkRequestedScope(allowed, 'payments:write accounts:read'), undefined);
  });
  const refused: { name: string; allowed: string | undefined; requested: string }[] = [
    {
      name: 'fail/a known scope the roles do not grant',
      allowed,
      requested: 'accounts:read reports:download',
    },
    { name: 'fail/an unknown scope', allowed, requested: 'admin' },
    { name: 'fail/any scope when the roles grant none', allowed: undefined, requested: 'accounts:read' },
  ];
  for (const c of refused) {
    test(c.name, () => {
      assert.throws(
        () => checkRequestedScope(c.allowed, c.requested),
        (err: { error?: string }) => err.error === 'invalid_scope',
      );
    });
  }
});
