import * as asn1js from 'asn1js';
import { PkiError } from './errors.ts';
import { type CertificateIssuer, loadIssuer } from './issuer.ts';
import { derToPem } from './pem.ts';
import { isRevocationReason, REVOCATION_REASONS, type RevocationReason } from './revocation-reasons.ts';
import { assertSerialHex } from './serial.ts';
import { x509 } from './x509.ts';

const ID_CE_CRL_NUMBER = '2.5.29.20';

export type CrlEntry = { serialHex: string; revokedAt: Date; reason: RevocationReason };

export type BuildCrlOptions = {
  issuer: CertificateIssuer;
  crlNumber: bigint | number;
  thisUpdate: Date;
  nextUpdate: Date;
  entries: CrlEntry[];
};

// RFC 5280 §5.2.3: CRL number is a non-negative INTEGER of at most 20 octets, non-critical.
function crlNumberExtension(crlNumber: bigint | number): x509.Extension {
  if (typeof crlNumber === 'number' && !Number.isSafeInteger(crlNumber)) {
    throw new PkiError('invalid_crl_number', 'crlNumber must be a non-negative integer');
  }
  const value = BigInt(crlNumber);
  const der = asn1js.Integer.fromBigInt(value).toBER();
  // DER INTEGER = tag + length + at most 20 content octets (the one-byte length always suffices here).
  if (value < 0n || der.byteLength - 2 > 20) {
    throw new PkiError('invalid_crl_number', 'crlNumber must be a non-negative integer of at most 20 octets');
  }
  return new x509.Extension(ID_CE_CRL_NUMBER, false, der);
}

function toEntry(entry: CrlEntry): x509.X509CrlEntryParams {
  assertSerialHex(entry.serialHex);
  if (!isRevocationReason(entry.reason)) {
    throw new PkiError('invalid_crl_entry', 'CRL entry has an unknown revocation reason');
  }
  const code = REVOCATION_REASONS[entry.reason];
  // RFC 5280 §5.3.1: the reasonCode extension SHOULD be absent rather than say unspecified (0).
  return code === 0
    ? { serialNumber: entry.serialHex, revocationDate: entry.revokedAt }
    : { serialNumber: entry.serialHex, revocationDate: entry.revokedAt, reason: code as x509.X509CrlReason };
}

/** Signed X.509 v2 CRL (RFC 5280 §5) in DER, with CRL Number and Authority Key Identifier extensions. */
export async function buildCrl(opts: BuildCrlOptions): Promise<Buffer> {
  // RFC 5280 §5.1.2.5: conforming CRL issuers MUST include nextUpdate, later than thisUpdate.
  if (!(opts.nextUpdate.getTime() > opts.thisUpdate.getTime())) {
    throw new PkiError('invalid_validity', 'nextUpdate must be later than thisUpdate');
  }
  const entries = opts.entries.map(toEntry);
  if (new Set(entries.map((e) => e.serialNumber)).size !== entries.length) {
    throw new PkiError('duplicate_crl_entry', 'a serial may appear only once in a CRL');
  }
  const issuer = await loadIssuer(opts.issuer, 'crl');
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.name,
    thisUpdate: opts.thisUpdate,
    nextUpdate: opts.nextUpdate,
    signingKey: issuer.signingKey,
    signingAlgorithm: issuer.signingAlgorithm,
    // RFC 5280 §5.2.1 (AKI, MUST) and §5.2.3 (CRL number, MUST).
    extensions: [issuer.authorityKeyIdentifier, crlNumberExtension(opts.crlNumber)],
    entries,
  });
  return Buffer.from(crl.rawData);
}

/** RFC 7468 §6: the "X509 CRL" label. */
export function crlDerToPem(der: Uint8Array): string {
  return derToPem('X509 CRL', der);
}
