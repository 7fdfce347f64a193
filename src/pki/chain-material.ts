import * as asn1js from 'asn1js';
import { PkiError } from './errors.ts';
import { derToPem } from './pem.ts';
import { formatRfc4514 } from './rfc4514.ts';
import { x509 } from './x509.ts';

const ID_CE_CRL_NUMBER = '2.5.29.20';

/** One CRL of the chain, checked: which CA signed it and until when it may be used. */
export interface CheckedCrl {
  level: 'root' | 'issuing';
  issuer: string;
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: number;
  der: Buffer;
  pem: string;
}

export interface CheckedChain {
  /** The self-signed trust anchor, PEM. */
  rootPem: string;
  /** The CA certificates under it, PEM, in the bundle's order. */
  intermediatePems: string[];
  crls: CheckedCrl[];
}

function refuse(code: string, message: string): PkiError {
  return new PkiError(code, message, { status: 502 });
}

const nameBytes = (name: x509.Name) => Buffer.from(name.toArrayBuffer());

function crlNumberOf(crl: x509.X509Crl): number {
  const ext = crl.extensions.find((e) => e.type === ID_CE_CRL_NUMBER);
  const parsed = ext ? asn1js.fromBER(ext.value).result : undefined;
  if (!(parsed instanceof asn1js.Integer))
    throw refuse('invalid_crl', 'CRL has no CRL number (RFC 5280 §5.2.3)');
  return parsed.valueBlock.valueDec;
}

async function selfSigned(cert: x509.X509Certificate): Promise<boolean> {
  return (
    nameBytes(cert.subjectName).equals(nameBytes(cert.issuerName)) &&
    (await cert.verify({ publicKey: cert.publicKey, signatureOnly: true }))
  );
}

/** Every certificate of a PEM bundle; anything else in it (a key, a CRL) makes it no bundle. */
function certificatesOf(bundlePem: string): x509.X509Certificate[] {
  const blocks = x509.PemConverter.decodeWithHeaders(bundlePem);
  if (blocks.length === 0 || blocks.some((b) => b.type !== 'CERTIFICATE'))
    throw new Error('not a certificate bundle');
  return blocks.map((b) => new x509.X509Certificate(b.rawData));
}

async function rootsOf(certs: x509.X509Certificate[]): Promise<x509.X509Certificate[]> {
  const roots: x509.X509Certificate[] = [];
  for (const cert of certs) if (await selfSigned(cert)) roots.push(cert);
  return roots;
}

async function rootOf(bundlePem: string): Promise<x509.X509Certificate | undefined> {
  try {
    const roots = await rootsOf(certificatesOf(bundlePem));
    return roots.length === 1 ? roots[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What an edge (nginx, Envoy, an AWS truststore) is about to be given, checked before it is written: a
 * bundle of one self-signed root (the root of `pinnedBundlePem` when given: a new trust anchor is never taken
 * from the network) and CA certificates it signed; and one CRL per CA, each signed by its CA and not past
 * nextUpdate at `now`. A relying party handed a bad or stale CRL refuses every client, so none is written.
 */
export async function checkChainMaterial(input: {
  bundlePem: string;
  crls: Uint8Array[];
  now: Date;
  /** A bundle trusted before (the kit on disk): its root must be the new bundle's root. */
  pinnedBundlePem?: string | undefined;
}): Promise<CheckedChain> {
  let certs: x509.X509Certificate[];
  try {
    certs = certificatesOf(input.bundlePem);
  } catch {
    throw refuse('invalid_bundle', 'the CA bundle is not a PEM list of certificates');
  }
  const roots = await rootsOf(certs);
  const [root] = roots;
  if (roots.length !== 1 || !root) throw refuse('invalid_bundle', 'the CA bundle must hold exactly one root');
  if (input.pinnedBundlePem !== undefined) {
    const pinned = await rootOf(input.pinnedBundlePem);
    if (!pinned || !Buffer.from(pinned.rawData).equals(Buffer.from(root.rawData))) {
      throw refuse(
        'root_changed',
        'the platform now serves a different root CA; export the kit again to trust it',
      );
    }
  }
  const intermediates = certs.filter((c) => c !== root);
  for (const cert of intermediates) {
    const signedByRoot =
      nameBytes(cert.issuerName).equals(nameBytes(root.subjectName)) &&
      (await cert.verify({ publicKey: root.publicKey, signatureOnly: true }));
    if (!signedByRoot || !cert.getExtension(x509.BasicConstraintsExtension)?.ca) {
      throw refuse('invalid_bundle', 'every other certificate of the CA bundle must be a CA the root signed');
    }
  }
  const cas = [root, ...intermediates];
  const crls: CheckedCrl[] = [];
  for (const der of input.crls) {
    let crl: x509.X509Crl;
    try {
      crl = new x509.X509Crl(Buffer.from(der));
    } catch {
      throw refuse('invalid_crl', 'a CRL is not DER-encoded X.509');
    }
    const issuer = cas.find((ca) => nameBytes(ca.subjectName).equals(nameBytes(crl.issuerName)));
    if (!issuer || !(await crl.verify({ publicKey: issuer.publicKey }))) {
      throw refuse(
        'invalid_crl',
        `the CRL of ${formatRfc4514(crl.issuerName.toArrayBuffer())} is not signed by that CA`,
      );
    }
    if (!crl.nextUpdate || crl.nextUpdate.getTime() <= input.now.getTime()) {
      throw refuse(
        'stale_crl',
        `the CRL of ${formatRfc4514(crl.issuerName.toArrayBuffer())} is past its nextUpdate`,
      );
    }
    const bytes = Buffer.from(crl.rawData);
    crls.push({
      level: issuer === root ? 'root' : 'issuing',
      issuer: formatRfc4514(crl.issuerName.toArrayBuffer()),
      crlNumber: crlNumberOf(crl),
      thisUpdate: crl.thisUpdate,
      nextUpdate: crl.nextUpdate,
      revoked: crl.entries.length,
      der: bytes,
      pem: derToPem('X509 CRL', bytes),
    });
  }
  for (const ca of cas) {
    if (!crls.some((c) => c.issuer === formatRfc4514(ca.subjectName.toArrayBuffer()))) {
      throw refuse('missing_crl', `no CRL for ${formatRfc4514(ca.subjectName.toArrayBuffer())}`);
    }
  }
  return {
    rootPem: derToPem('CERTIFICATE', Buffer.from(root.rawData)),
    intermediatePems: intermediates.map((c) => derToPem('CERTIFICATE', Buffer.from(c.rawData))),
    crls,
  };
}
