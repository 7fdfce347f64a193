import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import type { Database, Storage } from '../../storage/index.ts';
import { decryptPrivateKey, encryptPrivateKey } from '../key-encryption.ts';
import { generateKeyPair, type KeyAlgorithm } from '../keys.ts';
import { pemToDer } from '../pem.ts';
import { type ResponderKey, responderKey } from './build-ocsp-response.ts';
import type { OcspAuthority } from './ocsp-authorities.ts';
import { issueResponderCertificate } from './responder-certificate.ts';

const DAY_MS = 86_400_000;
// Backdated like partner certificates, for relying parties whose clocks run a little behind.
const BACKDATE_MS = 60_000;

export interface StoredResponder {
  key: ResponderKey;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface ResponderPolicy {
  lifetimeDays: number;
  keyAlgorithm: KeyAlgorithm;
}

/** Renewed once half of its life has passed, so a response never has to outlive its signer. */
export const renewAt = (r: { notBefore: Date; notAfter: Date }) =>
  new Date(r.notBefore.getTime() + (r.notAfter.getTime() - r.notBefore.getTime()) / 2);

function toStored(row: Database['ocsp_responders'], kek: string): StoredResponder {
  return {
    key: responderKey(pemToDer(row.cert_pem, 'CERTIFICATE'), decryptPrivateKey(row.key_pem, kek)),
    serial: row.serial,
    notBefore: new Date(row.not_before),
    notAfter: new Date(row.not_after),
  };
}

/** The newest responder certificate of `ca` that is still in the first half of its life at `now`. */
async function freshResponder(
  db: Kysely<Database>,
  ca: OcspAuthority,
  kek: string,
  now: Date,
): Promise<StoredResponder | undefined> {
  const row = await db
    .selectFrom('ocsp_responders')
    .selectAll()
    .where('ca_id', '=', ca.id)
    .where('not_after', '>', now.toISOString())
    .orderBy('not_after', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!row) return undefined;
  const stored = toStored(row, kek);
  return now < renewAt(stored) ? stored : undefined;
}

/**
 * The responder of `ca` at `now`: the stored one while it is in the first half of its life, else a new key
 * and certificate issued by the CA and stored (key KEK-encrypted). Processes sharing a database may each
 * issue one at the same moment; the newest is used, the others expire unused.
 */
export async function ensureResponder(
  storage: Storage,
  ca: OcspAuthority,
  kek: string,
  policy: ResponderPolicy,
  now: Date,
): Promise<StoredResponder | undefined> {
  const fresh = await freshResponder(storage.db, ca, kek, now);
  if (fresh) return fresh;
  if (!ca.privateKey || ca.notAfter <= now) return undefined;
  const { privateKey, publicKey } = generateKeyPair(policy.keyAlgorithm);
  const notBefore = new Date(
    Math.max(Math.floor((now.getTime() - BACKDATE_MS) / 1000) * 1000, ca.notBefore.getTime()),
  );
  // Never beyond the CA's own validity (RFC 5280 §4.1.2.5 practice; assertWithinIssuer enforces it).
  const notAfter = new Date(
    Math.min(Math.floor(now.getTime() / 1000) * 1000 + policy.lifetimeDays * DAY_MS, ca.notAfter.getTime()),
  );
  const cert = await issueResponderCertificate({
    issuer: { certPem: ca.certPem, privateKey: ca.privateKey },
    publicKey,
    notBefore,
    notAfter,
  });
  await storage.transaction(async (tx) => {
    await tx.db
      .insertInto('ocsp_responders')
      .values({
        id: randomUUID(),
        ca_id: ca.id,
        serial: cert.serialHex,
        cert_pem: cert.certPem,
        key_pem: encryptPrivateKey(privateKey, kek),
        not_before: cert.notBefore.toISOString(),
        not_after: cert.notAfter.toISOString(),
        created_at: now.toISOString(),
      })
      .execute();
    await recordAuditEvent(
      tx,
      {
        actor: 'system:ocsp',
        action: 'ocsp.responder_issue',
        targetType: 'certificate_authority',
        targetId: ca.id,
        details: { serial: cert.serialHex, not_after: cert.notAfter.toISOString() },
      },
      now,
    );
  });
  return {
    key: responderKey(cert.certDer, privateKey),
    serial: cert.serialHex,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}
