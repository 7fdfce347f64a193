import { X509Certificate } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { KoaContextWithOIDC } from 'oidc-provider';
import {
  certificateStore,
  type ExternalCertificateVerdict,
  externalCaStore,
  type OcspChecker,
  verifyExternalCertificate,
} from '../../pki/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Database } from '../../storage/index.ts';
import type { CertificateResolver } from '../client-certificate.ts';
import { setCertificateState } from './certificate-state.ts';
import type { TokenEndpointCache } from './directory-cache.ts';
import { lookUpIssuedCertificate } from './look-up-issued-certificate.ts';

/**
 * Middleware: resolves and looks up the client certificate once per request, before oidc-provider's synchronous
 * hooks (getCertificate, certificateAuthorized, certificateSubjectMatches) read it.
 */
export function createCertificateLookup(options: {
  resolveCertificate: CertificateResolver;
  db: Kysely<Database>;
  clock: Clock;
  checkOcsp?: OcspChecker | undefined;
  /** The platform's certificate records kept between requests (directory-cache.ts); none: read every time. */
  cache?: TokenEndpointCache | undefined;
}) {
  /** RFC 6960: with an OCSP responder configured for the CA, only a current `good` answer admits (fail closed). */
  async function ocspRefusal(
    verdict: ExternalCertificateVerdict,
    leafDer: Uint8Array,
  ): Promise<ExternalCertificateVerdict['refusal']> {
    const url = verdict.ca.ocsp_url;
    if (url === null) return undefined;
    let status: string;
    try {
      if (!options.checkOcsp) throw new Error('no OCSP client');
      status = await options.checkOcsp(
        url,
        verdict.ca.id,
        verdict.serial,
        leafDer,
        new X509Certificate(verdict.ca.certificate_pem).raw,
        options.clock(),
      );
    } catch {
      status = 'unavailable';
    }
    if (status === 'good') return undefined;
    if (status === 'revoked') {
      return { code: 'certificate_revoked', message: 'the client certificate has been revoked' };
    }
    return {
      code: 'issuer_revocation_unavailable',
      message: "the issuing CA's OCSP responder gave no current answer for this certificate",
    };
  }

  return async function certificateLookup(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
    const resolved = options.resolveCertificate(ctx.req, options.clock());
    if (resolved && 'refused' in resolved && ctx.method === 'POST') {
      // A trusted proxy forwarded a certificate we cannot read: say why, rather than fall back to none.
      ctx.status = 401;
      ctx.set('cache-control', 'no-store');
      ctx.body = {
        error: 'invalid_client',
        error_description: `forwarded client certificate refused: ${resolved.refused}`,
      };
      return;
    }
    const presented = resolved && !('refused' in resolved) ? resolved : undefined;
    // With the state of the application the certificate was issued to (the software, for a dynamic client).
    const issued = !presented
      ? undefined
      : options.cache
        ? await options.cache.issuedCertificate(presented.x5t)
        : await lookUpIssuedCertificate(options.db, presented.x5t);
    if (issued?.status === 'revoked' && ctx.method === 'POST') {
      // A revoked certificate authenticates nothing and binds nothing (RFC 6749 §5.2 invalid_client).
      ctx.status = 401;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'invalid_client', error_description: 'client certificate has been revoked' };
      return;
    }
    // Not the platform's: perhaps issued by an organisation's own registered CA (bring your own CA).
    let external: { caId: string; orgId: string } | undefined;
    if (presented && !issued && !presented.chainTrusted) {
      const cas = await externalCaStore(options.db).all();
      const verdict =
        cas.length === 0 ? undefined : verifyExternalCertificate(presented.cert, cas, options.clock());
      if (verdict && !verdict.refusal && ctx.method === 'POST') {
        verdict.refusal = await ocspRefusal(verdict, presented.cert.raw);
      }
      if (verdict?.refusal && ctx.method === 'POST') {
        // Stale revocation state, revoked, expired…: it authenticates nothing (RFC 6749 §5.2 invalid_client).
        ctx.status = 401;
        ctx.set('cache-control', 'no-store');
        ctx.body = {
          error: 'invalid_client',
          error_description: `client certificate refused: ${verdict.refusal.code}: ${verdict.refusal.message}`,
        };
        return;
      }
      if (verdict && !verdict.refusal) external = { caId: verdict.ca.id, orgId: verdict.ca.org_id };
    }
    setCertificateState(ctx, { presented, issued, external });
    await next();
    // A renewed certificate's predecessor is superseded once this one has obtained a token (issue 13).
    if (
      presented &&
      issued &&
      issued.first_used_at === null &&
      ctx.oidc?.route === 'token' &&
      ctx.status === 200
    ) {
      const now = options.clock();
      await certificateStore(options.db).recordFirstUse(presented.x5t, now);
      // The kept record (the same object the cache hands out) now says so too: one write, not one per token.
      // Another process's first use is learnt by recording it again here (a no-op update) once.
      issued.first_used_at = now.toISOString();
    }
  };
}
