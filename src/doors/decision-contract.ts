/**
 * The decision core's contract as issue 12 fixes it (src/gateway/decision/types.ts, built on h/core). Doors
 * import these names from here only, so that the day the core lands this file becomes a re-export.
 */
import type { X509Certificate } from 'node:crypto';
import type { CatalogRoute } from '../gateway/match-route.ts';

/** What a door knows of one request; every door builds this and nothing else reaches the core. */
export interface RequestFacts {
  method: string;
  target: string;
  authorization: string | undefined;
  dpop: string | undefined;
  certificate: ForwardedCertificate | undefined;
  requestId: string;
}

export interface ForwardedCertificate {
  leaf: X509Certificate;
  chain: X509Certificate[];
  source: 'tls' | 'rfc9440' | 'nginx' | 'envoy-xfcc' | 'aws-alb' | 'aws-apigw';
  tlsVerified?: { authorized: boolean; error: string | undefined };
}

export interface IdentityContext {
  clientId: string | undefined;
  orgId: string | undefined;
  scopes: string[];
  roles: string[];
  jti: string | undefined;
  certX5tS256: string | undefined;
  certSubject: string | undefined;
  route: string | undefined;
}

export type Decision =
  | {
      allow: true;
      status: 200;
      reason: 'allowed' | 'public_route';
      identity: IdentityContext;
      headers: Record<string, string>;
    }
  | {
      allow: false;
      status: 400 | 401 | 403 | 404 | 503;
      reason: string;
      detail: string;
      challenge: string | undefined;
    };

export interface DecisionCore {
  decide(facts: RequestFacts): Decision | Promise<Decision>;
  setRoutes(routes: CatalogRoute[]): void;
  record(door: string, facts: RequestFacts, decision: Decision, latencyMs: number): void;
}
