import { AppError } from '../../shared/app-error.ts';
import { MAX_CSR_PEM_BYTES } from '../csr.ts';
import { derToPem } from '../pem.ts';

/** The largest simplereenroll body read: a base64 CSR at the CSR lint's own bound, with line breaks. */
export const MAX_EST_BODY_BYTES = MAX_CSR_PEM_BYTES;

/**
 * RFC 7030 §4.2.1: the body of simplereenroll is a PKCS#10 request, DER, base64-encoded
 * (Content-Transfer-Encoding: base64, RFC 2045 §6.8: line breaks allowed). Returns it as PEM for the CSR lint,
 * which then parses and checks it; anything that is not base64 is refused here.
 */
export function pkcs10BodyToPem(body: Buffer): string {
  const text = body.toString('latin1');
  const compact = text.replace(/[\r\n\t ]+/g, '');
  if (compact.length === 0) {
    throw new AppError(
      'invalid_request',
      400,
      'the body must be a base64-encoded PKCS#10 request (RFC 7030 §4.2.1)',
    );
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    throw new AppError(
      'invalid_request',
      400,
      'the body is not base64 (RFC 7030 §4.2.1: base64-encoded DER PKCS#10)',
    );
  }
  return derToPem('CERTIFICATE REQUEST', Buffer.from(compact, 'base64'));
}
