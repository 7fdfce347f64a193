import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';

export interface DynamicRegistrationOptions {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** The authorization server's issuer: the Bearer realm of the client configuration endpoint. */
  issuer: string;
  /** `iss` of the directory's software statements (`<publicUrl>/directory`). */
  statementIssuer: string;
  /** Base URL of the mTLS listener, where registration_client_uri points (RFC 7592 §3). */
  mtlsUrl: string;
  /** Oldest statement accepted, seconds since its `iat` (`registration.softwareStatementMaxAgeSeconds`). */
  softwareStatementMaxAgeSeconds: number;
  /**
   * RFC 7591 §3: whether a Bearer initial access token an operator issued may stand in for a software statement
   * (`registration.allowInitialAccessTokens`). Off: a bearer token at the registration endpoint is ignored.
   */
  allowInitialAccessTokens: boolean;
  /** Leeway for clocks that disagree a little, as for every other JWT this server verifies. */
  skewSeconds: number;
  /** Refuses a jwks_uri the platform's partner fetcher would not fetch (loopback, private, metadata service). */
  urlGuard: UrlGuard;
}
