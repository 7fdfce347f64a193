import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OcspRequestError } from './ocsp-errors.ts';
import { CERT_ID_HASHES, OCSP_OIDS } from './ocsp-oids.ts';

/** Far above any real request (one CertID is about 80 octets); the listeners bound bodies to this. */
export const MAX_OCSP_REQUEST_BYTES = 8192;
/** CertIDs answered in one request; each costs a lookup, and one signature covers them all. */
export const MAX_CERT_IDS = 32;
/** RFC 8954 §2.1: a nonce is 1 to 32 octets. */
export const MAX_NONCE_OCTETS = 32;

export interface RequestedCertId {
  /** The CertID as the client sent it: echoed in the SingleResponse (RFC 6960 §4.2.1). */
  certId: pkijs.CertID;
  /** Node's name of the hash, or undefined when the algorithm is not one the responder matches. */
  hash: string | undefined;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** Lowercase hex of a positive serial without leading zero octets; undefined for a negative or zero one. */
  serialHex: string | undefined;
}

export interface ParsedOcspRequest {
  certIds: RequestedCertId[];
  /** The nonce extension, echoed unchanged in the response (RFC 8954 §2.1). */
  nonce: pkijs.Extension | undefined;
}

const malformed = (message: string) => new OcspRequestError('malformedRequest', message);

function serialHexOf(integer: asn1js.Integer): string | undefined {
  const bytes = Buffer.from(integer.valueBlock.valueHexView);
  if (bytes.length === 0) throw malformed('empty serialNumber');
  // A negative serial was never issued (RFC 5280 §4.1.2.2 requires positive ones): unknown, not malformed.
  if ((bytes[0] as number) & 0x80) return undefined;
  const hex = bytes.toString('hex').replace(/^(00)+/, '');
  return hex.length === 0 ? undefined : hex;
}

function parseCertId(request: pkijs.Request): RequestedCertId {
  const certId = request.reqCert;
  const algorithm = CERT_ID_HASHES[certId.hashAlgorithm.algorithmId];
  const issuerNameHash = Buffer.from(certId.issuerNameHash.valueBlock.valueHexView);
  const issuerKeyHash = Buffer.from(certId.issuerKeyHash.valueBlock.valueHexView);
  // A hash of the wrong length cannot come from the algorithm the CertID names (RFC 6960 §4.1.1).
  if (
    algorithm &&
    (issuerNameHash.length !== algorithm.length || issuerKeyHash.length !== algorithm.length)
  ) {
    throw malformed('CertID hash length does not match its algorithm');
  }
  return {
    certId,
    hash: algorithm?.name,
    issuerNameHash,
    issuerKeyHash,
    serialHex: serialHexOf(certId.serialNumber),
  };
}

/** RFC 8954 §2.1: Nonce ::= OCTET STRING (SIZE(1..32)), carried DER-encoded in the extnValue. */
function checkNonce(extension: pkijs.Extension): void {
  const inner = asn1js.fromBER(extension.extnValue.valueBlock.valueHexView);
  const value = inner.result;
  if (
    inner.offset === -1 ||
    inner.offset !== extension.extnValue.valueBlock.valueHexView.byteLength ||
    !(value instanceof asn1js.OctetString) ||
    value.idBlock.isConstructed
  ) {
    throw malformed('the nonce is not an OCTET STRING');
  }
  const length = value.valueBlock.valueHexView.byteLength;
  // RFC 8954 §2.1: a responder MUST reject a nonce longer than 32 octets with malformedRequest.
  if (length < 1 || length > MAX_NONCE_OCTETS) throw malformed(`nonce of ${length} octets (1 to 32 allowed)`);
}

/**
 * Decodes an OCSPRequest (RFC 6960 §4.1.1): DER with nothing after it, version v1, 1 to MAX_CERT_IDS CertIDs,
 * a nonce of 1 to 32 octets if any. The optional signature is not required (§4.1.2) and not checked.
 */
export function parseOcspRequest(der: Uint8Array): ParsedOcspRequest {
  if (der.byteLength === 0) throw malformed('empty request');
  if (der.byteLength > MAX_OCSP_REQUEST_BYTES) throw malformed('request too large');
  const asn1 = asn1js.fromBER(der);
  if (asn1.offset === -1 || asn1.offset !== der.byteLength) throw malformed('not a single DER value');
  let request: pkijs.OCSPRequest;
  try {
    request = new pkijs.OCSPRequest({ schema: asn1.result });
  } catch {
    throw malformed('not an OCSPRequest');
  }
  const tbs = request.tbsRequest;
  if ((tbs.version ?? 0) !== 0) throw malformed('unsupported OCSPRequest version');
  if (tbs.requestList.length === 0) throw malformed('no CertID in the request');
  if (tbs.requestList.length > MAX_CERT_IDS) throw malformed(`more than ${MAX_CERT_IDS} CertIDs`);
  let nonce: pkijs.Extension | undefined;
  const seen = new Set<string>();
  for (const extension of tbs.requestExtensions ?? []) {
    // RFC 5280 §4.2: an extension appears at most once; the same rule holds for OCSP's Extensions.
    if (seen.has(extension.extnID)) throw malformed(`extension ${extension.extnID} repeated`);
    seen.add(extension.extnID);
    if (extension.extnID === OCSP_OIDS.nonce) {
      checkNonce(extension);
      nonce = extension;
    } else if (extension.critical) {
      throw malformed(`unsupported critical extension ${extension.extnID}`);
    }
  }
  const certIds = tbs.requestList.map((r) => {
    if (r.singleRequestExtensions?.some((e) => e.critical)) {
      throw malformed('unsupported critical singleRequestExtension');
    }
    return parseCertId(r);
  });
  return { certIds, nonce };
}
