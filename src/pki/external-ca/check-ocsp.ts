import * as pkijs from 'pkijs';
import type { GuardedFetcher } from '../../shared/guarded-fetch/index.ts';

// pkijs signs and verifies with Node's WebCrypto (OpenSSL), as @peculiar/x509 does.
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: globalThis.crypto });

export type OcspStatus = 'good' | 'revoked' | 'unknown';

export interface OcspAnswer {
  status: OcspStatus;
  /** Until when the answer may be reused (its nextUpdate, or a short default). */
  validUntilMs: number;
}

// An answer without nextUpdate (RFC 6960 §4.2.2.1: newer information is always available) is reused briefly.
const NO_NEXT_UPDATE_MS = 5 * 60_000;
const SKEW_MS = 5 * 60_000;
const MAX_CACHE = 10_000;

function certificateOf(der: Uint8Array): pkijs.Certificate {
  return pkijs.Certificate.fromBER(der);
}

/**
 * RFC 6960 (OCSP) for a client certificate of a registered external CA: the request by GET (§A.1, the
 * base64 DER in the path), the response verified (§3.2: signed by the CA itself or a responder it delegated
 * with id-kp-OCSPSigning, §4.2.2.2), for exactly this certificate, current (thisUpdate not in the future,
 * nextUpdate not past). Anything else throws: the caller fails closed.
 */
export async function queryOcsp(
  fetcher: GuardedFetcher,
  url: string,
  leafDer: Uint8Array,
  caDer: Uint8Array,
  now: Date,
): Promise<OcspAnswer> {
  const leaf = certificateOf(leafDer);
  const issuer = certificateOf(caDer);
  const request = new pkijs.OCSPRequest();
  await request.createForCertificate(leaf, { hashAlgorithm: 'SHA-1', issuerCertificate: issuer }, engine);
  const der = Buffer.from(request.toSchema(true).toBER());
  const target = `${url.replace(/\/+$/, '')}/${encodeURIComponent(der.toString('base64'))}`;
  const res = await fetcher.fetch({ url: target, accept: 'application/ocsp-response' });
  const ocsp = pkijs.OCSPResponse.fromBER(res.raw);
  // RFC 6960 §4.2.1: only `successful` (0) carries a response.
  const responseStatus = ocsp.responseStatus.valueBlock.valueDec;
  if (responseStatus !== 0 || !ocsp.responseBytes)
    throw new Error(`OCSP responder answered status ${responseStatus}`);
  if (ocsp.responseBytes.responseType !== '1.3.6.1.5.5.7.48.1.1')
    throw new Error('not a basic OCSP response');
  const basic = pkijs.BasicOCSPResponse.fromBER(ocsp.responseBytes.response.valueBlock.valueHexView);
  // §3.2 (2)(3)(4): the signature, by the CA or its delegated responder (pkijs checks §4.2.2.2 authorisation).
  const signed = await basic.verify({ trustedCerts: [issuer], issuerCerts: [issuer] }, engine);
  if (!signed) throw new Error('the OCSP response signature does not verify');
  const status = await basic.getCertificateStatus(leaf, issuer, engine);
  if (!status.isForCertificate) throw new Error('the OCSP response is not for this certificate');
  const serial = Buffer.from(leaf.serialNumber.valueBlock.valueHexView);
  const single = basic.tbsResponseData.responses.find((r) =>
    Buffer.from(r.certID.serialNumber.valueBlock.valueHexView).equals(serial),
  );
  if (!single) throw new Error('the OCSP response is not for this certificate');
  const t = now.getTime();
  // §3.2 (5)(6): thisUpdate sufficiently recent, nextUpdate (when given) later than now.
  if (single.thisUpdate.getTime() > t + SKEW_MS)
    throw new Error('the OCSP response thisUpdate is in the future');
  if (single.nextUpdate !== undefined && single.nextUpdate.getTime() < t)
    throw new Error('the OCSP response is stale');
  return {
    status: status.status === 0 ? 'good' : status.status === 1 ? 'revoked' : 'unknown',
    validUntilMs: single.nextUpdate?.getTime() ?? t + NO_NEXT_UPDATE_MS,
  };
}

/** Answers cached per CA and serial until their nextUpdate; errors are not cached. */
export function createOcspChecker(fetcher: GuardedFetcher) {
  const cache = new Map<string, OcspAnswer>();
  return async function checkOcsp(
    url: string,
    caId: string,
    serial: string,
    leafDer: Uint8Array,
    caDer: Uint8Array,
    now: Date,
  ): Promise<OcspStatus> {
    const key = `${caId}:${serial}`;
    const hit = cache.get(key);
    if (hit && now.getTime() <= hit.validUntilMs) return hit.status;
    const answer = await queryOcsp(fetcher, url, leafDer, caDer, now);
    if (cache.size >= MAX_CACHE) cache.delete(cache.keys().next().value as string);
    cache.set(key, answer);
    return answer.status;
  };
}

export type OcspChecker = ReturnType<typeof createOcspChecker>;
