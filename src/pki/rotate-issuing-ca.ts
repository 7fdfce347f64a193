import { type KeyObject, randomUUID } from 'node:crypto';
import { recordAuditEvent } from '../audit/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Tx } from '../storage/index.ts';
import { createIssuingCa } from './ca-certificates.ts';
import { storeNextCrl } from './ca-crls.ts';
import { type AuthorityView, announce, issuingRow, rootSigner, viewOf } from './ca-records.ts';
import type { ActionMeta, CertificateAuthority } from './certificate-authority.ts';
import { encryptPrivateKey } from './key-encryption.ts';
import type { KeyAlgorithm } from './keys.ts';
import { x509 } from './x509.ts';

const DAY_MS = 86_400_000;
const ISSUING_DAYS = 10 * 365;

function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  if (key.asymmetricKeyType === 'ec') {
    return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'ES384' : 'ES256';
  }
  if (key.asymmetricKeyType === 'rsa') return 'PS256';
  return 'EdDSA';
}

/**
 * Brings in the next issuing CA generation, signed by the root: it issues from now on; the one that issued
 * until now becomes `retiring` (still trusted, still publishing its CRL, its certificates still revocable).
 * The new CA has its own CRL distribution point, and its first CRL is published in the same transaction.
 */
export async function rotateIssuing(
  tx: Tx,
  ca: CertificateAuthority,
  meta: ActionMeta,
  options: { rootKey?: KeyObject; validityDays?: number } = {},
): Promise<AuthorityView> {
  const root = await rootSigner(ca, options.rootKey, 'rotating the issuing CA');
  const crlUrlOf = ca.settings.issuingCrlUrlOf;
  if (!crlUrlOf) throw new AppError('not_configured', 500, 'the issuing CRL URLs are not configured');
  const current = await issuingRow(tx, ca.caId);
  if (current.status !== 'active') {
    throw new AppError('conflict', 409, 'the issuing CA changed meanwhile; reload and try again');
  }
  const generations = await tx.db
    .selectFrom('certificate_authorities')
    .select((eb) => eb.fn.max('generation').as('g'))
    .where('kind', '=', 'issuing')
    .executeTakeFirst();
  const generation = Number(generations?.g ?? 1) + 1;
  const old = new x509.X509Certificate(current.cert_pem);
  const commonName = `${(old.subjectName.getField('CN')[0] ?? 'Accredit Issuing CA').replace(/\s+\d+$/, '')} ${generation}`;
  const organization = old.subjectName.getField('O')[0];
  const rootNotAfter = new x509.X509Certificate(root.certPem).notAfter;
  // RFC 5280 §6.1.3 does not demand nesting, but a CA outliving its root only produces unusable certificates.
  const untilRoot = Math.floor((rootNotAfter.getTime() - meta.now.getTime()) / DAY_MS) - 1;
  const validityDays = Math.min(options.validityDays ?? ISSUING_DAYS, untilRoot);
  if (validityDays < 1)
    throw new AppError('root_expiring', 409, 'the root CA expires too soon to sign a new CA');
  const id = randomUUID();
  const material = await createIssuingCa({
    parent: root,
    commonName,
    ...(organization !== undefined ? { organization } : {}),
    keyAlg: keyAlgorithmOf(ca.trustedIssuing[0]?.privateKey ?? root.privateKey),
    validityDays,
    now: meta.now,
    ...(ca.settings.rootCrlUrl !== undefined ? { crlUrl: ca.settings.rootCrlUrl } : {}),
    // RFC 5280 §4.2.2.1: where relying parties find the root's OCSP responder and certificate.
    ...(ca.settings.ocspUrl !== undefined && ca.settings.caCertUrlOf !== undefined
      ? { aia: { ocspUrl: ca.settings.ocspUrl, caIssuersUrl: ca.settings.caCertUrlOf(ca.root.skiHex) } }
      : {}),
  });
  const at = meta.now.toISOString();
  await tx.db
    .updateTable('certificate_authorities')
    .set({ status: 'retiring', status_changed_at: at })
    .where('id', '=', current.id)
    .execute();
  await tx.db
    .insertInto('certificate_authorities')
    .values({
      id,
      kind: 'issuing',
      subject: material.subject,
      serial: material.serialHex,
      cert_pem: material.certPem,
      key_pem: encryptPrivateKey(material.privateKey, ca.kek),
      not_before: material.notBefore.toISOString(),
      not_after: material.notAfter.toISOString(),
      created_at: at,
      status: 'active',
      generation,
      crl_url: crlUrlOf(id),
      status_changed_at: at,
      revocation_reason: null,
    })
    .execute();
  // Relying parties fetch the new CA's CRL as soon as they meet its first certificate.
  await storeNextCrl(tx, {
    signer: { id, certPem: material.certPem, privateKey: material.privateKey },
    now: meta.now,
    validityHours: ca.settings.crlValidityHours,
    entries: async () => [],
  });
  await announce(tx, id, { action: 'rotated', status: 'active' }, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'ca.rotate_issuing',
      targetType: 'certificate_authority',
      targetId: id,
      details: {
        subject: material.subject,
        serial: material.serialHex,
        generation,
        retiring: current.id,
        ceremony: options.rootKey !== undefined,
      },
    },
    meta.now,
  );
  const row = await tx.db
    .selectFrom('certificate_authorities')
    .selectAll()
    .where('id', '=', id)
    .executeTakeFirstOrThrow();
  return viewOf(tx.db, row, ca.settings.crlUrl, meta.now);
}
