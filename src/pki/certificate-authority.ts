import { createPublicKey, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import { recordAuditEvent } from '../audit/index.ts';
import type { ApplicationWithOrganisation } from '../directory/index.ts';
import { AppError, notFound } from '../shared/app-error.ts';
import { type Page, type PageRequest, toPage } from '../shared/page-cursor.ts';
import {
  CHANGE_KINDS,
  type Database,
  keysetAfter,
  lockJournal,
  publishChange,
  type Tx,
} from '../storage/index.ts';
import { type CaMaterial, reissueIssuingCa } from './ca-certificates.ts';
import {
  assertRootKey,
  latestCrlOf,
  revokedIssuingEntries,
  revokedPartnerEntries,
  rootOffline,
  storeNextCrl,
} from './ca-crls.ts';
import { announce } from './ca-records.ts';
import { certificateTemplate } from './issuance/certificate-template.ts';
import { enforceIssuancePolicy } from './issuance/enforce-issuance-policy.ts';
import { loadApplicationForIssuance } from './issuance/load-application-for-issuance.ts';
import {
  type ValidatedRequest,
  validateCertificateRequest,
} from './issuance/validate-certificate-request.ts';
import { decryptPrivateKey, encryptPrivateKey } from './key-encryption.ts';
import { type AuthorityInfoAccess, buildPartnerCertificate } from './partner-certificate.ts';
import {
  checkRenewal,
  DEFAULT_RENEWAL_SETTINGS,
  type RenewalSettings,
  supersedeDueAt,
} from './renewal/renewal-rules.ts';
import {
  enforceKeyAlgorithm,
  platformRotationPolicy,
  type RotationPolicy,
  rotationPolicyStore,
} from './renewal/rotation-policy.ts';
import { parseRevocationReason, type RevocationReason } from './revocation-reasons.ts';
import { randomSerialHex } from './serial.ts';
import { issueServerCertificate, type ServerCertificate } from './server-certificate.ts';
import { x509 } from './x509.ts';

const HOUR_MS = 3_600_000;

/** The two levels of the platform's CA; each signs and publishes its own CRL (RFC 5280 §5). */
export type CaLevel = 'root' | 'issuing';
export const CA_LEVELS: readonly CaLevel[] = ['root', 'issuing'];

/** Which CA: a level (`issuing` = the active issuing CA) or one CA by its id (any issuing CA generation). */
export type CaRef = CaLevel | { id: string };

export interface CaSettings {
  partnerCertDays: number;
  crlValidityHours: number;
  /** Where the issuing CA's CRL is published; goes into every certificate's CRL Distribution Point. */
  crlUrl: string;
  /** Where the root's CRL is published; goes into the issuing CA certificate's CRL Distribution Point. */
  rootCrlUrl?: string;
  /** Renewal window, grace and drain (default: last third, 7 days, 60 s). */
  renewal?: RenewalSettings;
  /** The OCSP responder URL (RFC 6960 §3.1); with caCertUrlOf, certificates carry AIA (RFC 5280 §4.2.2.1). */
  ocspUrl?: string;
  /** Where the CA certificate with this subject key identifier (lowercase hex) is published (caIssuers). */
  caCertUrlOf?: (skiHex: string) => string;
  /** Validity of the root's CRL; long, so the root key can stay offline between ceremonies. Default crlValidityHours. */
  rootCrlValidityHours?: number;
  /** Where the CRL of a later issuing CA generation is published (its id in the URL). */
  issuingCrlUrlOf?: (id: string) => string;
}

/** The issuing CA certificate as the admin API shows it. */
export interface IssuingCaView {
  id: string;
  subject: string;
  serial: string;
  previous_serial: string;
  not_before: string;
  not_after: string;
  crl_distribution_point: string;
  certificate_pem: string;
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
  /** The certificate this one renews, if issued by renewal. */
  renews: string | null;
  /** The certificate that renews this one, and when this one is revoked as superseded at the latest. */
  superseded_by: string | null;
  supersede_at: string | null;
  renewal_count: number;
  first_used_at: string | null;
  certificate_pem: string;
}

/** An issuing CA still trusted: the active one, or a retiring one that still publishes its CRL. */
export interface LoadedCa {
  id: string;
  skiHex: string;
  certPem: string;
  privateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  status: 'active' | 'retiring';
  generation: number;
  /** The CRL distribution point its certificates carry. */
  crlUrl: string;
}

/** The root: its key signs the root CRL and issuing CA certificates; absent while the root is kept offline. */
export interface LoadedRoot {
  id: string;
  skiHex: string;
  certPem: string;
  privateKey: KeyObject | undefined;
}

type CertRow = Selectable<Database['certificates']>;

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
    renews: row.renews_serial,
    superseded_by: row.superseded_by,
    supersede_at: row.supersede_at,
    renewal_count: row.renewal_count,
    first_used_at: row.first_used_at,
    certificate_pem: row.cert_pem,
  };
}

/**
 * The platform's issuing CA over storage: issuance and revocation each happen in one transaction with the
 * certificate row, the new CRL, the change-feed entry and the audit record, so a crash leaves all or nothing.
 */
export class CertificateAuthority {
  #ca: LoadedCa;
  #trusted: LoadedCa[];
  #loaded: Loaded;
  #root: LoadedRoot;
  #chainPem: string;
  readonly #settings: CaSettings;
  readonly #kek: string;

  private constructor(loaded: Loaded, settings: CaSettings, kek: string) {
    this.#ca = loaded.ca;
    this.#trusted = loaded.trusted;
    this.#loaded = loaded;
    this.#root = loaded.root;
    this.#chainPem = loaded.chainPem;
    this.#settings = settings;
    this.#kek = kek;
  }

  static async load(db: Kysely<Database>, kek: string, settings: CaSettings): Promise<CertificateAuthority> {
    return new CertificateAuthority(await loadAuthorities(db, kek, settings), settings, kek);
  }

  /** Reads the CAs again after a committed change (re-issue, rotation, retirement, root offline). */
  async reload(db: Kysely<Database>): Promise<void> {
    const loaded = await loadAuthorities(db, this.#kek, this.#settings);
    this.#ca = loaded.ca;
    this.#trusted = loaded.trusted;
    this.#loaded = loaded;
    this.#root = loaded.root;
    this.#chainPem = loaded.chainPem;
  }

  /**
   * Which CA's CRL a public CRL path serves: `original` is the path every certificate of the first issuing
   * CA names (it stays that CA's, even after a rotation); an id must be one of the issuing CAs.
   */
  issuingCrlRef(which: 'original' | { id: string }): { id: string } | undefined {
    if (which === 'original') return { id: this.#loaded.originalIssuingId ?? this.#ca.id };
    return this.#loaded.issuingIds.includes(which.id) ? which : undefined;
  }

  /** The active issuing CA's id: the one that issues. */
  get caId(): string {
    return this.#ca.id;
  }

  /** The settings it was loaded with (for the lifecycle operations of ca-generations.ts). */
  get settings(): CaSettings {
    return this.#settings;
  }

  get kek(): string {
    return this.#kek;
  }

  /** Whether the root's private key is stored here (false: kept offline, used in ceremonies only). */
  get rootKeyOnline(): boolean {
    return this.#root.privateKey !== undefined;
  }

  /** The root as loaded (its key absent while offline). */
  get root(): LoadedRoot {
    return this.#root;
  }

  /** The issuing CAs still trusted, the active one first: they sign certificates (active) and CRLs (all). */
  get trustedIssuing(): readonly LoadedCa[] {
    return this.#trusted;
  }

  /** Every CA whose CRL this platform signs now: the root (key online) and each trusted issuing CA. */
  crlPublishers(): CaRef[] {
    return [...(this.#root.privateKey ? ['root' as const] : []), ...this.#trusted.map((c) => ({ id: c.id }))];
  }

  /** The root CA certificate, PEM: the trust anchor alone (an AWS truststore or nginx needs it with the chain). */
  get rootPem(): string {
    return `${this.#root.certPem.trim()}\n`;
  }

  /** The issuing CA certificate, PEM. */
  get issuingPem(): string {
    return `${this.#ca.certPem.trim()}\n`;
  }

  /**
   * Every trusted issuing CA (active first, then the retiring ones) then the root, PEM: what clients and
   * listeners need to trust partner certificates of every generation.
   */
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

  get renewalSettings(): RenewalSettings {
    return this.#settings.renewal ?? DEFAULT_RENEWAL_SETTINGS;
  }

  /** The rotation policy in force for an application (application over organisation over platform). */
  rotationPolicyOf(db: Kysely<Database>, orgId: string, clientId?: string): Promise<RotationPolicy> {
    return rotationPolicyStore(db).effective(
      platformRotationPolicy(this.#settings.partnerCertDays),
      orgId,
      clientId,
    );
  }

  /** Operator issuance: the rotation policy's lifetime and key algorithms apply; the renewal count starts at 0. */
  async issue(
    tx: Tx,
    input: { clientId: string; csrPem: string },
    meta: ActionMeta,
  ): Promise<CertificateView> {
    // step-ca's order: validate the request, modify (the directory decides the names), enforce the policy.
    const request = await validateCertificateRequest(input.csrPem);
    // The journal lock before any row lock (PostgreSQL): issuance holding the organisation while waiting for the
    // journal, and a writer holding the journal while waiting for that row, deadlocked under load (issue 16).
    await lockJournal(tx);
    const app = await loadApplicationForIssuance(tx, input.clientId);
    const policy = await this.rotationPolicyOf(tx.db, app.org_id, app.client_id);
    return this.#issueTo(tx, app, request, policy, { renews: null, renewalCount: 0 }, meta);
  }

  /**
   * Renewal (RFC 7030 §4.2.2 rekey) of a certificate the platform issued: the one function behind EST
   * simplereenroll, the admin API and the CLI. The new certificate is valid from now for the policy's
   * lifetime while the current one stays valid (overlap); the current one is revoked as superseded by
   * housekeeping once the new one has been used (plus the drain delay) or after the grace period.
   */
  async renew(
    tx: Tx,
    input: { serial: string; csrPem: string; byOperator?: boolean },
    meta: ActionMeta,
  ): Promise<CertificateView> {
    const request = await validateCertificateRequest(input.csrPem);
    const serial = input.serial.toLowerCase().replace(/:/g, '');
    const peek = await tx.db
      .selectFrom('certificates')
      .select('client_id')
      .where('serial', '=', serial)
      .executeTakeFirst();
    if (!peek) throw notFound('certificate', input.serial);
    await lockJournal(tx);
    // Holds the organisation (PostgreSQL): concurrent renewals of its certificates, and offboarding, take turns.
    const app = await loadApplicationForIssuance(tx, peek.client_id);
    const current = await tx.db
      .selectFrom('certificates')
      .selectAll()
      .where('serial', '=', serial)
      .executeTakeFirstOrThrow();
    const successor = current.superseded_by
      ? await tx.db
          .selectFrom('certificates')
          .selectAll()
          .where('serial', '=', current.superseded_by)
          .executeTakeFirst()
      : undefined;
    const successorsIssued = await tx.db
      .selectFrom('certificates')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .where('renews_serial', '=', current.serial)
      .executeTakeFirstOrThrow();
    const spkiOf = (pem: string) =>
      new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    const currentSpki = spkiOf(current.cert_pem);
    const policy = await this.rotationPolicyOf(tx.db, app.org_id, app.client_id);
    const decision = checkRenewal({
      current,
      successor,
      policy,
      settings: this.renewalSettings,
      sameKey: currentSpki.equals(request.publicKeySpki),
      sameKeyAsSuccessor: successor !== undefined && spkiOf(successor.cert_pem).equals(request.publicKeySpki),
      successorsIssued: Number(successorsIssued.n),
      byOperator: input.byOperator === true,
      now: meta.now,
    });
    if (decision.reuse && successor) return view(successor);
    if (decision.replacesUnusedSuccessor && successor) {
      await this.#markRevoked(tx, successor, 'superseded', meta);
    }
    const issued = await this.#issueTo(
      tx,
      app,
      request,
      policy,
      { renews: current.serial, renewalCount: decision.renewalCount },
      meta,
    );
    await tx.db
      .updateTable('certificates')
      .set({ superseded_by: issued.serial, supersede_at: decision.supersedeAt.toISOString() })
      .where('serial', '=', current.serial)
      .execute();
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'certificate.renew',
        targetType: 'certificate',
        targetId: issued.serial,
        details: {
          client_id: app.client_id,
          org_id: app.org_id,
          renews: current.serial,
          renewal_count: decision.renewalCount,
          supersede_at: decision.supersedeAt.toISOString(),
          by_operator: input.byOperator === true,
          ...(decision.replacesUnusedSuccessor ? { replaces_unused: decision.replacesUnusedSuccessor } : {}),
        },
      },
      meta.now,
    );
    if (decision.replacesUnusedSuccessor) await this.publishCrl(tx, meta.now);
    return issued;
  }

  /** An operator's review: the certificate may be renewed once more past the policy's review limit. */
  async approveRenewal(tx: Tx, serial: string, meta: ActionMeta): Promise<CertificateView> {
    const normalised = serial.toLowerCase().replace(/:/g, '');
    const row = await tx.db
      .selectFrom('certificates')
      .selectAll()
      .where('serial', '=', normalised)
      .executeTakeFirst();
    if (!row) throw notFound('certificate', serial);
    if (row.status !== 'active') {
      throw new AppError('certificate_revoked', 409, `certificate ${normalised} is revoked`);
    }
    const at = meta.now.toISOString();
    await tx.db
      .updateTable('certificates')
      .set({ renewal_approved_at: at, renewal_approved_by: meta.actor })
      .where('serial', '=', normalised)
      .execute();
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'certificate.approve_renewal',
        targetType: 'certificate',
        targetId: normalised,
        details: { client_id: row.client_id, org_id: row.org_id, renewal_count: row.renewal_count },
      },
      meta.now,
    );
    return view({ ...row, renewal_approved_at: at, renewal_approved_by: meta.actor });
  }

  /**
   * Housekeeping: revokes (reason superseded, RFC 5280 §5.3.1) every renewed certificate whose successor was
   * first used more than the drain delay ago, or whose grace period is over. One CRL for the batch.
   */
  async supersedeDue(tx: Tx, meta: ActionMeta): Promise<string[]> {
    const rows = await tx.db
      .selectFrom('certificates')
      .selectAll()
      .where('status', '=', 'active')
      .where('supersede_at', 'is not', null)
      .execute();
    if (rows.length === 0) return [];
    const successors = await tx.db
      .selectFrom('certificates')
      .select(['serial', 'status', 'first_used_at'])
      .where(
        'serial',
        'in',
        rows.map((r) => r.superseded_by ?? ''),
      )
      .execute();
    const successorOf = new Map(successors.map((s) => [s.serial, s]));
    const revoked: string[] = [];
    for (const row of rows) {
      const successor = successorOf.get(row.superseded_by ?? '');
      // A successor revoked meanwhile (say, by an operator) supersedes nothing: the certificate stays.
      if (successor?.status !== 'active') continue;
      const due = supersedeDueAt(
        row.supersede_at as string,
        successor.first_used_at,
        this.renewalSettings.drainMs,
      );
      if (due > meta.now) continue;
      if (await this.#markRevoked(tx, row, 'superseded', meta)) revoked.push(row.serial);
    }
    if (revoked.length > 0) await this.publishCrl(tx, meta.now);
    return revoked;
  }

  async #issueTo(
    tx: Tx,
    app: ApplicationWithOrganisation,
    request: ValidatedRequest,
    policy: RotationPolicy,
    renewal: { renews: string | null; renewalCount: number },
    meta: ActionMeta,
  ): Promise<CertificateView> {
    enforceKeyAlgorithm(
      policy,
      createPublicKey({ key: request.publicKeySpki, format: 'der', type: 'spki' }),
      request.keyDescription,
    );
    const template = certificateTemplate(app, this.#ca, policy.lifetimeDays, meta.now);
    enforceIssuancePolicy(app, template, this.#ca);
    const cert = await buildPartnerCertificate({
      issuer: this.#ca,
      publicKeySpki: request.publicKeySpki,
      ...template,
      serialHex: randomSerialHex(),
      crlUrl: this.#ca.crlUrl,
      aia: this.#aiaOf(this.#ca.skiHex),
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
      renews_serial: renewal.renews,
      renewal_count: renewal.renewalCount,
      first_used_at: null,
      superseded_by: null,
      supersede_at: null,
      renewal_approved_at: null,
      renewal_approved_by: null,
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
          ...(renewal.renews ? { renews: renewal.renews } : {}),
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
          ...(renewal.renews ? { renews: renewal.renews } : {}),
        },
      },
      meta.now,
    );
    return view(row);
  }

  async revoke(tx: Tx, serial: string, reasonName: string, meta: ActionMeta): Promise<CertificateView> {
    const reason = parseRevocationReason(reasonName);
    const normalised = serial.toLowerCase().replace(/:/g, '');
    await lockJournal(tx);
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
    await this.#publishCrlsOf(tx, [row.issuer_ca_id], meta.now);
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
    const issuers = new Set<string>();
    for (const row of rows) {
      if (await this.#markRevoked(tx, row, reason, meta)) {
        revoked++;
        issuers.add(row.issuer_ca_id);
      }
    }
    await this.#publishCrlsOf(tx, [...issuers], meta.now);
    return revoked;
  }

  /**
   * An issuing CA is being revoked: every active certificate it issued is revoked, listed on the CA's last
   * CRL while its key still exists, and each enforcement point learns it by its change-feed entry.
   */
  async revokeAllIssuedBy(tx: Tx, caId: string, reason: RevocationReason, meta: ActionMeta): Promise<number> {
    const rows = await tx.db
      .selectFrom('certificates')
      .selectAll()
      .where('issuer_ca_id', '=', caId)
      .where('status', '=', 'active')
      .execute();
    let revoked = 0;
    for (const row of rows) if (await this.#markRevoked(tx, row, reason, meta)) revoked++;
    await this.#publishCrlsOf(tx, [caId], meta.now);
    return revoked;
  }

  /** A new CRL for each issuing CA that still publishes one (a retired or revoked CA's certificates fail anyway). */
  async #publishCrlsOf(tx: Tx, caIds: string[], now: Date): Promise<void> {
    for (const id of caIds)
      if (this.#trusted.some((c) => c.id === id)) await this.publishCrl(tx, now, { id });
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

  /** AIA pointing at the OCSP responder and the certificate of the CA with this key, when configured. */
  #aiaOf(skiHex: string): AuthorityInfoAccess | undefined {
    const { ocspUrl, caCertUrlOf } = this.#settings;
    return ocspUrl && caCertUrlOf ? { ocspUrl, caIssuersUrl: caCertUrlOf(skiHex) } : undefined;
  }

  /**
   * Signs and stores the next CRL of one CA in the caller's transaction: a revocation is never recorded but
   * unpublished. An issuing CA's lists the partner certificates it issued; the root's lists revoked issuing
   * CAs, and is there so relying parties that check every level of the chain (nginx `ssl_crl`, OpenSSL
   * `-crl_check_all`, Envoy) find one. `rootKey`: the root key brought in for a ceremony (never stored).
   */
  async publishCrl(
    tx: Tx,
    now: Date,
    which: CaRef = 'issuing',
    options: { rootKey?: KeyObject; validityHours?: number } = {},
  ): Promise<{ crlNumber: number; nextUpdate: Date }> {
    const signer = await this.#signerOf(which, options.rootKey);
    const isRoot = signer.id === this.#root.id;
    const hours =
      options.validityHours ??
      (isRoot ? (this.#settings.rootCrlValidityHours ?? this.#settings.crlValidityHours) : undefined) ??
      this.#settings.crlValidityHours;
    return storeNextCrl(tx, {
      signer,
      now,
      validityHours: hours,
      entries: (thisUpdate) =>
        isRoot ? revokedIssuingEntries(tx, thisUpdate) : revokedPartnerEntries(tx, signer.id, thisUpdate),
    });
  }

  /**
   * The signer of a CA's CRL: the root (its stored key, or the key of a ceremony, checked against the root
   * certificate), the active issuing CA, or a retiring one. A retired or revoked CA signs nothing any more.
   */
  async #signerOf(
    which: CaRef,
    rootKey?: KeyObject,
  ): Promise<{ id: string; certPem: string; privateKey: KeyObject }> {
    if (which === 'issuing') return this.#ca;
    if (which === 'root' || which.id === this.#root.id) {
      const { id, certPem } = this.#root;
      if (rootKey) {
        await assertRootKey(certPem, rootKey);
        return { id, certPem, privateKey: rootKey };
      }
      if (!this.#root.privateKey) throw rootOffline('signing the root CRL');
      return { id, certPem, privateKey: this.#root.privateKey };
    }
    const ca = this.#trusted.find((c) => c.id === which.id);
    if (!ca) throw new AppError('ca_not_publishing', 409, `CA ${which.id} is not an active or retiring CA`);
    return ca;
  }

  #idOf(which: CaRef): string {
    // A retired or revoked issuing CA's last CRL is still read (and served); only publishing is refused.
    if (which === 'issuing') return this.#ca.id;
    if (which === 'root') return this.#root.id;
    return which.id;
  }

  async latestCrl(
    db: Kysely<Database>,
    which: CaRef = 'issuing',
  ): Promise<{ der: Buffer; crlNumber: number; thisUpdate: string; nextUpdate: string } | undefined> {
    return latestCrlOf(db, this.#idOf(which));
  }

  /** Re-signs a CRL once half of its validity has passed, so relying parties never hold an expired one. */
  async needsFreshCrl(db: Kysely<Database>, now: Date, which: CaRef = 'issuing'): Promise<boolean> {
    const id = this.#idOf(which);
    const isRoot = id === this.#root.id;
    // A root whose key is kept offline publishes its CRL in a ceremony.
    if (isRoot && !this.#root.privateKey) return false;
    if (!isRoot && !this.#trusted.some((c) => c.id === id)) return false;
    const latest = await latestCrlOf(db, id);
    if (!latest) return true;
    const hours = isRoot
      ? (this.#settings.rootCrlValidityHours ?? this.#settings.crlValidityHours)
      : this.#settings.crlValidityHours;
    const halfLife = (hours * HOUR_MS) / 2;
    return new Date(latest.nextUpdate).getTime() - now.getTime() < halfLife;
  }

  /**
   * Re-signs the issuing CA certificate under the root with the same key, subject, key identifiers and
   * validity, adding the CRL distribution point of the root's CRL, and stores it in place of the old one
   * (same row, so its CRLs and issued certificates stay attached). Installations created before the root
   * published a CRL get the distribution point this way; every partner certificate keeps verifying.
   */
  async reissueIssuing(tx: Tx, meta: ActionMeta): Promise<IssuingCaView> {
    const crlUrl = this.#settings.rootCrlUrl;
    if (!crlUrl) throw new AppError('not_configured', 500, 'the root CRL URL is not configured');
    const root = await this.#signerOf('root');
    if (tx.engine === 'postgres') {
      await sql`SELECT id FROM certificate_authorities WHERE id = ${this.#ca.id} FOR UPDATE`.execute(tx.db);
    }
    const row = await tx.db
      .selectFrom('certificate_authorities')
      .selectAll()
      .where('id', '=', this.#ca.id)
      .executeTakeFirstOrThrow();
    const material = await reissueIssuingCa({
      parent: root,
      current: { certPem: row.cert_pem, privateKey: this.#ca.privateKey },
      crlUrl,
      aia: this.#aiaOf(this.#root.skiHex),
    });
    await tx.db
      .updateTable('certificate_authorities')
      .set({
        serial: material.serialHex,
        cert_pem: material.certPem,
        not_before: material.notBefore.toISOString(),
        not_after: material.notAfter.toISOString(),
      })
      .where('id', '=', row.id)
      .execute();
    // The bundle changed (same key and subject, new certificate): trust stores and gateways reload.
    await announce(tx, row.id, { action: 'reissued', status: 'active' }, meta);
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'ca.reissue_issuing',
        targetType: 'certificate_authority',
        targetId: row.id,
        details: {
          subject: row.subject,
          previous_serial: row.serial,
          serial: material.serialHex,
          crl_distribution_point: crlUrl,
        },
      },
      meta.now,
    );
    return {
      id: row.id,
      subject: row.subject,
      serial: material.serialHex,
      previous_serial: row.serial,
      not_before: material.notBefore.toISOString(),
      not_after: material.notAfter.toISOString(),
      crl_distribution_point: crlUrl,
      certificate_pem: material.certPem,
    };
  }
}

/** The subject key identifier of a CA certificate, lowercase hex (every platform CA carries one). */
export function skiHexOfPem(certPem: string): string {
  const cert = new x509.X509Certificate(certPem);
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ski) throw new AppError('invalid_ca', 500, 'a CA certificate has no subject key identifier');
  return ski.keyId.toLowerCase();
}

interface Loaded {
  ca: LoadedCa;
  trusted: LoadedCa[];
  /** Every issuing CA ever (retired and revoked too): their last CRLs stay fetchable. */
  issuingIds: string[];
  /** The issuing CA whose certificates name the original CRL URL (settings.crlUrl). */
  originalIssuingId: string | undefined;
  root: LoadedRoot;
  chainPem: string;
}

async function loadAuthorities(db: Kysely<Database>, kek: string, settings: CaSettings): Promise<Loaded> {
  const rows = await db
    .selectFrom('certificate_authorities')
    .selectAll()
    .orderBy('generation', 'desc')
    .orderBy('created_at', 'desc')
    .execute();
  const root = rows.find((r) => r.kind === 'root');
  const trusted: LoadedCa[] = [];
  for (const row of rows) {
    if (row.kind !== 'issuing' || (row.status !== 'active' && row.status !== 'retiring') || !row.key_pem)
      continue;
    trusted.push({
      id: row.id,
      skiHex: skiHexOfPem(row.cert_pem),
      certPem: row.cert_pem,
      privateKey: decryptPrivateKey(row.key_pem, kek),
      notBefore: new Date(row.not_before),
      notAfter: new Date(row.not_after),
      status: row.status,
      generation: Number(row.generation),
      crlUrl: row.crl_url ?? settings.crlUrl,
    });
  }
  // The active one first: it issues, and a TLS listener given the bundle sends no CA anyway.
  trusted.sort((a, b) => Number(b.status === 'active') - Number(a.status === 'active'));
  const [ca] = trusted;
  if (ca?.status !== 'active' || !root)
    throw new AppError('not_initialised', 500, 'the platform CA has not been created');
  const issuingRows = rows.filter((r) => r.kind === 'issuing');
  const original = issuingRows
    .filter((r) => r.crl_url === null)
    .sort((a, b) => Number(a.generation) - Number(b.generation))[0];
  return {
    ca,
    trusted,
    issuingIds: issuingRows.map((r) => r.id),
    originalIssuingId: original?.id,
    root: {
      id: root.id,
      skiHex: skiHexOfPem(root.cert_pem),
      certPem: root.cert_pem,
      privateKey: root.key_pem ? decryptPrivateKey(root.key_pem, kek) : undefined,
    },
    chainPem: [...trusted.map((c) => c.certPem), root.cert_pem].map((p) => `${p.trim()}\n`).join(''),
  };
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
        crl_url: null,
        status_changed_at: null,
        revocation_reason: null,
      })
      .execute();
  }
}

export interface CertificateFilter {
  clientId?: string | undefined;
  orgId?: string | undefined;
  status?: 'active' | 'revoked' | undefined;
  /** Only certificates whose not_after is before this instant (ISO-8601): "expiring soon". */
  notAfterBefore?: string | undefined;
  /** Sort by not_after, soonest first, instead of newest first. */
  byNotAfter?: boolean | undefined;
}

function filteredCertificates(db: Kysely<Database>, filter: CertificateFilter) {
  let q = db.selectFrom('certificates').selectAll();
  if (filter.clientId) q = q.where('client_id', '=', filter.clientId);
  if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.notAfterBefore) q = q.where('not_after', '<', filter.notAfterBefore);
  return q;
}

function withoutPem(r: Selectable<Database['certificates']>): Omit<CertificateView, 'certificate_pem'> {
  const { certificate_pem: _pem, ...rest } = view(r);
  return rest;
}

export async function listCertificates(
  db: Kysely<Database>,
  filter: CertificateFilter,
): Promise<Array<Omit<CertificateView, 'certificate_pem'>>> {
  let q = filteredCertificates(db, filter);
  q = filter.byNotAfter ? q.orderBy('not_after', 'asc').orderBy('serial') : q.orderBy('created_at', 'desc');
  q = q.limit(1000);
  const rows = await q.execute();
  return rows.map(withoutPem);
}

/**
 * One page of certificates, keyset-paged: newest first by (created_at, serial), or with `byNotAfter` soonest
 * ending first by (not_after, serial). The cursor key is the pair of the last row.
 */
export async function listCertificatesPage(
  db: Kysely<Database>,
  filter: CertificateFilter,
  page: PageRequest,
): Promise<Page<Omit<CertificateView, 'certificate_pem'>>> {
  let q = filteredCertificates(db, filter);
  const after = page.after;
  if (filter.byNotAfter) {
    if (after) q = q.where((eb) => keysetAfter(eb, ['not_after', 'serial'], after));
    q = q.orderBy('not_after', 'asc').orderBy('serial', 'asc');
  } else {
    if (after) q = q.where((eb) => keysetAfter(eb, ['created_at', 'serial'], after, true));
    q = q.orderBy('created_at', 'desc').orderBy('serial', 'desc');
  }
  const rows = await q.limit(page.limit + 1).execute();
  const paged = toPage(rows, page.limit, (r) => [filter.byNotAfter ? r.not_after : r.created_at, r.serial]);
  return { items: paged.items.map(withoutPem), next_cursor: paged.next_cursor };
}

/** How many certificates match `filter`: one COUNT, whatever the table's size (the operator overview). */
export async function countCertificates(db: Kysely<Database>, filter: CertificateFilter): Promise<number> {
  let q = db.selectFrom('certificates').select((eb) => eb.fn.countAll<string>().as('n'));
  if (filter.clientId) q = q.where('client_id', '=', filter.clientId);
  if (filter.orgId) q = q.where('org_id', '=', filter.orgId);
  if (filter.status) q = q.where('status', '=', filter.status);
  if (filter.notAfterBefore) q = q.where('not_after', '<', filter.notAfterBefore);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/** Certificate pages have a key of two values (a time and the serial). */
export const CERTIFICATE_PAGE_KEY_LENGTH = 2;

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
