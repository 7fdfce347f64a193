import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createCsr, generateKeyPair } from '../../src/pki/index.ts';
import { certificateTemplate } from '../../src/pki/issuance/certificate-template.ts';
import { enforceIssuancePolicy } from '../../src/pki/issuance/enforce-issuance-policy.ts';
import { validateCertificateRequest } from '../../src/pki/issuance/validate-certificate-request.ts';

const NOW = new Date('2026-03-01T10:00:00.750Z');
const CA = { notBefore: new Date('2026-01-01T00:00:00Z'), notAfter: new Date('2027-01-01T00:00:00Z') };
const APP = {
  client_id: 'cl_app',
  org_id: 'org_1',
  org_name: 'Acme Bank',
  status: 'active' as 'active' | 'suspended' | 'deleted',
  org_status: 'active' as 'active' | 'suspended' | 'offboarded',
};
const rejectsWith = (code: string, status: number) => (err: { code?: string; status?: number }) =>
  err.code === code && err.status === status;

describe('issuance: validateCertificateRequest (validator)', () => {
  test('ok/a well-formed CSR gives its key only', async () => {
    const keys = generateKeyPair('ES256');
    const csr = await createCsr({ ...keys, commonName: 'whatever the partner says' });
    const request = await validateCertificateRequest(csr);
    assert.ok(request.publicKeySpki.length > 0);
    assert.match(request.keyDescription, /P-256/);
  });
  const bad: { name: string; pem: string }[] = [
    { name: 'fail/not PEM', pem: 'not a certificate request' },
    { name: 'fail/an empty request', pem: '' },
    {
      name: 'fail/PEM of garbage',
      pem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
    },
  ];
  for (const c of bad) {
    test(c.name, async () => {
      await assert.rejects(
        validateCertificateRequest(c.pem),
        (err: { code?: string; status?: number; details?: { errors?: unknown[] } }) =>
          rejectsWith('invalid_csr', 400)(err) && (err.details?.errors?.length ?? 0) > 0,
      );
    });
  }
});

describe('issuance: certificateTemplate (modifier)', () => {
  test('ok/the subject comes from the directory, never from the CSR', () => {
    const t = certificateTemplate(APP, CA, 90, NOW);
    assert.deepEqual(t.subject, { clientId: 'cl_app', orgId: 'org_1', orgName: 'Acme Bank' });
  });
  test('ok/backdated one minute and valid for the configured days, whole seconds', () => {
    const t = certificateTemplate(APP, CA, 90, NOW);
    assert.equal(t.notBefore.toISOString(), '2026-03-01T09:59:00.000Z');
    assert.equal(t.notAfter.toISOString(), '2026-05-30T10:00:00.000Z');
  });
  test('ok/never valid before the issuing CA itself', () => {
    const young = { notBefore: new Date('2026-03-01T09:59:30Z') };
    assert.equal(
      certificateTemplate(APP, young, 90, NOW).notBefore.toISOString(),
      '2026-03-01T09:59:30.000Z',
    );
  });
});

describe('issuance: enforceIssuancePolicy (enforcer)', () => {
  const template = certificateTemplate(APP, CA, 90, NOW);
  test('ok/an active application of an active organisation, within the CA’s validity', () => {
    enforceIssuancePolicy(APP, template, CA);
    enforceIssuancePolicy(APP, template, { notAfter: template.notAfter });
  });
  const cases: { name: string; app: typeof APP; caNotAfter?: Date; code: string }[] = [
    {
      name: 'fail/a suspended organisation',
      app: { ...APP, org_status: 'suspended' },
      code: 'organisation_not_active',
    },
    {
      name: 'fail/an offboarded organisation',
      app: { ...APP, org_status: 'offboarded' },
      code: 'organisation_not_active',
    },
    {
      name: 'fail/the organisation is named first when both are suspended',
      app: { ...APP, status: 'suspended', org_status: 'suspended' },
      code: 'organisation_not_active',
    },
    {
      name: 'fail/a suspended application',
      app: { ...APP, status: 'suspended' },
      code: 'application_not_active',
    },
    {
      name: 'fail/a certificate that would outlive the issuing CA',
      app: APP,
      caNotAfter: new Date(template.notAfter.getTime() - 1000),
      code: 'ca_expiring',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => enforceIssuancePolicy(c.app, template, { notAfter: c.caNotAfter ?? CA.notAfter }),
        rejectsWith(c.code, 409),
      );
    });
  }
});
