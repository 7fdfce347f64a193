import { createApplication, createOrganisation } from '../../src/directory/index.ts';
import {
  type CaMaterial,
  type CaSettings,
  CertificateAuthority,
  createIssuingCa,
  createRootCa,
  storeCertificateAuthorities,
} from '../../src/pki/index.ts';
import type { Storage } from '../../src/storage/index.ts';
import { META } from './directory-fixture.ts';

export const KEK = 'test-key-encryption-key-0123456789abcdef';
export const CA_CREATED = new Date('2026-01-01T00:00:00.000Z');
export const CA_SETTINGS: CaSettings = {
  partnerCertDays: 90,
  crlValidityHours: 168,
  crlUrl: 'https://localhost:8443/pki/issuing-ca.crl',
};

let material: Promise<{ root: CaMaterial; issuing: CaMaterial }> | undefined;

// One key pair per process: every fresh database gets the same CA under new row ids, which keeps suites fast.
function caMaterial(): Promise<{ root: CaMaterial; issuing: CaMaterial }> {
  material ??= (async () => {
    const common = { organization: 'Accredit', now: CA_CREATED };
    const root = await createRootCa({ ...common, commonName: 'Accredit Root CA', validityDays: 20 * 365 });
    const issuing = await createIssuingCa({
      ...common,
      parent: root,
      commonName: 'Accredit Issuing CA 1',
      validityDays: 10 * 365,
    });
    return { root, issuing };
  })();
  return material;
}

/** The issuing CA certificate (PEM) the fixture installs, for `openssl verify` and CRL checks. */
export async function issuingCaPem(): Promise<string> {
  return (await caMaterial()).issuing.certPem;
}

/**
 * Stores a root and an issuing CA as `accredit init` does and, unless `firstCrl` is false, publishes
 * CRL number 1 at CA_CREATED in the same transaction; returns the loaded CA.
 */
export async function installCa(
  storage: Storage,
  options: { settings?: Partial<CaSettings>; firstCrl?: boolean } = {},
): Promise<CertificateAuthority> {
  const settings = { ...CA_SETTINGS, ...options.settings };
  const { root, issuing } = await caMaterial();
  await storage.transaction(async (tx) => {
    await storeCertificateAuthorities(tx, { root, issuing }, KEK, CA_CREATED);
    if (options.firstCrl !== false) {
      const ca = await CertificateAuthority.load(tx.db, KEK, settings);
      await ca.publishCrl(tx, CA_CREATED);
    }
  });
  return CertificateAuthority.load(storage.db, KEK, settings);
}

export interface Partner {
  orgId: string;
  orgName: string;
  clientId: string;
}

/** An active organisation with one active tls_client_auth application. */
export async function createPartner(storage: Storage, orgName: string, meta = META): Promise<Partner> {
  return storage.transaction(async (tx) => {
    const orgId = await createOrganisation(tx, { name: orgName }, meta);
    const clientId = await createApplication(
      tx,
      { orgId, name: 'Payments', roles: ['partner_reader'], authMethod: 'tls_client_auth' },
      meta,
    );
    return { orgId, orgName, clientId };
  });
}
