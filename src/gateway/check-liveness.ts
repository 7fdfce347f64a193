import { type AcceptedCertificate, checkIssuedCertificateOwner } from './check-client-certificate.ts';
import { GATEWAY_REASONS, GatewayError, invalidToken } from './gateway-error.ts';
import type { ClientLiveness, LivenessState } from './liveness.ts';
import type { AccessToken } from './verify-access-token.ts';

function forbidden(reason: (typeof GATEWAY_REASONS)[keyof typeof GATEWAY_REASONS], message: string) {
  return new GatewayError(reason, 403, message);
}

/**
 * Step 4: the token's client, its organisation and the token itself are still allowed, read from memory
 * that the change feed keeps current (no database query per request). The certificate's own revocation is
 * checked in step 1; without a certificate (an `mtls: optional` operation) only the token's client is
 * checked. Returns the client as the directory knows it: its org is the one forwarded upstream.
 */
export function checkLiveness(
  token: AccessToken,
  cert: AcceptedCertificate | undefined,
  liveness: LivenessState,
): ClientLiveness {
  const client = liveness.client(token.clientId);
  if (!client) throw invalidToken(GATEWAY_REASONS.clientUnknown, 'the token was issued to an unknown client');
  // RFC 6750 §3.1: the client is gone, so its token is invalid (401 with a challenge), not merely forbidden.
  if (client.status === 'deleted')
    throw invalidToken(
      GATEWAY_REASONS.clientDeleted,
      'the token was issued to a client that has been deleted',
    );
  if (client.status !== 'active') throw forbidden(GATEWAY_REASONS.clientSuspended, 'the client is suspended');
  const orgStatus = liveness.orgStatus(client.orgId);
  if (orgStatus === 'offboarded') {
    throw forbidden(GATEWAY_REASONS.orgOffboarded, "the client's organisation has been offboarded");
  }
  if (orgStatus !== 'active') {
    throw forbidden(GATEWAY_REASONS.orgSuspended, "the client's organisation is suspended");
  }
  // Every client_id maps to exactly one org: a token claiming another one was not minted from the directory.
  if (token.orgId !== undefined && token.orgId !== client.orgId) {
    throw invalidToken(GATEWAY_REASONS.orgMismatch, "the token's organisation does not match its client");
  }
  if (cert?.selfSignedOwner && cert.selfSignedOwner.clientId !== client.clientId) {
    throw forbidden(
      GATEWAY_REASONS.certificateClientMismatch,
      'the self-signed certificate is registered to another client',
    );
  }
  // Bring your own CA: an organisation's CA vouches for that organisation's clients only.
  if (cert?.externalCa !== undefined && cert.externalCa.orgId !== client.orgId) {
    throw forbidden(
      GATEWAY_REASONS.certificateIssuerMismatch,
      "the client certificate's CA is not registered by the token client's organisation",
    );
  }
  // A platform-issued certificate binds tokens for its own application only, or for a client registered
  // dynamically with that application as its software, within the same organisation (never across).
  const issuedTo = cert?.issuedTo;
  if (cert !== undefined && issuedTo !== undefined && issuedTo !== client.clientId) {
    const owner = liveness.client(issuedTo);
    if (!client.certificateApps.includes(issuedTo) || owner?.orgId !== client.orgId) {
      throw forbidden(
        GATEWAY_REASONS.certificateClientMismatch,
        'the client certificate was issued to another application',
      );
    }
    checkIssuedCertificateOwner(cert, liveness);
  }
  // RFC 7009 §2.2: a revoked token is invalid at once, not at its exp.
  if (liveness.isTokenRevoked(token.jti))
    throw invalidToken(GATEWAY_REASONS.tokenRevoked, 'the token has been revoked');
  return client;
}
