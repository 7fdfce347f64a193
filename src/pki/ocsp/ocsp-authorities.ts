import { createHash, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import type { Kysely } from 'kysely';
import type { Database } from '../../storage/index.ts';
import { decryptPrivateKey } from '../key-encryption.ts';
import { pemToDer } from '../pem.ts';
import { x509 } from '../x509.ts';
import { CERT_ID_HASHES } from './ocsp-oids.ts';

/** A CA the platform holds, as the responder and the caIssuers publication see it. */
export interface OcspAuthority {
  id: string;
  kind: string;
  certPem: string;
  certDer: Buffer;
  /** Lowercase hex of the subject key identifier: names the CA certificate in caIssuers URLs. */
  skiHex: string;
  notBefore: Date;
  notAfter: Date;
  /** Undefined when the key is kept elsewhere (an offline root): no responder can be certified for it. */
  privateKey: KeyObject | undefined;
}

export interface OcspAuthorities {
  all: OcspAuthority[];
  /** The CA whose name and key hash under `hash` (a Node hash name) are these (RFC 6960 §4.1.1). */
  byCertId(hash: string, issuerNameHash: Buffer, issuerKeyHash: Buffer): OcspAuthority | undefined;
  bySki(skiHex: string): OcspAuthority | undefined;
}

const matchKey = (hash: string, nameHash: Buffer, keyHash: Buffer) =>
  `${hash}:${nameHash.toString('hex')}:${keyHash.toString('hex')}`;

/**
 * Every CA in storage (the root and each issuing CA, current or rotated out), indexed by the CertID hashes
 * of its subject and public key for every supported algorithm. Rows are newest first, so of two certificates
 * with one key (a re-issued CA) the current one is found.
 */
export async function loadOcspAuthorities(db: Kysely<Database>, kek: string): Promise<OcspAuthorities> {
  const rows = await db
    .selectFrom('certificate_authorities')
    .selectAll()
    .orderBy('created_at', 'desc')
    .execute();
  const all: OcspAuthority[] = [];
  const byHash = new Map<string, OcspAuthority>();
  const bySki = new Map<string, OcspAuthority>();
  for (const row of rows) {
    const certDer = pemToDer(row.cert_pem, 'CERTIFICATE');
    const cert = new x509.X509Certificate(certDer);
    const name = Buffer.from(cert.subjectName.toArrayBuffer());
    // issuerKeyHash covers the subjectPublicKey BIT STRING value, without tag, length and unused-bits octet.
    const spki = asn1js.fromBER(cert.publicKey.rawData).result as asn1js.Sequence;
    const keyBits = (spki.valueBlock.value[1] as asn1js.BitString).valueBlock.valueHexView;
    const skiHex = (
      cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ??
      createHash('sha1').update(keyBits).digest('hex')
    ).toLowerCase();
    const authority: OcspAuthority = {
      id: row.id,
      kind: row.kind,
      certPem: row.cert_pem,
      certDer,
      skiHex,
      notBefore: new Date(row.not_before),
      notAfter: new Date(row.not_after),
      privateKey: row.key_pem ? decryptPrivateKey(row.key_pem, kek) : undefined,
    };
    all.push(authority);
    if (!bySki.has(skiHex)) bySki.set(skiHex, authority);
    for (const { name: hash } of Object.values(CERT_ID_HASHES)) {
      const key = matchKey(
        hash,
        createHash(hash).update(name).digest(),
        createHash(hash).update(keyBits).digest(),
      );
      if (!byHash.has(key)) byHash.set(key, authority);
    }
  }
  return {
    all,
    byCertId: (hash, nameHash, keyHash) => byHash.get(matchKey(hash, nameHash, keyHash)),
    bySki: (ski) => bySki.get(ski.toLowerCase()),
  };
}
