import { createHash } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OCSP_OIDS } from '../../../src/pki/ocsp/index.ts';
import { x509 } from '../../../src/pki/x509.ts';

const HASH_OIDS = {
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  md5: '1.2.840.113549.2.5',
} as const;

/** A CertID built the RFC 6960 §4.1.1 way, independently of the responder's own matching code. */
export function certIdFor(
  issuerPem: string,
  serialHex: string,
  hash: keyof typeof HASH_OIDS = 'sha1',
): pkijs.CertID {
  const issuer = new x509.X509Certificate(issuerPem);
  const name = Buffer.from(issuer.subjectName.toArrayBuffer());
  const spki = asn1js.fromBER(issuer.publicKey.rawData).result as asn1js.Sequence;
  const keyBits = (spki.valueBlock.value[1] as asn1js.BitString).valueBlock.valueHexView;
  const digest = (data: Uint8Array) => createHash(hash).update(data).digest();
  return new pkijs.CertID({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({
      algorithmId: HASH_OIDS[hash],
      algorithmParams: new asn1js.Null(),
    }),
    issuerNameHash: new asn1js.OctetString({ valueHex: digest(name) }),
    issuerKeyHash: new asn1js.OctetString({ valueHex: digest(keyBits) }),
    serialNumber: new asn1js.Integer({ valueHex: Buffer.from(serialHex, 'hex') }),
  });
}

export function nonceExtension(nonce: Buffer, critical = false): pkijs.Extension {
  const value = new asn1js.OctetString({ valueHex: nonce }).toBER();
  return new pkijs.Extension({ extnID: OCSP_OIDS.nonce, critical, extnValue: value });
}

export function requestDer(
  certIds: pkijs.CertID[],
  options: { extensions?: pkijs.Extension[]; version?: number } = {},
): Buffer {
  const request = new pkijs.OCSPRequest();
  request.tbsRequest.requestList = certIds.map((reqCert) => new pkijs.Request({ reqCert }));
  if (options.extensions) request.tbsRequest.requestExtensions = options.extensions;
  if (options.version !== undefined) request.tbsRequest.version = options.version;
  return Buffer.from(request.toSchema(true).toBER());
}

export interface DecodedResponse {
  status: number;
  basic?: pkijs.BasicOCSPResponse;
  /** Per SingleResponse: 'good' | 'revoked' | 'unknown', the revocation time and reason when revoked. */
  singles: Array<{ status: string; serialHex: string; revokedAt?: Date; reason?: number }>;
  nonce?: Buffer;
}

export function decodeResponse(der: Uint8Array): DecodedResponse {
  const response = pkijs.OCSPResponse.fromBER(der);
  const status = response.responseStatus.valueBlock.valueDec;
  if (!response.responseBytes) return { status, singles: [] };
  const basic = pkijs.BasicOCSPResponse.fromBER(response.responseBytes.response.valueBlock.valueHexView);
  const singles = basic.tbsResponseData.responses.map((single) => {
    const block = single.certStatus as asn1js.Constructed;
    const serialHex = Buffer.from(single.certID.serialNumber.valueBlock.valueHexView).toString('hex');
    const tag = block.idBlock.tagNumber;
    if (tag === 0) return { status: 'good', serialHex };
    if (tag === 2) return { status: 'unknown', serialHex };
    // pkijs leaves the implicit [1] RevokedInfo as raw content: re-read it as a SEQUENCE.
    const seq = asn1js.fromBER(new asn1js.Sequence({ value: block.valueBlock.value }).toBER())
      .result as asn1js.Sequence;
    const time = (seq.valueBlock.value[0] as asn1js.GeneralizedTime).toDate();
    const reasonBlock = seq.valueBlock.value[1] as asn1js.Constructed | undefined;
    const reason = reasonBlock
      ? (reasonBlock.valueBlock.value[0] as asn1js.Enumerated).valueBlock.valueDec
      : undefined;
    return { status: 'revoked', serialHex, revokedAt: time, ...(reason === undefined ? {} : { reason }) };
  });
  const nonceExt = basic.tbsResponseData.responseExtensions?.find((e) => e.extnID === OCSP_OIDS.nonce);
  const nonce = nonceExt
    ? Buffer.from(
        (asn1js.fromBER(nonceExt.extnValue.valueBlock.valueHexView).result as asn1js.OctetString).valueBlock
          .valueHexView,
      )
    : undefined;
  return { status, basic, singles, ...(nonce ? { nonce } : {}) };
}
