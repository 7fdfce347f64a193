import { ocspErrorResponse } from './build-ocsp-response.ts';
import { decodeGetRequest } from './decode-get-request.ts';
import { OcspRequestError } from './ocsp-errors.ts';
import type { OcspAnswer } from './ocsp-responder.ts';
import { MAX_OCSP_REQUEST_BYTES } from './parse-ocsp-request.ts';

/** What the OCSP endpoint needs of an HTTP request, whichever listener received it. */
export interface OcspHttpRequest {
  method: string;
  /** The raw (still percent-encoded) path after the responder's URL and its '/', '' for none. */
  suffix: string;
  contentType: string | undefined;
  /** The POST body; undefined when it exceeded MAX_OCSP_REQUEST_BYTES. */
  body: Buffer | undefined;
  ifNoneMatch: string | undefined;
}

export interface OcspHttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const CONTENT_TYPE = 'application/ocsp-response';
// HTTP caches (RFC 5019 §6.2) may keep a response this long at most: the server's own cache is invalidated
// by a revocation at once, a proxy's is not, so a revocation reaches relying parties behind one within this.
export const OCSP_HTTP_MAX_AGE_SECONDS = 60;

function ocspError(status: number, error: OcspRequestError): OcspHttpAnswer {
  return {
    status,
    headers: { 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' },
    body: ocspErrorResponse(error.status),
  };
}

/**
 * RFC 6960 Appendix A.1 over HTTP: GET with the base64 request in the path, POST with an
 * `application/ocsp-request` body; the answer is `application/ocsp-response`, unsuccessful statuses included
 * (malformedRequest for anything that is not a request). Cacheable answers carry RFC 5019 §6.2 headers.
 */
export async function answerOcspHttp(
  respond: (der: Uint8Array) => Promise<OcspAnswer>,
  request: OcspHttpRequest,
  now: Date,
): Promise<OcspHttpAnswer> {
  let der: Uint8Array;
  if (request.method === 'GET' || request.method === 'HEAD') {
    try {
      der = decodeGetRequest(request.suffix);
    } catch (err) {
      return ocspError(200, err as OcspRequestError);
    }
  } else if (request.method === 'POST') {
    if (request.suffix !== '')
      return ocspError(404, new OcspRequestError('malformedRequest', 'no such path'));
    if (request.body === undefined) {
      return ocspError(
        413,
        new OcspRequestError('malformedRequest', `over ${MAX_OCSP_REQUEST_BYTES} octets`),
      );
    }
    // A.1.1: the request is sent with Content-Type application/ocsp-request.
    const type = request.contentType?.split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/ocsp-request') {
      return ocspError(
        415,
        new OcspRequestError('malformedRequest', 'content type is not application/ocsp-request'),
      );
    }
    der = request.body;
  } else {
    return {
      status: 405,
      headers: { allow: 'GET, HEAD, POST', 'content-type': CONTENT_TYPE, 'cache-control': 'no-store' },
      body: ocspErrorResponse('malformedRequest'),
    };
  }
  const answer = await respond(der);
  const headers: Record<string, string> = { 'content-type': CONTENT_TYPE };
  const cacheable = answer.cacheable;
  if (!cacheable) {
    headers['cache-control'] = 'no-store';
    return { status: 200, headers, body: answer.der };
  }
  // RFC 5019 §6.2: max-age below nextUpdate, Last-Modified thisUpdate, Expires nextUpdate, an ETag.
  const left = Math.floor((cacheable.nextUpdate.getTime() - now.getTime()) / 1000);
  const maxAge = Math.max(0, Math.min(left, OCSP_HTTP_MAX_AGE_SECONDS));
  headers['cache-control'] = `max-age=${maxAge}, public, no-transform, must-revalidate`;
  headers['last-modified'] = cacheable.thisUpdate.toUTCString();
  headers.expires = cacheable.nextUpdate.toUTCString();
  headers.etag = cacheable.etag;
  if (request.ifNoneMatch?.split(',').some((t) => t.trim() === cacheable.etag)) {
    return { status: 304, headers, body: Buffer.alloc(0) };
  }
  return { status: 200, headers, body: answer.der };
}
