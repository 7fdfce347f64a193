import { createHash, type KeyObject, sign } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { PkiError } from '../errors.ts';
import { OCSP_RESPONSE_STATUS, type OcspErrorStatus } from './ocsp-errors.ts';
import { OCSP_OIDS } from './ocsp-oids.ts';

/** What signs responses: the delegated responder certificate and its key. */
export interface ResponderKey {
  certificate: pkijs.Certificate;
  certDer: Buffer;
  privateKey: KeyObject;
  /** ResponderID byKey (RFC 6960 §4.2.2.3): SHA-1 of the responder's public key BIT STRING value. */
  keyHash: Buffer;
  signature: { oid: string; hash: string };
}

export type CertStatus =
  | { kind: 'good' }
  | { kind: 'revoked'; revokedAt: Date; reasonCode: number | undefined }
  | { kind: 'unknown' };

export interface SingleAnswer {
  certId: pkijs.CertID;
  status: CertStatus;
}

export interface BuildOcspResponseOptions {
  responder: ResponderKey;
  answers: SingleAnswer[];
  producedAt: Date;
  thisUpdate: Date;
  nextUpdate: Date;
  nonce?: pkijs.Extension | undefined;
}

// Signature algorithms of the responder keys the platform creates (RFC 5758 §3.2).
const EC_SIGNATURES: Record<string, { oid: string; hash: string }> = {
  prime256v1: { oid: '1.2.840.10045.4.3.2', hash: 'sha256' },
  secp384r1: { oid: '1.2.840.10045.4.3.3', hash: 'sha384' },
  secp521r1: { oid: '1.2.840.10045.4.3.4', hash: 'sha512' },
};

/** The responder's signing material from its certificate (DER) and private key. */
export function responderKey(certDer: Uint8Array, privateKey: KeyObject): ResponderKey {
  const signature = EC_SIGNATURES[privateKey.asymmetricKeyDetails?.namedCurve ?? ''];
  if (privateKey.asymmetricKeyType !== 'ec' || !signature) {
    throw new PkiError('invalid_responder_key', 'OCSP responder keys are EC P-256, P-384 or P-521');
  }
  const certificate = pkijs.Certificate.fromBER(certDer);
  const keyBits = certificate.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
  return {
    certificate,
    certDer: Buffer.from(certDer),
    privateKey,
    keyHash: createHash('sha1').update(keyBits).digest(),
    signature,
  };
}

/** X.690 GeneralizedTime without fractions (RFC 5280 §4.1.2.5.2 practice, kept for OCSP times). */
const seconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

function certStatus(status: CertStatus): asn1js.BaseBlock {
  switch (status.kind) {
    case 'good':
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 } });
    case 'unknown':
      return new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 2 } });
    case 'revoked': {
      // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPT }
      const value: asn1js.BaseBlock[] = [
        new asn1js.GeneralizedTime({ valueDate: seconds(status.revokedAt) }),
      ];
      if (status.reasonCode !== undefined) {
        value.push(
          new asn1js.Constructed({
            idBlock: { tagClass: 3, tagNumber: 0 },
            value: [new asn1js.Enumerated({ value: status.reasonCode })],
          }),
        );
      }
      return new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value });
    }
  }
}

/** A signed successful OCSPResponse carrying a BasicOCSPResponse (RFC 6960 §4.2.1), DER. */
export function buildOcspResponse(opts: BuildOcspResponseOptions): Buffer {
  const { responder } = opts;
  const thisUpdate = seconds(opts.thisUpdate);
  const nextUpdate = seconds(opts.nextUpdate);
  const data = new pkijs.ResponseData({
    responderID: new asn1js.OctetString({ valueHex: responder.keyHash }),
    producedAt: seconds(opts.producedAt),
    responses: opts.answers.map(
      (a) =>
        new pkijs.SingleResponse({
          certID: a.certId,
          certStatus: certStatus(a.status),
          thisUpdate,
          nextUpdate,
        }),
    ),
    // RFC 8954 §2.1: the nonce comes back exactly as it was sent.
    ...(opts.nonce ? { responseExtensions: [opts.nonce] } : {}),
  });
  const tbs = data.toSchema(true).toBER();
  data.tbsView = new Uint8Array(tbs);
  const signature = sign(responder.signature.hash, new Uint8Array(tbs), {
    key: responder.privateKey,
    dsaEncoding: 'der',
  });
  // BasicOCSPResponse (§4.2.1) around the signed bytes as they are: re-encoding the parsed certificate and
  // tbsResponseData through pkijs' schema would cost several times the signature.
  const basic = new asn1js.Sequence({
    value: [
      encoded(tbs),
      new pkijs.AlgorithmIdentifier({ algorithmId: responder.signature.oid }).toSchema(),
      new asn1js.BitString({ valueHex: signature }),
      // §4.2.2.2: the delegated responder's certificate travels with the response so clients can check it.
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [new asn1js.Sequence({ value: [encoded(responder.certDer)] })],
      }),
    ],
  });
  const response = new asn1js.Sequence({
    value: [
      new asn1js.Enumerated({ value: OCSP_RESPONSE_STATUS.successful }),
      new asn1js.Constructed({
        idBlock: { tagClass: 3, tagNumber: 0 },
        value: [
          new asn1js.Sequence({
            value: [
              new asn1js.ObjectIdentifier({ value: OCSP_OIDS.basic }),
              new asn1js.OctetString({ valueHex: basic.toBER() }),
            ],
          }),
        ],
      }),
    ],
  });
  return Buffer.from(response.toBER());
}

/**
 * An element already DER-encoded (a certificate, signed bytes), placed as is inside an asn1js structure:
 * asn1js encodes a constructed value by asking each element to write itself into the shared writer.
 */
function encoded(der: Uint8Array | ArrayBuffer): asn1js.BaseBlock {
  const bytes =
    der instanceof ArrayBuffer ? der : der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength);
  const element = {
    toBER(_sizeOnly?: boolean, writer?: { write(buffer: ArrayBuffer): void }): ArrayBuffer {
      if (!writer) return bytes as ArrayBuffer;
      writer.write(bytes as ArrayBuffer);
      return new ArrayBuffer(0);
    },
  };
  return element as unknown as asn1js.BaseBlock;
}

const errorResponses = new Map<OcspErrorStatus, Buffer>();

/** An unsuccessful OCSPResponse: the status alone, no responseBytes (RFC 6960 §4.2.1), DER. */
export function ocspErrorResponse(status: OcspErrorStatus): Buffer {
  let der = errorResponses.get(status);
  if (!der) {
    const response = new pkijs.OCSPResponse({
      responseStatus: new asn1js.Enumerated({ value: OCSP_RESPONSE_STATUS[status] }),
    });
    der = Buffer.from(response.toSchema().toBER());
    errorResponses.set(status, der);
  }
  return der;
}
