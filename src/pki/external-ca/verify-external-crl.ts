import { PkiError } from '../errors.ts';
import { formatRfc4514 } from '../rfc4514.ts';
import { x509 } from '../x509.ts';

/** What a verified CRL tells: when it was made, until when it holds, and which serials are revoked. */
export interface VerifiedCrl {
  thisUpdate: Date;
  nextUpdate: Date;
  /** Decimal, or null when the CRL carries no CRL Number. */
  crlNumber: string | null;
  /** Normalised serials (upper-case hex, no leading zeros). */
  revokedSerials: string[];
  /** The CRL as verified, DER. */
  der: Buffer;
}

const ID_CE_CRL_NUMBER = '2.5.29.20';
const ID_CE_AUTHORITY_KEY_ID = '2.5.29.35';
// Clock skew allowed on thisUpdate: a CA's clock slightly ahead of ours is not an attack.
const SKEW_MS = 5 * 60_000;

/** One spelling for a serial, whichever library printed it: upper-case hex without leading zeros. */
export function normaliseSerial(hex: string): string {
  const clean = hex
    .replace(/[^0-9a-f]/gi, '')
    .toUpperCase()
    .replace(/^0+/, '');
  return clean === '' ? '0' : clean;
}

function refused(message: string): PkiError {
  return new PkiError('crl_invalid', message, { status: 502 });
}

function crlNumberOf(crl: x509.X509Crl): string | null {
  const ext = crl.getExtension(ID_CE_CRL_NUMBER);
  if (!ext) return null;
  const hex = Buffer.from(ext.value).toString('hex');
  // DER INTEGER: tag 02, one length octet (at most 20 content octets, RFC 5280 §5.2.3).
  if (!hex.startsWith('02')) throw refused('the CRL Number extension is not an INTEGER');
  return BigInt(`0x${hex.slice(4) || '0'}`).toString(10);
}

/**
 * Verifies a CRL fetched for a registered CA (RFC 5280 §6.3.3): issued by that CA (issuer name), signed by the
 * registered key (whose keyUsage, if present, allows cRLSign), complete (no critical extension we do not
 * understand: partitioned, delta and indirect CRLs are refused rather than misread), with a nextUpdate, made
 * no later than now.
 */
export async function verifyExternalCrl(body: Buffer, caPem: string, now: Date): Promise<VerifiedCrl> {
  const ca = new x509.X509Certificate(caPem);
  let crl: x509.X509Crl;
  try {
    const text = body.subarray(0, 32).toString('latin1');
    crl = new x509.X509Crl(text.startsWith('-----BEGIN') ? body.toString('utf8') : body);
  } catch {
    throw refused('the answer is not a DER or PEM X.509 CRL');
  }
  // RFC 5280 §6.3.3 (b)(1): the CRL issuer must be the certificate's issuer (the registered CA itself).
  if (formatRfc4514(crl.issuerName.toArrayBuffer()) !== formatRfc4514(ca.subjectName.toArrayBuffer())) {
    throw refused('the CRL was not issued by the registered CA (issuer name differs)');
  }
  // RFC 5280 §4.2.1.3: a key used to verify CRL signatures must allow cRLSign.
  const usage = ca.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.cRLSign) === 0) {
    throw refused('the registered CA certificate does not allow cRLSign');
  }
  let signed = false;
  try {
    signed = await crl.verify({ publicKey: ca.publicKey });
  } catch {
    signed = false;
  }
  // RFC 5280 §6.3.3 (f): validate the signature with the CA's public key.
  if (!signed) throw refused('the CRL signature does not verify with the registered CA key');
  // RFC 5280 §5.2: a CRL with an unrecognised critical extension must not be used.
  for (const ext of crl.extensions) {
    if (ext.critical && ext.type !== ID_CE_CRL_NUMBER && ext.type !== ID_CE_AUTHORITY_KEY_ID) {
      throw refused(`the CRL carries a critical extension not supported (${ext.type})`);
    }
  }
  const nextUpdate = crl.nextUpdate;
  // RFC 5280 §5.1.2.5: conforming CAs MUST include nextUpdate; without it freshness cannot be judged.
  if (!nextUpdate) throw refused('the CRL has no nextUpdate');
  if (crl.thisUpdate.getTime() > now.getTime() + SKEW_MS)
    throw refused('the CRL thisUpdate is in the future');
  if (nextUpdate.getTime() <= crl.thisUpdate.getTime())
    throw refused('the CRL nextUpdate is not after thisUpdate');
  const revokedSerials: string[] = [];
  for (const entry of crl.entries) {
    // RFC 5280 §5.3: an unrecognised critical entry extension (e.g. certificateIssuer of an indirect CRL).
    if (entry.extensions.some((e) => e.critical)) {
      throw refused('the CRL has an entry with a critical extension (indirect CRLs are not supported)');
    }
    revokedSerials.push(normaliseSerial(entry.serialNumber));
  }
  return {
    thisUpdate: crl.thisUpdate,
    nextUpdate,
    crlNumber: crlNumberOf(crl),
    revokedSerials: [...new Set(revokedSerials)].sort(),
    der: Buffer.from(crl.rawData),
  };
}
