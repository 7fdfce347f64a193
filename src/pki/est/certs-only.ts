import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { pemToDer } from '../pem.ts';

/**
 * A "certs-only" CMS message (RFC 5652 §5, RFC 7030 §4.1.3 / §4.2.3): a SignedData with no content and no
 * signers, carrying certificates only — what EST answers /cacerts and /simplereenroll with.
 */
export function certsOnlyCms(certificatePems: readonly string[]): Buffer {
  const certificates = certificatePems.map((pem) =>
    pkijs.Certificate.fromBER(new Uint8Array(pemToDer(pem, 'CERTIFICATE'))),
  );
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: pkijs.ContentInfo.DATA }),
    certificates,
    signerInfos: [],
    digestAlgorithms: [],
  });
  const info = new pkijs.ContentInfo({
    contentType: pkijs.ContentInfo.SIGNED_DATA,
    content: signed.toSchema(true),
  });
  return Buffer.from(info.toSchema().toBER(false));
}

/** The certificates of a certs-only CMS message, DER each (for clients reading an EST response). */
export function certificatesOfCms(der: Buffer): Buffer[] {
  const asn1 = asn1js.fromBER(new Uint8Array(der));
  if (asn1.offset === -1) throw new Error('not DER');
  const info = new pkijs.ContentInfo({ schema: asn1.result });
  if (info.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Error('not a CMS SignedData');
  const signed = new pkijs.SignedData({ schema: info.content });
  return (signed.certificates ?? [])
    .filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
    .map((c) => Buffer.from(c.toSchema().toBER(false)));
}

/** Base64 in lines of 64 characters, as RFC 7030 §4.1.3 sends a Content-Transfer-Encoding: base64 body. */
export function base64Lines(der: Buffer): string {
  return `${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\r\n')}\r\n`;
}

/** The CERTIFICATE blocks of a PEM bundle, in order. */
export function splitCertificatePems(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
