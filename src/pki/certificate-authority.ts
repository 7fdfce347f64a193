import { type KeyObject, randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError, notFound } from '../shared/app-error.ts';
import { CHANGE_KINDS, type Database, publishChange, type Tx } from '../storage/index.ts';
import type { CaMaterial } from './ca-certificates.ts';
import { buildCrl } from './crl.ts';
import { certificateTemplate } from './issuance/certificate-template.ts';
import { enforceIssuancePolicy } from './issuance/enforce-issuance-policy.ts';
import { loadApplicationForIssuance } from './issuance/load-application-for-issuance.ts';
import { validateCertificateRequest } from './issuance/validate-certificate-request.ts';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption.ts';
import { buildPartnerCertificate } from './partner-certificate.ts';
import { parseRevocationReason, type RevocationReason } from './revocation-reasons.ts';
import { randomSerialHex } from './serial.ts';
import { issueServerCertificate, type ServerCertificate } from './server-certificate.ts';

const HOUR_MS = 3_600_000;

export interface CaSettings {
  partnerCertDays: number;
  crlValidityHours: number;
  /** Where the issuing CA's CRL is published; goes into every certificate's CRL Distribution Point. */
  crlUrl: string;
}

export interface ActionMeta {
  actor: string;
  now: Date;
}

export interface CertificateView {
  serial: string;
  client_id: string;
  org_id: string;
  subject: string;
  issuer: string;
  x5t_s256: string;
  key: string;
  not_before: string;
  not_after: string;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  revocation_reason: string | null;
  certificate_pem: string;
}

interface LoadedCa {
  id: string;
  certPem: string;
  privateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

type CertRow = Database['certificates'];

function view(
  row: {
    [K in keyof CertRow]: CertRow[K];
  },
): CertificateView {
  return {
    serial: row.serial,
    client_id: row.client_id,
    org_id: row.org_id,
    subject: row.subject,
    issuer: row.issuer,
    x5t_s256: row.x5t_s256,
    key: row.key_description,
    not_before: row.not_before,
    not_after: row.not_after,
    status: row.status,
    revoked_at: row.revoked_at,
    revocation_reason: row.revocation_reason,
    certificate_pem: row.cert_pem,
  };
}

/**
 * The platform's issuing CA over storage: issuance and revocation each happen in one transaction with the
 * certificate row, the new CRL, the change-feed entry and the audit record, so a crash leaves all or nothing.
 */
export class CertificateAuthority {
  readonly #ca: LoadedCa;
  readonly #chainPem: string;
  readonly #settings: CaSettings;

  private constructor(ca: LoadedCa, chainPem: string, settings: CaSettings) {
    this.#ca = ca;
    this.#chainPem = chainPem;
    this.#settings = settings;
  }

  static async load(db: Kysely<Database>, kek: string, settings: CaSettings): Promise<CertificateAuthority> {
    const rows = await db
      .selectFrom('certificate_authorities')
      .selectAll()
      .orderBy('created_at', 'desc')
      .execute();
    const issuing = rows.find((r) => r.kind === 'issuing');
    const root = rows.find((r) => r.kind === 'root');
    if (!issuing?.key_pem || !root)
      throw new AppError('not_initialised', 500, 'the platform CA has not been created');
    const ca: LoadedCa = {
      id: issuing.id,
      certPem: issuing.cert_pem,
      privateKey: decryptPrivateKey(issuing.key_pem, kek),
      notBefore: new Date(issuing.not_before),
      notAfter: new Date(issuing.not_after),
    };
    return new CertificateAuthority(ca, `${issuing.cert_pem.trim()}\n${root.cert_pem.trim()}\n`, settings);
  }

  get caId(): string {
    return this.#ca.id;
  }

  /** The issuing CA then the root, PEM: what clients and listeners need to trust partner certificates. */
  get chainPem(): string {
    return this.#chainPem;
  }

  /** TLS server certificate for the platform's own listeners (serverAuth only). */
  issueServerCertificate(opts: {
    publicKey: KeyObject;
    dnsNames: string[];
    ipAddresses: string[];
    now: Date;
  }): Promise<ServerCertificate> {
    return issueServerCertificate({ issuer: this.#ca, commonName: opts.dnsNames[0] ?? 'accredit', ...opts });
  }

  async issue(
    tx: Tx,
    input: { clientId: string; csrPem: string },
    meta: ActionMeta,
  ): Promise<CertificateView> {
    // step-ca's order: validate the request, modify (the directory decides the names), enforce the policy.
    const request = await validateCertificateRequest(input.csrPem);
    const app = await loadApplicationForIssuance(tx, input.clientId);
    const template = certificateTemplate(app, this.#ca, this.#settings.partnerCertDays, meta.now);
    enforceIssuancePolicy(app, template, this.#ca);
    const cert = await buildPartnerCertificate({
      issuer: this.#ca,
      publicKeySpki: request.publicKeySpki,
      ...template,
      serialHex: randomSerialHex(),
      crlUrl: this.#settings.crlUrl,
    });
    const row: CertRow = {
      serial: cert.serialHex,
      client_id: app.client_id,
      org_id: app.org_id,
      issuer_ca_id: this.#ca.id,
      subject: cert.subject,
      issuer: cert.issuer,
      x5t_s256: cert.x5tS256,
      key_description: request.keyDescription,
      cert_pem: cert.certPem,
      not_before: cert.notBefore.toISOString(),
      not_after: cert.notAfter.toISOString(),
      status: 'active',
      revoked_at: null,
      revocation_reason: null,
      created_at: meta.now.toISOString(),
    };
    await tx.db.insertInto('certificates').values(row).execute();
    // Enforcement points learn which application a certificate belongs to (it binds tokens for that one only).
    await publishChange(
      tx,
      {
        kind: CHANGE_KINDS.certIssued,
        entityId: row.serial,
        payload: {
          x5t_s256: row.x5t_s256,
          client_id: row.client_id,
          org_id: row.org_id,
          not_after: row.not_after,
        },
      },
      meta.now,
    );
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'certificate.issue',
        targetType: 'certificate',
        targetId: cert.serialHex,
        details: {
          client_id: app.client_id,
          org_id: app.org_id,
          x5t_s256: cert.x5tS256,
          not_after: row.not_after,
          key: row.key_description,
        },
      },
      meta.now,
    );
    return view(row);
  }

  async revoke(tx: Tx, serial: string, reasonName: string, meta: ActionMeta): Promise<CertificateView> {
    const reason = parseRevocationReason(reasonName);
    const normalised = serial.toLowerCase().replace(/:/g, '');
    const row = await tx.db
      .selectFrom('certificates')
      .selectAll()
      .where('serial', '=', normalised)
      .executeTakeFirst();
    if (!row) throw notFound('certificate', serial);
    const alreadyRevoked = () =>
      new AppError('already_revoked', 409, `certificate ${normalised} is already revoked`);
    if (row.status === 'revoked') throw alreadyRevoked();
    if (!(await this.#markRevoked(tx, row, reason, meta))) throw alreadyRevoked();
    await this.publishCrl(tx, meta.now);
    return view({ ...row, status: 'revoked', revoked_at: meta.now.toISOString(), revocation_reason: reason });
  }

  /** Offboarding: every active certificate of the organisation is revoked under one new CRL. */
  async revokeAllOfOrganisation(
    tx: Tx,
    orgId: string,
    reason: RevocationReason,
    meta: ActionMeta,
  ): Promise<number> {
    const rows = await tx.db
      .selectFrom('certificates')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('status', '=', 'active')
      .execute();
    let revoked = 0;
    for (const row of rows) if (await this.#markRevoked(tx, row, reason, meta)) revoked++;
    if (revoked > 0) await this.publishCrl(tx, meta.now);
    return revoked;
  }

  /**
   * False when another transaction revoked the certificate after `row` was read (on PostgreSQL the UPDATE
   * waits for it to commit, then matches nothing): no second change, audit entry or CRL for one revocation.
   */
  async #markRevoked(tx: Tx, row: CertRow, reason: RevocationReason, meta: ActionMeta): Promise<boolean> {
    const at = meta.now.toISOString();
    const updated = await tx.db
      .updateTable('certificates')
      .set({ status: 'revoked', revoked_at: at, revocation_reason: reason })
      .where('serial', '=', row.serial)
      .where('status', '=', 'active')
      .executeTakeFirst();
    if (updated.numUpdatedRows === 0n) return false;
    await publishChange(
      tx,
      {
        kind: CHANGE_KINDS.certRevoked,
        entityId: row.serial,
        payload: { x5t_s256: row.x5t_s256, client_id: row.client_id, org_id: row.org_id, reason },
      },
      meta.now,
    );
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'certificate.revoke',
        targetType: 'certificate',
        targetId: row.serial,
        details: { client_id: row.client_id, org_id: row.org_id, reason, x5t_s256: row.x5t_s256 },
      },
      meta.now,
    );
    return true;
  }

  /** Signs and stores the next CRL in the caller's transaction: a revocation is never recorded but unpublished. */
  async publishCrl(tx: Tx, now: Date): Promise<{ crlNumber: number; nextUpdate: Date }> {
    // PostgreSQL: lock the CA row so concurrent publishers take CRL numbers one after another (RFC 5280 §5.2.3).
    if (tx.engine === 'postgres') {
      await sql`SELECT id FROM certificate_authorities WHERE id = ${this.#ca.id} FOR UPDATE`.execute(tx.db);
    }
    const last = await tx.db
      .selectFrom('crls')
      .select('crl_number')
      .where('ca_id', '=', this.#ca.id)
      .orderBy('crl_number', 'desc')
      .limit(1)
      .executeTakeFirst();
    const crlNumber = Number(last?.crl_number ?? 0) + 1;
    const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const nextUpdate = new Date(thisUpdate.getTime() + this.#settings.crlValidityHours * HOUR_MS);
    // RFC 5280 §3.3: an entry may leave the CRL once the certificate has expired.
    const revoked = await tx.db
      .selectFrom('certificates')
      .select(['serial', 'revoked_at', 'revocation_reason'])
      .where('issuer_ca_id', '=', this.#ca.id)
      .where('status', '=', 'revoked')
      .where('not_after', '>', thisUpdate.toISOString())
      .orderBy('serial')
      .execute();
    const der = await buildCrl({
      issuer: this.#ca,
      crlNumber,
      thisUpdate,
      nextUpdate,
      entries: revoked.map((r) => ({
        serialHex: r.serial,
        revokedAt: new Date(r.revoked_at ?? thisUpdate),
        reason: parseRevocationReason(r.revocation_reason ?? 'unspecified'),
      })),
    });
    await tx.db
      .insertInto('crls')
      .values({
        ca_id: this.#ca.id,
        crl_number: crlNumber,
        this_update: thisUpdate.toISOString(),
        next_update: nextUpdate.toISOString(),
        der_base64: Buffer.from(der).toString('base64'),
        created_at: now.toISOString(),
      })
      .execute();
    return { crlNumber, nextUpdate };
  }

  async latestCrl(
    db: Kysely<Database>,
  ): Promise<{ der: Buffer; crlNumber: number; thisUpdate: string; nextUpdate: string } | undefined> {
    const row = await db
      .selectFrom('crls')
      .selectAll()
      .where('ca_id', '=', this.#ca.id)
      .orderBy('crl_number', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      der: Buffer.from(row.der_base64, 'base64'),
      crlNumber: Number(row.crl_number),
      thisUpdate: row.this_update,
      nextUpdate: row.next_update,
    };
  }

  /** Re-signs the CRL once half of its validity has passed, so relying parties never hold an expired one. */
  async needsFreshCrl(db: Kysely<Database>, now: Date): Promise<boolean> {
    const latest = await this.latestCrl(db);
    if (!latest) return true;
    const halfLife = (this.#settings.crlValidityHours * HOUR_MS) / 2;
    return new Date(latest.nextUpdate).getTime() - now.getTime() < halfLife;
  }
}

/** Stores a root and an issuing CA, private keys encrypted under the KEK, in the caller's transaction. */
export async function storeCertificateAuthorities(
  tx: Tx,
  cas: { root: CaMaterial; issuing: CaMaterial },
  kek: string,
  now: Date,
): Promise<void> {
  for (const [kind, ca] of [
    ['root', cas.root],
    ['issuing', cas.issuing],
  ] as const) {
    await tx.db
      .insertInto('certificate_authorities')
      .values({
        id: randomUUID(),
        kind,
        subject: ca.subject,
        serial: ca.serialHex,
        cert_pem: ca.certPem,
        key_pem: encryptPrivateKey(ca.privateKey, kek),
        not_before: ca.notBefore.toISOString(),
        not_after: ca.notAfter.toISOString(),
        created_at: now.toISOString(),
      })
      .execute();
  }
}

export async function listCertificates(
  db: Kysely<Database>,
  filter: {
    clientId?: string | undefined;
    orgId?: string | undefined;
    status?: 'active' | 'revoked' | undefined;
  },
): Promise<Array<Omit<CertificateView, 'certificate_pem'>>> {
  let q = db.selectFrom('certificates').selectAll().orderBy('created_at', 'desc').limit(1000);
  if (filter.clientId) q = q.where('client_id', '=', filter.clientId);
  if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
  if (filter.status) q = q.where('status', '=', filter.status);
  const rows = await q.execute();
  return rows.map((r) => {
    const { certificate_pem: _pem, ...rest } = view(r);
    return rest;
  });
}

export async function getCertificate(db: Kysely<Database>, serial: string): Promise<CertificateView> {
  const normalised = serial.toLowerCase().replace(/:/g, '');
  const row = await db
    .selectFrom('certificates')
    .selectAll()
    .where('serial', '=', normalised)
    .executeTakeFirst();
  if (!row) throw notFound('certificate', serial);
  return view(row);
}
