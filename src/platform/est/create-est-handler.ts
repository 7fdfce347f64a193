import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CertificateResolver } from '../../authorization-server/index.ts';
import { directoryStore } from '../../directory/index.ts';
import {
  base64Lines,
  type CertificateAuthority,
  certificateStore,
  certsOnlyCms,
  MAX_EST_BODY_BYTES,
  pkcs10BodyToPem,
  splitCertificatePems,
} from '../../pki/index.ts';
import { isCodedError } from '../../shared/app-error.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import { sendEstError } from './est-error.ts';
import { readBoundedBody } from './read-bounded-body.ts';

/** RFC 7030 §3.2.2: the EST path prefix; the optional CA label segment is not offered. */
export const EST_PREFIX = '/.well-known/est/';

const PKCS7_HEADERS = {
  // RFC 7030 §4.1.3, §4.2.3: certs-only CMS, base64 (RFC 8951 clarifies: no other transfer encoding).
  'content-type': 'application/pkcs7-mime; smime-type=certs-only',
  'content-transfer-encoding': 'base64',
  'cache-control': 'no-store',
};

export interface EstOptions {
  storage: Storage;
  ca: CertificateAuthority;
  clock: Clock;
  logger: Logger;
  /** The mTLS listener's resolver: the TLS peer certificate, or one a configured trusted proxy forwarded. */
  resolveCertificate: CertificateResolver;
}

/**
 * EST (RFC 7030) on the mTLS listener: `GET cacerts` for anyone, `POST simplereenroll` authenticated by the
 * certificate being renewed (§3.3.2: TLS client authentication with an existing certificate). Anything else
 * under the prefix is 404 (initial enrolment, server key generation and CSR attributes are not offered).
 */
export function createEstHandler(options: EstOptions) {
  const { storage, ca, clock, logger } = options;

  function cacerts(res: ServerResponse): void {
    // §4.1.3: the current CA certificates (issuing, then root), certs-only.
    const body = base64Lines(certsOnlyCms(splitCertificatePems(ca.chainPem)));
    res.writeHead(200, { ...PKCS7_HEADERS, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  async function simplereenroll(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // §4.2.1: the request is an HTTPS POST of application/pkcs10.
    const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/pkcs10') {
      return sendEstError(
        res,
        415,
        'unsupported_media_type',
        'send the CSR as application/pkcs10 (RFC 7030 §4.2.1)',
      );
    }
    // Refused before anything is read or looked up when the declared size is already too large.
    if (Number(req.headers['content-length'] ?? 0) > MAX_EST_BODY_BYTES) {
      return sendEstError(
        res,
        413,
        'request_too_large',
        `the CSR must be at most ${MAX_EST_BODY_BYTES} bytes`,
      );
    }
    const now = clock();
    const presented = options.resolveCertificate(req, now);
    if (presented && 'refused' in presented) {
      return sendEstError(
        res,
        403,
        'certificate_refused',
        `forwarded client certificate refused: ${presented.refused}`,
      );
    }
    // §3.3.2: the client authenticates with the certificate it renews; one chained to the platform CA only.
    if (!presented) {
      return sendEstError(
        res,
        403,
        'certificate_required',
        'present the current certificate as the TLS client certificate',
      );
    }
    const record = await certificateStore(storage.db).byThumbprint(presented.x5t);
    if (record && new Date(record.not_after) <= now) {
      return sendEstError(
        res,
        403,
        'certificate_expired',
        'the client certificate has expired; ask an operator for a new one',
      );
    }
    if (!presented.chainTrusted) {
      return sendEstError(
        res,
        403,
        'certificate_untrusted',
        'the client certificate does not chain to this platform’s CA',
      );
    }
    if (!record) {
      return sendEstError(res, 403, 'certificate_unknown', 'the client certificate is not on record');
    }
    const app = await directoryStore(storage.db).applicationWithOrganisation(record.client_id);
    if (app?.status !== 'active' || app.org_status !== 'active') {
      return sendEstError(
        res,
        403,
        'application_not_active',
        'the certificate’s application or organisation is not active',
      );
    }
    const body = await readBoundedBody(req, MAX_EST_BODY_BYTES);
    if (body === 'too_large') {
      return sendEstError(
        res,
        413,
        'request_too_large',
        `the CSR must be at most ${MAX_EST_BODY_BYTES} bytes`,
      );
    }
    const csrPem = pkcs10BodyToPem(body);
    const issued = await storage.transaction((tx) =>
      ca.renew(tx, { serial: record.serial, csrPem }, { actor: `client:${record.client_id}`, now }),
    );
    logger.info(
      { serial: issued.serial, renews: record.serial, client_id: record.client_id },
      'certificate renewed (EST)',
    );
    const out = base64Lines(certsOnlyCms([issued.certificate_pem]));
    res.writeHead(200, { ...PKCS7_HEADERS, 'content-length': Buffer.byteLength(out) });
    res.end(out);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const operation = path.slice(EST_PREFIX.length);
    try {
      if (operation === 'cacerts') {
        if (req.method !== 'GET' && req.method !== 'HEAD') {
          return sendEstError(res, 405, 'method_not_allowed', 'cacerts is GET', { allow: 'GET' });
        }
        return cacerts(res);
      }
      if (operation === 'simplereenroll') {
        if (req.method !== 'POST') {
          return sendEstError(res, 405, 'method_not_allowed', 'simplereenroll is POST', { allow: 'POST' });
        }
        return await simplereenroll(req, res);
      }
      return sendEstError(res, 404, 'not_found', 'this EST server offers cacerts and simplereenroll only');
    } catch (err) {
      if (res.headersSent) return;
      if (isCodedError(err) && err.expose) {
        return sendEstError(res, estStatusOf(err.code, err.status), err.code, err.message);
      }
      logger.error({ err }, 'EST request failed');
      return sendEstError(res, 500, 'server_error', 'the request could not be completed');
    }
  }

  return handle;
}

/** Refusals of who is asking are 403 (RFC 7030 §3.3.2); a bad request stays 400; already_renewed stays 409. */
function estStatusOf(code: string, status: number): number {
  if (status === 400 || status === 413 || status === 415 || code === 'already_renewed') return status;
  return status >= 500 ? 500 : 403;
}

/** Routes the EST prefix to the EST handler, everything else to `next` (the authorization server). */
export function withEst(
  est: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  next: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if ((req.url ?? '').startsWith(EST_PREFIX)) void est(req, res);
    else next(req, res);
  };
}
