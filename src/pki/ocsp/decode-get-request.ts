import { OcspRequestError } from './ocsp-errors.ts';
import { MAX_OCSP_REQUEST_BYTES } from './parse-ocsp-request.ts';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * RFC 6960 Appendix A.1: GET {url}/{url-encoding of base-64 encoding of the DER OCSPRequest}. Clients differ
 * in what they percent-encode (some leave '/' and '+' as they are), so the path after the responder's URL is
 * taken whole, percent-decoded once, and must then be standard base64.
 */
export function decodeGetRequest(encoded: string): Buffer {
  const malformed = (message: string) => new OcspRequestError('malformedRequest', message);
  // Base64 grows data by 4/3; the percent-encoding of '+', '/' and '=' at most triples that.
  if (encoded.length === 0) throw malformed('no request in the path');
  if (encoded.length > Math.ceil(MAX_OCSP_REQUEST_BYTES / 3) * 4 * 3) throw malformed('request too large');
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    throw malformed('bad percent-encoding');
  }
  if (text.length % 4 !== 0 || !BASE64.test(text)) throw malformed('not base64');
  return Buffer.from(text, 'base64');
}
