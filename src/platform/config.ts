import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { validateEntityId } from '../federation/index.ts';
import { type ProxyEntry, proxyEntryProblem } from '../shared/client-cert-headers/index.ts';
import {
  LISTENER_LIMIT_RANGES,
  type ListenerLimits,
  resolveListenerLimits,
} from '../shared/listener-limits.ts';
import { isLoopbackHost } from '../shared/metrics/loopback.ts';

export interface PlatformConfig {
  dataDir: string;
  database: { url: string; schema: string | undefined };
  host: string;
  hostnames: string[];
  listeners: {
    public: { port: number };
    mtls: { port: number };
    gateway: { port: number };
    /** The decision doors (auth_request, ext_authz, AuthZEN); started only when `decision` names callers. */
    decision: { port: number };
    /** Plain-HTTP publication of CRLs, OCSP and CA certificates (RFC 5280 §4.2.1.13, RFC 6960 A.1). */
    pkiHttp: { port: number; enabled: boolean };
    /** Prometheus /metrics for operators (issue 16): plain HTTP, loopback unless `host` says otherwise. */
    metrics: { port: number; host: string; enabled: boolean };
    /** Connection limits every listener applies (handshake and first-request timeouts, caps). */
    limits: ListenerLimits;
  };
  /** Bulk import (issue 16): the largest body POST /admin/v1/import accepts. */
  import?: { maxBytes: number };
  /** External base URL of the public listener; also the authorization server's issuer identifier. */
  publicUrl: string;
  /** External base URL of the mTLS listener (RFC 8705 §5 mtls_endpoint_aliases). */
  mtlsUrl: string;
  /** External base URL of the gateway. */
  gatewayUrl: string;
  /**
   * The *File paths (absolute once loaded) hold what the gateway authenticates to its upstream with; read by
   * loadUpstreamCredentials, so no secret sits in the config object.
   */
  gateway: {
    upstream: string | undefined;
    upstreamSecretFile: string | undefined;
    upstreamCaFile: string | undefined;
    upstreamClientCertFile: string | undefined;
    upstreamClientKeyFile: string | undefined;
    audience: string;
  };
  /**
   * Who may ask the decision listener: client certificates (SHA-256 thumbprints, or subjects chained to
   * callerCaFile) and/or a shared secret file; the *File paths are absolute once loaded.
   */
  decision: {
    callers: string[];
    callerCaFile: string | undefined;
    secretFile: string | undefined;
    /** The header nginx puts `$ssl_client_escaped_cert` in. */
    certificateHeader: string;
    /** External base URL of the API behind the edges, for DPoP `htu` (default: the gateway's URL). */
    edgeUrl?: string | undefined;
  };
  /** The change feed standalone gateways follow (`GET /enforcement/v1/feed`). */
  enforcementFeed: { maxClients: number };
  /** The scrape token of the metrics listener (absolute once loaded); required off loopback. */
  metrics: { tokenFile: string | undefined };
  /** The OpenID Shared Signals Framework transmitter (`docs/shared-signals.md`). */
  ssf: {
    /** Push to loopback and private addresses (development, receivers inside the provider's network). */
    allowPrivateAddresses: boolean;
    maxStreamsPerReceiver: number;
    /** Longest a long poll (RFC 8936 `returnImmediately: false`) is held open. */
    pollMaxWaitSeconds: number;
  };
  accessTokenTtlSeconds: number;
  pki: {
    partnerCertDays: number;
    crlValidityHours: number;
    keyAlgorithm: 'ES256' | 'ES384';
    /**
     * Plain-http base of the CRL distribution point and AIA URLs certificates carry (relying parties fetch
     * revocation data without a TLS dependency); default http://<first hostname>:<pkiHttp port>, or publicUrl
     * when the plain-HTTP listener is disabled.
     */
    publicHttpUrl: string;
    /** Lifetime of each delegated OCSP responder certificate; renewed at half of it. */
    ocspResponderDays: number;
    /** nextUpdate − thisUpdate of OCSP responses. */
    ocspValidityMinutes: number;
    /** Validity of the root's CRL: long, so the root key can stay offline between ceremonies. */
    rootCrlValidityDays: number;
  };
  trustedProxies: string[];
  /** TLS-terminating proxies: address or CIDR, the header form each forwards the client certificate in, and
   * optionally the certificate it must present itself (clientCertCaFile absolute once loaded). */
  proxies: ProxyEntry[];
  logLevel: string;
  federation: FederationConfig;
  /**
   * Dynamic Client Registration (RFC 7591) with software statements the directory issued; where the operator
   * allows it, with an initial access token an operator issued instead (RFC 7591 §3).
   */
  registration: { softwareStatementMaxAgeSeconds: number; allowInitialAccessTokens: boolean };
  /** FAPI 2.0 Security Profile for every authorization code client (`2.0`) or none (`off`), docs/fapi.md. */
  fapi: { profile: '2.0' | 'off' };
  /** DPoP at the authorization server (RFC 9449): whether every proof must carry a server nonce (§8). */
  dpop: { requireNonce: 'always' | 'never' };
  /** Where one-time values (DPoP proof `jti`s) are remembered across nodes: Redis when set, else the database. */
  replayCache?: { redisUrl?: string; redisCaFile?: string };
  /** Rate limits (issue 16): what a failing counter store means at the gateway's doors (default open). */
  rateLimit?: { onStoreError?: 'open' | 'closed' };
  /**
   * End-user login (issue 14): besides the built-in accounts, sign-in through the provider's existing OpenID
   * Provider (`login.upstream.*`; the secret file's path is absolute once loaded).
   */
  login: { upstream: UpstreamLoginConfig | undefined };
  /** The published partner catalog (`GET /catalog`): its title, and how a partner asks for access. */
  catalog: { title: string; accessRequest: string | undefined };
  /** Partner-driven renewal (EST simplereenroll, `accredit partner renew`): window, grace, drain, sweep. */
  renewal: { windowPercent?: number; graceDays: number; drainSeconds: number; sweepSeconds: number };
  /** Signed webhooks: where they may be sent, how long a send may take, and how failures are retried. */
  webhooks: WebhooksConfig;
  /** The expiry monitor (issue 13): thresholds in days and how often it runs; see docs/expiry-and-notifications.md. */
  expiry: { thresholdDays: number[]; intervalMinutes: number };
  /** Signing keys have no notAfter: they are due for rotation at created_at + maxAgeDays (0: never). */
  keys: { maxAgeDays: number };
  /** Mail to organisations' security contacts and operators; off unless notifications.smtp.host is set. */
  notifications: NotificationsConfig;
}

export interface WebhooksConfig {
  /** Tests and closed networks only: send to loopback, private (RFC 1918, CGNAT, ULA) and link-local addresses. */
  allowPrivateAddresses: boolean;
  /** PEM file of extra CAs trusted for receivers (absolute once loaded), besides the system roots and the platform CA. */
  caFile?: string;
  timeoutMs: number;
  /** Delay after each failed attempt, in seconds; its length + 1 is the number of attempts. */
  retrySchedule: number[];
  maxAgeHours: number;
  pollIntervalMs: number;
  retentionDays: number;
}

export interface NotificationsConfig {
  smtp: {
    host: string | undefined;
    port: number;
    /** `tls`: implicit TLS (RFC 8314); `starttls`: STARTTLS required (RFC 3207); `none`: plain, loopback only. */
    security: 'tls' | 'starttls' | 'none';
    user: string | undefined;
    /** Absolute once loaded; ACCREDIT_SMTP_PASSWORD in the environment is used when no file is set. */
    passwordFile: string | undefined;
    from: string | undefined;
    /** PEM file of CAs the SMTP server's certificate chains to (a private PKI), besides the system roots. */
    caFile: string | undefined;
  };
  operators: string[];
}

/** The platform as OpenID Federation 1.0 Trust Anchor / Intermediate, and how it fetches other entities. */
export interface FederationConfig {
  /** The platform's Entity Identifier; its Entity Configuration is served at <entityId>/.well-known/openid-federation. */
  entityId: string;
  /** Immediate Superiors when the platform is an Intermediate under another Trust Anchor; empty: a Trust Anchor. */
  authorityHints: string[];
  /** Lifetime of Entity Configurations and Subordinate Statements, and how long a retired key stays published. */
  statementLifetimeSeconds: number;
  /** Trust Mark types the platform issues; `roles` (directory roles, any of) an organisation needs, empty: none. */
  trustMarkTypes: Array<{ type: string; roles: string[] }>;
  /** Trust Anchors the platform resolves trust chains to; a jwksFile pins the anchor's keys out of band (§10.1). */
  trustAnchors: Array<{ entityId: string; jwksFile?: string }>;
  /**
   * The address policy and limits of every fetch a partner causes (federation statements, a client's jwks_uri):
   * the platform's one partner fetcher. Named `federation.fetch` for the federation, which came first.
   */
  fetch: {
    timeoutMs: number;
    maxBytes: number;
    maxRedirects: number;
    allowLoopback: boolean;
    allowPrivateNetworks: boolean;
    /** PEM file of extra CAs trusted for partner fetches (a private PKI), besides the system roots. */
    caFile?: string;
  };
}

export class ConfigError extends Error {
  readonly code = 'invalid_config';
}

type Parser = (raw: unknown, key: string) => unknown;

const str: Parser = (raw, key) => {
  if (typeof raw !== 'string' || raw.length === 0)
    throw new ConfigError(`${key}: expected a non-empty string`);
  return raw;
};
const int =
  (min: number, max: number): Parser =>
  (raw, key) => {
    // Number() reads "" and " " as 0 and accepts "0x1bb" and "1e3": only decimal digits count here.
    const n = typeof raw === 'string' ? (/^\s*-?\d+\s*$/.test(raw) ? Number(raw) : Number.NaN) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(`${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    }
    return n;
  };
const list: Parser = (raw, key) => {
  if (typeof raw === 'string')
    return raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw;
  throw new ConfigError(`${key}: expected a list of strings`);
};
const bool: Parser = (raw, key) => {
  if (typeof raw === 'boolean') return raw;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${key}: expected true or false, got ${JSON.stringify(raw)}`);
};
/** A JSON array in the file; in the environment a JSON array, or a comma-separated list of plain values. */
const jsonList =
  (item: (raw: unknown, key: string) => unknown): Parser =>
  (raw, key) => {
    let value = raw;
    if (typeof raw === 'string') {
      const text = raw.trim();
      if (text.startsWith('[')) {
        try {
          value = JSON.parse(text);
        } catch {
          throw new ConfigError(`${key}: not a valid JSON array`);
        }
      } else {
        value = text
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
      }
    }
    if (!Array.isArray(value)) throw new ConfigError(`${key}: expected a list`);
    return value.map((v, i) => item(v, `${key}[${i}]`));
  };
const trustMarkType = (raw: unknown, key: string) => {
  const entry = typeof raw === 'string' ? { type: raw } : raw;
  if (typeof entry !== 'object' || entry === null) throw new ConfigError(`${key}: expected {type, roles}`);
  const { type, roles = [] } = entry as { type?: unknown; roles?: unknown };
  // §7.1: the type identifier SHOULD be a URL of the federation or trust framework, collision-resistant.
  if (typeof type !== 'string' || !URL.canParse(type)) throw new ConfigError(`${key}.type: expected a URL`);
  if (!Array.isArray(roles) || !roles.every((r) => typeof r === 'string' && r.length > 0)) {
    throw new ConfigError(`${key}.roles: expected a list of role names`);
  }
  return { type, roles: [...roles] };
};
const trustAnchor = (raw: unknown, key: string) => {
  const entry = typeof raw === 'string' ? { entityId: raw } : raw;
  if (typeof entry !== 'object' || entry === null)
    throw new ConfigError(`${key}: expected {entityId, jwksFile}`);
  const { entityId, jwksFile } = entry as { entityId?: unknown; jwksFile?: unknown };
  if (typeof entityId !== 'string' || entityId.length === 0)
    throw new ConfigError(`${key}.entityId: expected a URL`);
  if (jwksFile !== undefined && (typeof jwksFile !== 'string' || jwksFile.length === 0)) {
    throw new ConfigError(`${key}.jwksFile: expected a file path`);
  }
  return jwksFile === undefined ? { entityId } : { entityId, jwksFile };
};
/** One `proxies` entry: {address, form, header?, clientCert…}, or a bare address (RFC 9440, as trustedProxies). */
const proxyEntry = (raw: unknown, key: string): ProxyEntry => {
  const entry = typeof raw === 'string' ? { address: raw, form: 'rfc9440' } : raw;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new ConfigError(
      `${key}: expected {address, form, header, clientCertSha256, clientCertCaFile, clientCertSubject}`,
    );
  const e = entry as Record<string, unknown>;
  const known = ['address', 'form', 'header', 'clientCertSha256', 'clientCertCaFile', 'clientCertSubject'];
  const unknown = Object.keys(e).find((k) => !known.includes(k));
  if (unknown !== undefined) throw new ConfigError(`${key}.${unknown}: not a proxies key`);
  const text = (name: string) => {
    if (e[name] !== undefined && (typeof e[name] !== 'string' || e[name] === ''))
      throw new ConfigError(`${key}.${name}: expected a non-empty string`);
    return e[name] as string | undefined;
  };
  const sha = e.clientCertSha256;
  if (sha !== undefined && (!Array.isArray(sha) || !sha.every((t) => typeof t === 'string')))
    throw new ConfigError(`${key}.clientCertSha256: expected a list of thumbprints`);
  const out: ProxyEntry = {
    address: text('address') ?? '',
    form: (text('form') ?? '') as ProxyEntry['form'],
  };
  for (const name of ['header', 'clientCertCaFile', 'clientCertSubject'] as const) {
    const value = text(name);
    if (value !== undefined) out[name] = value;
  }
  if (sha !== undefined) out.clientCertSha256 = [...(sha as string[])];
  const problem = proxyEntryProblem(out);
  if (problem) throw new ConfigError(`${key}.${problem}`);
  return out;
};

const limit = (key: keyof ListenerLimits) => {
  const { min, max } = LISTENER_LIMIT_RANGES[key];
  return { parse: int(min, max), default: LISTENER_LIMIT_RANGES[key].default };
};

const oneOf =
  (values: readonly string[]): Parser =>
  (raw, key) => {
    if (typeof raw !== 'string' || !values.includes(raw))
      throw new ConfigError(`${key}: expected one of ${values.join(', ')}`);
    return raw;
  };

/** Every key: where it lives in accredit.json, the environment variable that overrides it, and its default. */
export const CONFIG_KEYS = [
  {
    path: 'database.url',
    env: 'ACCREDIT_DATABASE_URL',
    parse: str,
    doc: 'postgres://… URL; default: SQLite file accredit.db in the data directory',
  },
  {
    path: 'database.schema',
    env: 'ACCREDIT_DATABASE_SCHEMA',
    parse: str,
    doc: 'PostgreSQL schema (search_path)',
  },
  {
    path: 'host',
    env: 'ACCREDIT_HOST',
    parse: str,
    default: '127.0.0.1',
    doc: 'address the listeners bind to',
  },
  {
    path: 'hostnames',
    env: 'ACCREDIT_HOSTNAMES',
    parse: list,
    default: ['localhost'],
    doc: 'DNS names in the server certificate; the first one is used in URLs',
  },
  {
    path: 'listeners.public.port',
    env: 'ACCREDIT_PUBLIC_PORT',
    parse: int(0, 65535),
    default: 8443,
    doc: 'public listener (admin API, CRL, discovery)',
  },
  {
    path: 'publicUrl',
    env: 'ACCREDIT_PUBLIC_URL',
    parse: str,
    doc: 'external base URL of the public listener; default https://<first hostname>:<public port>',
  },
  {
    path: 'listeners.mtls.port',
    env: 'ACCREDIT_MTLS_PORT',
    parse: int(0, 65535),
    default: 8444,
    doc: 'mTLS listener (token, introspection, revocation)',
  },
  {
    path: 'listeners.gateway.port',
    env: 'ACCREDIT_GATEWAY_PORT',
    parse: int(0, 65535),
    default: 9443,
    doc: 'gateway listener (client certificate required)',
  },
  {
    path: 'listeners.decision.port',
    env: 'ACCREDIT_DECISION_PORT',
    parse: int(0, 65535),
    default: 9445,
    doc: 'decision listener (nginx auth_request, Envoy ext_authz, AuthZEN); started only when decision.callers or decision.secretFile is set',
  },
  {
    path: 'listeners.pkiHttp.port',
    env: 'ACCREDIT_PKI_HTTP_PORT',
    parse: int(0, 65535),
    default: 8080,
    doc: 'plain-HTTP listener serving only PKI publication: CRLs, OCSP, CA certificates (caIssuers)',
  },
  {
    path: 'listeners.pkiHttp.enabled',
    env: 'ACCREDIT_PKI_HTTP_ENABLED',
    parse: bool,
    default: true,
    doc: 'start the plain-HTTP PKI listener; when false, CRL/AIA URLs default to publicUrl (https)',
  },
  {
    path: 'listeners.metrics.port',
    env: 'ACCREDIT_METRICS_PORT',
    parse: int(0, 65535),
    default: 9464,
    doc: 'operator-only plain-HTTP listener serving Prometheus GET /metrics (and /health)',
  },
  {
    path: 'listeners.metrics.host',
    env: 'ACCREDIT_METRICS_HOST',
    parse: str,
    default: '127.0.0.1',
    doc: 'address the metrics listener binds to; anything but loopback needs metrics.tokenFile',
  },
  {
    path: 'listeners.metrics.enabled',
    env: 'ACCREDIT_METRICS_ENABLED',
    parse: bool,
    default: true,
    doc: 'start the metrics listener',
  },
  {
    path: 'metrics.tokenFile',
    env: 'ACCREDIT_METRICS_TOKEN_FILE',
    parse: str,
    doc: 'file (mode 0600, relative to the data directory) holding the bearer token scrapers must send, at least 32 characters; required when listeners.metrics.host is not loopback',
  },
  {
    path: 'import.maxBytes',
    env: 'ACCREDIT_IMPORT_MAX_BYTES',
    parse: int(1024, 4 * 1024 * 1024 * 1024),
    default: 64 * 1024 * 1024,
    doc: 'largest body POST /admin/v1/import accepts (NDJSON is streamed; memory holds the parsed records)',
  },
  {
    path: 'decision.callers',
    env: 'ACCREDIT_DECISION_CALLERS',
    parse: list,
    default: [],
    doc: 'edges allowed to ask the decision listener, by client certificate: SHA-256 thumbprints (hex or base64url), or subjects (e.g. CN=edge-1) chained to decision.callerCaFile',
  },
  {
    path: 'decision.callerCaFile',
    env: 'ACCREDIT_DECISION_CALLER_CA_FILE',
    parse: str,
    doc: 'PEM bundle the certificates of decision.callers named by subject must chain to; relative to the data directory',
  },
  {
    path: 'decision.secretFile',
    env: 'ACCREDIT_DECISION_SECRET_FILE',
    parse: str,
    doc: 'file (mode 0600, relative to the data directory) holding the secret edges send in x-accredit-decision-secret (or as Bearer to AuthZEN), at least 32 characters',
  },
  {
    path: 'decision.certificateHeader',
    env: 'ACCREDIT_DECISION_CERTIFICATE_HEADER',
    parse: str,
    default: 'x-client-cert',
    doc: 'request header in which nginx sends $ssl_client_escaped_cert to /auth_request',
  },
  {
    path: 'decision.edgeUrl',
    env: 'ACCREDIT_DECISION_EDGE_URL',
    parse: str,
    doc: 'external base URL of the API behind nginx/Envoy (https://api.example.com): DPoP proofs checked at auth_request and ext_authz must name it in htu; default the gateway URL',
  },
  {
    path: 'listeners.limits.handshakeTimeoutMs',
    env: 'ACCREDIT_LISTENER_HANDSHAKE_TIMEOUT_MS',
    ...limit('handshakeTimeoutMs'),
    doc: 'every listener: time from TCP accept to the end of the TLS handshake',
  },
  {
    path: 'listeners.limits.firstRequestTimeoutMs',
    env: 'ACCREDIT_LISTENER_FIRST_REQUEST_TIMEOUT_MS',
    ...limit('firstRequestTimeoutMs'),
    doc: 'every listener: time from the TLS handshake to the headers of the first request',
  },
  {
    path: 'listeners.limits.maxConnections',
    env: 'ACCREDIT_LISTENER_MAX_CONNECTIONS',
    ...limit('maxConnections'),
    doc: 'open connections per listener; more are closed at accept',
  },
  {
    path: 'listeners.limits.maxConnectionsPerAddress',
    env: 'ACCREDIT_LISTENER_MAX_CONNECTIONS_PER_ADDRESS',
    ...limit('maxConnectionsPerAddress'),
    doc: 'open connections per listener and source address (IPv4 address, IPv6 /64); 0: no cap',
  },
  {
    path: 'listeners.limits.headersTimeoutMs',
    env: 'ACCREDIT_LISTENER_HEADERS_TIMEOUT_MS',
    ...limit('headersTimeoutMs'),
    doc: 'every listener: time to receive the headers of a request',
  },
  {
    path: 'listeners.limits.requestTimeoutMs',
    env: 'ACCREDIT_LISTENER_REQUEST_TIMEOUT_MS',
    ...limit('requestTimeoutMs'),
    doc: 'every listener: time to receive a whole request',
  },
  {
    path: 'listeners.limits.reservedFileDescriptors',
    env: 'ACCREDIT_LISTENER_RESERVED_FILE_DESCRIPTORS',
    ...limit('reservedFileDescriptors'),
    doc: 'descriptors kept free of connections: all listeners together accept at most the open-files limit minus this',
  },
  {
    path: 'mtlsUrl',
    env: 'ACCREDIT_MTLS_URL',
    parse: str,
    doc: 'external base URL of the mTLS listener; default https://<first hostname>:<mtls port>',
  },
  {
    path: 'gatewayUrl',
    env: 'ACCREDIT_GATEWAY_URL',
    parse: str,
    doc: 'external base URL of the gateway; default https://<first hostname>:<gateway port>',
  },
  {
    path: 'gateway.upstream',
    env: 'ACCREDIT_UPSTREAM_URL',
    parse: str,
    doc: 'the protected API behind the gateway; default: the embedded sample API',
  },
  {
    path: 'gateway.upstreamSecretFile',
    env: 'ACCREDIT_UPSTREAM_SECRET_FILE',
    parse: str,
    doc: 'file (mode 0600, relative to the data directory) whose content the gateway sends in x-accredit-gateway-secret so gateway.upstream can refuse other callers; the embedded sample API gets a fresh secret every start',
  },
  {
    path: 'gateway.upstreamCaFile',
    env: 'ACCREDIT_UPSTREAM_CA_FILE',
    parse: str,
    doc: 'PEM bundle an https gateway.upstream must chain to (default: the system store); relative to the data directory',
  },
  {
    path: 'gateway.upstreamClientCertFile',
    env: 'ACCREDIT_UPSTREAM_CLIENT_CERT_FILE',
    parse: str,
    doc: 'PEM client certificate (chain) the gateway presents to an https gateway.upstream (mTLS); with gateway.upstreamClientKeyFile',
  },
  {
    path: 'gateway.upstreamClientKeyFile',
    env: 'ACCREDIT_UPSTREAM_CLIENT_KEY_FILE',
    parse: str,
    doc: 'PEM private key of gateway.upstreamClientCertFile (mode 0600); relative to the data directory',
  },
  {
    path: 'gateway.audience',
    env: 'ACCREDIT_API_AUDIENCE',
    parse: str,
    doc: 'aud of access tokens for the API (RFC 9068 §3); default: the gateway URL',
  },
  {
    path: 'enforcementFeed.maxClients',
    env: 'ACCREDIT_ENFORCEMENT_FEED_MAX_CLIENTS',
    parse: int(1, 10_000),
    default: 64,
    doc: 'concurrent change-feed streams of standalone gateways; one more is refused with 503',
  },
  {
    path: 'ssf.allowPrivateAddresses',
    env: 'ACCREDIT_SSF_ALLOW_PRIVATE_ADDRESSES',
    parse: bool,
    default: false,
    doc: 'let Shared Signals push endpoints be loopback or private addresses (refused by default)',
  },
  {
    path: 'ssf.maxStreamsPerReceiver',
    env: 'ACCREDIT_SSF_MAX_STREAMS_PER_RECEIVER',
    parse: int(1, 100),
    default: 5,
    doc: 'Shared Signals streams one receiver may create; one more is refused with 409',
  },
  {
    path: 'ssf.pollMaxWaitSeconds',
    env: 'ACCREDIT_SSF_POLL_MAX_WAIT',
    parse: int(1, 110),
    default: 30,
    doc: 'longest a Shared Signals long poll (RFC 8936 returnImmediately false) is held open, in seconds',
  },
  {
    path: 'accessTokenTtlSeconds',
    env: 'ACCREDIT_ACCESS_TOKEN_TTL',
    parse: int(30, 3600),
    default: 300,
    doc: 'access token lifetime in seconds',
  },
  {
    path: 'pki.partnerCertDays',
    env: 'ACCREDIT_PARTNER_CERT_DAYS',
    parse: int(1, 825),
    default: 90,
    doc: 'validity of partner transport certificates',
  },
  {
    path: 'pki.crlValidityHours',
    env: 'ACCREDIT_CRL_VALIDITY_HOURS',
    parse: int(1, 24 * 31),
    default: 168,
    doc: 'CRL nextUpdate - thisUpdate',
  },
  {
    path: 'pki.rootCrlValidityDays',
    env: 'ACCREDIT_ROOT_CRL_VALIDITY_DAYS',
    parse: int(1, 400),
    default: 90,
    doc: 'validity of the root CRL; long enough to keep the root key offline between ceremonies',
  },
  {
    path: 'pki.keyAlgorithm',
    env: 'ACCREDIT_CA_KEY_ALG',
    parse: oneOf(['ES256', 'ES384']),
    default: 'ES256',
    doc: 'CA and platform key algorithm at init',
  },
  {
    path: 'renewal.windowPercent',
    env: 'ACCREDIT_RENEWAL_WINDOW_PERCENT',
    parse: int(1, 100),
    doc: 'a certificate may be renewed in the last N percent of its lifetime (default: the last third)',
  },
  {
    path: 'renewal.graceDays',
    env: 'ACCREDIT_RENEWAL_GRACE_DAYS',
    parse: int(0, 365),
    default: 7,
    doc: 'a renewed certificate is revoked as superseded this many days after the renewal at the latest (never past its notAfter)',
  },
  {
    path: 'renewal.drainSeconds',
    env: 'ACCREDIT_RENEWAL_DRAIN_SECONDS',
    parse: int(0, 86_400),
    default: 60,
    doc: 'a renewed certificate is revoked as superseded this long after its successor first obtained a token (requests in flight finish)',
  },
  {
    path: 'renewal.sweepSeconds',
    env: 'ACCREDIT_RENEWAL_SWEEP_SECONDS',
    parse: int(1, 3600),
    default: 30,
    doc: 'how often superseded certificates due for revocation are looked for',
  },
  {
    path: 'pki.publicHttpUrl',
    env: 'ACCREDIT_PKI_HTTP_URL',
    parse: str,
    doc: 'external http:// base of CRL distribution point and AIA (OCSP, caIssuers) URLs in issued certificates; default http://<first hostname>:<listeners.pkiHttp.port>',
  },
  {
    path: 'pki.ocspResponderDays',
    env: 'ACCREDIT_OCSP_RESPONDER_DAYS',
    parse: int(1, 90),
    default: 7,
    doc: 'lifetime of the delegated OCSP responder certificates (renewed automatically at half of it)',
  },
  {
    path: 'pki.ocspValidityMinutes',
    env: 'ACCREDIT_OCSP_VALIDITY_MINUTES',
    parse: int(1, 7 * 24 * 60),
    default: 60,
    doc: 'OCSP response validity (nextUpdate − thisUpdate)',
  },
  {
    path: 'trustedProxies',
    env: 'ACCREDIT_TRUSTED_PROXIES',
    parse: list,
    default: [],
    doc: 'addresses whose Client-Cert header (RFC 9440) is believed',
  },
  {
    path: 'proxies',
    env: 'ACCREDIT_PROXIES',
    parse: jsonList(proxyEntry),
    default: [],
    doc: 'TLS-terminating proxies: [{address (IP or CIDR), form (rfc9440|nginx|envoy-xfcc|aws-alb), header?, clientCertSha256?, clientCertCaFile? + clientCertSubject?}] (JSON)',
  },
  {
    path: 'logLevel',
    env: 'ACCREDIT_LOG_LEVEL',
    parse: oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    doc: 'log level',
  },
  {
    path: 'registration.softwareStatementMaxAgeSeconds',
    env: 'ACCREDIT_SSA_MAX_AGE',
    parse: int(10, 3600),
    default: 300,
    doc: 'oldest software statement (seconds since its iat) the registration endpoint accepts (RFC 7591 §2.3)',
  },
  {
    path: 'registration.allowInitialAccessTokens',
    env: 'ACCREDIT_REGISTRATION_ALLOW_IAT',
    parse: bool,
    default: false,
    doc: 'the registration endpoint accepts an operator-issued initial access token instead of a software statement (RFC 7591 §3)',
  },
  {
    path: 'fapi.profile',
    env: 'ACCREDIT_FAPI_PROFILE',
    parse: oneOf(['2.0', 'off']),
    default: '2.0',
    doc: "FAPI 2.0 Security Profile for every authorization code client (2.0) or none (off); a client's fapi_profile metadata overrides it",
  },
  {
    path: 'dpop.requireNonce',
    env: 'ACCREDIT_DPOP_REQUIRE_NONCE',
    parse: oneOf(['always', 'never']),
    default: 'always',
    doc: 'whether a DPoP proof at the token and PAR endpoints must carry a server-provided nonce (RFC 9449 §8): always (default) or never (iat freshness and the shared jti replay cache only)',
  },
  {
    path: 'replayCache.redisUrl',
    env: 'ACCREDIT_REDIS_URL',
    parse: str,
    doc: 'redis:// URL of the shared replay cache (DPoP proof jti, RFC 9449 §11.1); unset: the platform database',
  },
  {
    path: 'replayCache.redisCaFile',
    env: 'ACCREDIT_REDIS_CA_FILE',
    parse: str,
    doc: 'PEM bundle a rediss:// replayCache.redisUrl server certificate chains to (a private CA), for the replay cache and the rate-limit counters; relative to the data directory',
  },
  {
    path: 'rateLimit.onStoreError',
    env: 'ACCREDIT_RATE_LIMIT_ON_STORE_ERROR',
    parse: oneOf(['open', 'closed']),
    doc: 'when the rate-limit counters (database or Redis) cannot be reached: open (default: admit unchecked, logged, accredit_rate_limit_unchecked_total) or closed (503 rate_limit_unavailable)',
  },
  {
    path: 'login.upstream.issuer',
    env: 'ACCREDIT_LOGIN_UPSTREAM_ISSUER',
    parse: str,
    doc: 'issuer (https URL) of the OpenID Provider end users may sign in with instead of a built-in account',
  },
  {
    path: 'login.upstream.clientId',
    env: 'ACCREDIT_LOGIN_UPSTREAM_CLIENT_ID',
    parse: str,
    doc: 'the platform’s client_id at the upstream OpenID Provider',
  },
  {
    path: 'login.upstream.clientSecretFile',
    env: 'ACCREDIT_LOGIN_UPSTREAM_CLIENT_SECRET_FILE',
    parse: str,
    doc: 'file holding the platform’s client_secret at the upstream OpenID Provider (client_secret_basic)',
  },
  {
    path: 'login.upstream.scopes',
    env: 'ACCREDIT_LOGIN_UPSTREAM_SCOPES',
    parse: str,
    default: 'openid email profile',
    doc: 'scopes asked of the upstream OpenID Provider (openid is always included)',
  },
  {
    path: 'login.upstream.label',
    env: 'ACCREDIT_LOGIN_UPSTREAM_LABEL',
    parse: str,
    default: 'your organisation account',
    doc: 'the login page’s button text: "Sign in with <label>"',
  },
  {
    path: 'catalog.title',
    env: 'ACCREDIT_CATALOG_TITLE',
    parse: str,
    default: 'Partner API',
    doc: 'title of the published catalog (GET /catalog, its OpenAPI info.title)',
  },
  {
    path: 'catalog.accessRequest',
    env: 'ACCREDIT_CATALOG_ACCESS_REQUEST',
    parse: str,
    doc: 'how a partner asks for a role, shown on the published catalog: free text, an https: URL or a mailto: address',
  },
  {
    path: 'federation.entityId',
    env: 'ACCREDIT_FEDERATION_ENTITY_ID',
    parse: str,
    doc: 'OpenID Federation Entity Identifier of the platform; default: publicUrl',
  },
  {
    path: 'federation.authorityHints',
    env: 'ACCREDIT_FEDERATION_AUTHORITY_HINTS',
    parse: list,
    default: [],
    doc: 'Immediate Superiors (Entity Identifiers) when the platform is an Intermediate; empty: Trust Anchor',
  },
  {
    path: 'federation.statementLifetimeSeconds',
    env: 'ACCREDIT_FEDERATION_STATEMENT_LIFETIME',
    parse: int(60, 30 * 86400),
    default: 86400,
    doc: 'lifetime of the Entity Configuration and Subordinate Statements; also the overlap of a retired key',
  },
  {
    path: 'federation.trustMarkTypes',
    env: 'ACCREDIT_FEDERATION_TRUST_MARK_TYPES',
    parse: jsonList(trustMarkType),
    doc: 'Trust Mark types issued: [{type, roles}] (JSON) or type URLs, comma-separated; default: <entityId>/trust-marks/accredited-partner',
  },
  {
    path: 'federation.trustAnchors',
    env: 'ACCREDIT_FEDERATION_TRUST_ANCHORS',
    parse: jsonList(trustAnchor),
    doc: 'Trust Anchors trusted for resolution: [{entityId, jwksFile}] (JSON) or Entity Identifiers; default: the platform itself',
  },
  {
    path: 'federation.fetch.timeoutMs',
    env: 'ACCREDIT_FEDERATION_FETCH_TIMEOUT_MS',
    parse: int(100, 60_000),
    default: 5000,
    doc: 'timeout of one partner fetch (Entity Configuration, Subordinate Statement, a client jwks_uri)',
  },
  {
    path: 'federation.fetch.maxBytes',
    env: 'ACCREDIT_FEDERATION_FETCH_MAX_BYTES',
    parse: int(1024, 10 * 1024 * 1024),
    default: 262144,
    doc: 'largest response read from a partner (federation statement, a client jwks_uri)',
  },
  {
    path: 'federation.fetch.maxRedirects',
    env: 'ACCREDIT_FEDERATION_FETCH_MAX_REDIRECTS',
    parse: int(0, 10),
    default: 2,
    doc: 'redirects followed by a partner fetch, each hop checked like the first',
  },
  {
    path: 'federation.fetch.allowLoopback',
    env: 'ACCREDIT_FEDERATION_ALLOW_LOOPBACK',
    parse: bool,
    default: false,
    doc: 'development only: fetch from loopback addresses (federation, client jwks_uri) and accept http:// Entity Identifiers on loopback hosts',
  },
  {
    path: 'federation.fetch.allowPrivateNetworks',
    env: 'ACCREDIT_FEDERATION_ALLOW_PRIVATE_NETWORKS',
    parse: bool,
    default: false,
    doc: 'fetch from private (RFC 1918, CGNAT, ULA, link-local) addresses, for federation and client jwks_uri alike',
  },
  {
    path: 'federation.fetch.caFile',
    env: 'ACCREDIT_FEDERATION_FETCH_CA_FILE',
    parse: str,
    doc: 'PEM file of extra CAs trusted when fetching from partners (besides the system roots and the platform CA)',
  },
  {
    path: 'webhooks.allowPrivateAddresses',
    env: 'ACCREDIT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES',
    parse: bool,
    default: false,
    doc: 'tests and closed networks only: let webhooks go to loopback, private (RFC 1918, CGNAT, ULA) and link-local addresses',
  },
  {
    path: 'webhooks.caFile',
    env: 'ACCREDIT_WEBHOOKS_CA_FILE',
    parse: str,
    doc: 'PEM file of extra CAs trusted for webhook receivers (besides the system roots and the platform CA); relative to the data directory',
  },
  {
    path: 'webhooks.timeoutMs',
    env: 'ACCREDIT_WEBHOOKS_TIMEOUT_MS',
    parse: int(1000, 60_000),
    default: 10_000,
    doc: 'time one webhook attempt may take (connect, send, answer)',
  },
  {
    path: 'webhooks.retrySchedule',
    env: 'ACCREDIT_WEBHOOKS_RETRY_SCHEDULE',
    parse: jsonList(int(1, 86_400)),
    default: [10, 60, 300, 1800, 7200, 18_000, 36_000],
    doc: 'seconds to wait after each failed webhook attempt (±20 % jitter); its length + 1 is the number of attempts',
  },
  {
    path: 'webhooks.maxAgeHours',
    env: 'ACCREDIT_WEBHOOKS_MAX_AGE_HOURS',
    parse: int(1, 168),
    default: 24,
    doc: 'a webhook delivery not delivered within this many hours is dead (dead-letter view, redeliver)',
  },
  {
    path: 'webhooks.pollIntervalMs',
    env: 'ACCREDIT_WEBHOOKS_POLL_INTERVAL_MS',
    parse: int(100, 60_000),
    default: 1000,
    doc: "how often due webhook retries (and other nodes' events) are looked for",
  },
  {
    path: 'webhooks.retentionDays',
    env: 'ACCREDIT_WEBHOOKS_RETENTION_DAYS',
    parse: int(1, 3650),
    default: 30,
    doc: 'settled webhook deliveries (delivered, dead, cancelled) and their attempts are kept this many days',
  },
  {
    path: 'expiry.thresholdDays',
    env: 'ACCREDIT_EXPIRY_THRESHOLD_DAYS',
    parse: jsonList(int(1, 3650)),
    default: [30, 14, 7, 1],
    doc: 'days before a certificate expires (or a key is due) at which one event is raised, for each threshold',
  },
  {
    path: 'expiry.intervalMinutes',
    env: 'ACCREDIT_EXPIRY_INTERVAL_MINUTES',
    parse: int(1, 1440),
    default: 60,
    doc: 'how often the expiry monitor runs (and once at start)',
  },
  {
    path: 'keys.maxAgeDays',
    env: 'ACCREDIT_KEYS_MAX_AGE_DAYS',
    parse: int(0, 3650),
    default: 365,
    doc: 'maximum age of federation, software-statement and access-token signing keys; 0: keys are never due',
  },
  {
    path: 'notifications.smtp.host',
    env: 'ACCREDIT_SMTP_HOST',
    parse: str,
    doc: 'SMTP server for notification mail; unset: no mail is sent',
  },
  {
    path: 'notifications.smtp.port',
    env: 'ACCREDIT_SMTP_PORT',
    parse: int(1, 65535),
    default: 587,
    doc: 'SMTP port (587 submission with STARTTLS, 465 implicit TLS)',
  },
  {
    path: 'notifications.smtp.security',
    env: 'ACCREDIT_SMTP_SECURITY',
    parse: oneOf(['tls', 'starttls', 'none']),
    default: 'starttls',
    doc: 'tls (implicit), starttls (required, never downgraded) or none (loopback hosts only, no credentials)',
  },
  {
    path: 'notifications.smtp.user',
    env: 'ACCREDIT_SMTP_USER',
    parse: str,
    doc: 'SMTP AUTH user name',
  },
  {
    path: 'notifications.smtp.passwordFile',
    env: 'ACCREDIT_SMTP_PASSWORD_FILE',
    parse: str,
    doc: 'file (relative to the data directory) holding the SMTP password; or ACCREDIT_SMTP_PASSWORD',
  },
  {
    path: 'notifications.smtp.from',
    env: 'ACCREDIT_SMTP_FROM',
    parse: str,
    doc: 'sender address of notification mail (required with notifications.smtp.host)',
  },
  {
    path: 'notifications.smtp.caFile',
    env: 'ACCREDIT_SMTP_CA_FILE',
    parse: str,
    doc: 'PEM file of CAs the SMTP server certificate chains to, besides the system roots',
  },
  {
    path: 'notifications.operators',
    env: 'ACCREDIT_NOTIFICATIONS_OPERATORS',
    parse: list,
    default: [],
    doc: "operators' addresses: CA certificate and key notices, and those of organisations without a security contact",
  },
] as const;

export const CONFIG_FILE = 'accredit.json';

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const part of parts.slice(0, -1)) {
    cur[part] ??= {};
    cur = cur[part] as Record<string, unknown>;
  }
  cur[parts.at(-1)!] = value;
}

/** Layers defaults → DIR/accredit.json → environment; a bad value stops start-up with the key's name. */
export function loadConfig(dataDir: string, env: NodeJS.ProcessEnv = process.env): PlatformConfig {
  const file = join(dataDir, CONFIG_FILE);
  let fromFile: unknown = {};
  if (existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`);
    }
    // Anything but an object would silently mean "all defaults".
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) {
      throw new ConfigError(`${file}: expected a JSON object`);
    }
  }
  const out: Record<string, unknown> = {};
  // Where each value came from, so that checks across keys name the env variable or file key that was set.
  const sources: Record<string, string> = {};
  for (const key of CONFIG_KEYS) {
    const envValue = env[key.env];
    const raw = envValue !== undefined && envValue !== '' ? envValue : getPath(fromFile, key.path);
    const source = envValue ? key.env : `${CONFIG_FILE}: ${key.path}`;
    if (raw !== undefined) {
      setPath(out, key.path, key.parse(raw, source));
      sources[key.path] = source;
    } else if ('default' in key) setPath(out, key.path, key.default);
  }
  const c = out as unknown as PlatformConfig;
  c.dataDir = dataDir;
  c.database = { url: c.database?.url ?? join(dataDir, 'accredit.db'), schema: c.database?.schema };
  const hostname = c.hostnames[0];
  if (!hostname) {
    throw new ConfigError(`${sources.hostnames ?? 'hostnames'}: at least one DNS name is needed`);
  }
  const urlSource = sources.publicUrl ?? 'publicUrl (derived from hostnames and listeners.public.port)';
  c.publicUrl ??= `https://${hostname}:${c.listeners.public.port}`;
  if (!URL.canParse(c.publicUrl) || new URL(c.publicUrl).protocol !== 'https:') {
    throw new ConfigError(`${urlSource}: "${c.publicUrl}" is not an https URL`);
  }
  c.publicUrl = c.publicUrl.replace(/\/+$/, '');
  c.mtlsUrl = httpsUrl(
    c.mtlsUrl ?? `https://${hostname}:${c.listeners.mtls.port}`,
    sources.mtlsUrl ?? 'mtlsUrl (derived from hostnames and listeners.mtls.port)',
  );
  c.gatewayUrl = httpsUrl(
    c.gatewayUrl ?? `https://${hostname}:${c.listeners.gateway.port}`,
    sources.gatewayUrl ?? 'gatewayUrl (derived from hostnames and listeners.gateway.port)',
  );
  c.pki.publicHttpUrl = pkiHttpUrl(c, hostname, sources);
  const inDataDir = (path: string | undefined) =>
    path === undefined || isAbsolute(path) ? path : join(dataDir, path);
  c.gateway = {
    upstream: c.gateway?.upstream,
    upstreamSecretFile: inDataDir(c.gateway?.upstreamSecretFile),
    upstreamCaFile: inDataDir(c.gateway?.upstreamCaFile),
    upstreamClientCertFile: inDataDir(c.gateway?.upstreamClientCertFile),
    upstreamClientKeyFile: inDataDir(c.gateway?.upstreamClientKeyFile),
    audience: c.gateway?.audience ?? c.gatewayUrl,
  };
  checkUpstream(c.gateway, sources);
  if (c.replayCache?.redisCaFile !== undefined) {
    const source = sources['replayCache.redisCaFile'] ?? 'replayCache.redisCaFile';
    const file = inDataDir(c.replayCache.redisCaFile) as string;
    if (!c.replayCache.redisUrl?.startsWith('rediss://')) {
      throw new ConfigError(`${source}: needs a rediss:// (TLS) replayCache.redisUrl`);
    }
    if (!existsSync(file)) throw new ConfigError(`${source}: ${file} does not exist`);
    c.replayCache = { ...c.replayCache, redisCaFile: file };
  }
  c.decision = {
    callers: c.decision.callers,
    callerCaFile: inDataDir(c.decision.callerCaFile),
    secretFile: inDataDir(c.decision.secretFile),
    certificateHeader: c.decision.certificateHeader,
    ...(c.decision.edgeUrl !== undefined ? { edgeUrl: c.decision.edgeUrl } : {}),
  };
  c.catalog = { title: c.catalog.title, accessRequest: c.catalog.accessRequest };
  c.login = loginConfig(c, sources);
  c.listeners.limits = resolveListenerLimits(c.listeners.limits, (key, message) => {
    const path = `listeners.limits.${key}`;
    throw new ConfigError(`${sources[path] ?? path}: ${message}`);
  });
  c.federation = federationConfig(c, sources);
  c.webhooks = webhooksConfig(c, sources);
  for (const address of c.trustedProxies) {
    // Checked here, where the key can be named, rather than when the authorization server compiles them.
    const problem = proxyEntryProblem({ address, form: 'rfc9440' });
    if (problem) throw new ConfigError(`${sources.trustedProxies}: "${address}": ${problem}`);
  }
  c.proxies = c.proxies.map((proxy) => proxyCaFile(proxy, dataDir, sources.proxies ?? 'proxies'));
  c.notifications = notificationsConfig(c.notifications, dataDir, sources);
  c.metrics = metricsConfig(c, sources);
  return c;
}

/** Issue 16: the metrics listener is operator-only: off loopback, scrapers must present the token file's token. */
function metricsConfig(c: PlatformConfig, sources: Record<string, string>): PlatformConfig['metrics'] {
  const given = (c.metrics as Partial<PlatformConfig['metrics']> | undefined)?.tokenFile;
  const tokenFile = given === undefined || isAbsolute(given) ? given : join(c.dataDir, given);
  if (tokenFile !== undefined && !existsSync(tokenFile)) {
    throw new ConfigError(`${sources['metrics.tokenFile']}: ${tokenFile} does not exist`);
  }
  const { host, enabled } = c.listeners.metrics;
  if (enabled && tokenFile === undefined && !isLoopbackHost(host)) {
    throw new ConfigError(
      `${sources['listeners.metrics.host']}: the metrics listener on ${host} (not loopback) needs metrics.tokenFile`,
    );
  }
  return { tokenFile };
}

export interface UpstreamLoginConfig {
  issuer: string;
  clientId: string;
  clientSecretFile: string;
  scopes: string;
  label: string;
}

/** login.upstream is all or nothing: issuer (https), clientId and an existing clientSecretFile together. */
function loginConfig(c: PlatformConfig, sources: Record<string, string>): PlatformConfig['login'] {
  const u = (c.login as unknown as { upstream?: Partial<UpstreamLoginConfig> } | undefined)?.upstream;
  if (u?.issuer === undefined && u?.clientId === undefined && u?.clientSecretFile === undefined) {
    return { upstream: undefined };
  }
  for (const key of ['issuer', 'clientId', 'clientSecretFile'] as const) {
    if (u[key] === undefined) {
      const given = ['issuer', 'clientId', 'clientSecretFile'].find((k) => u[k as keyof UpstreamLoginConfig]);
      throw new ConfigError(`${sources[`login.upstream.${given}`]}: login.upstream.${key} is needed too`);
    }
  }
  const issuer = u.issuer as string;
  if (!URL.canParse(issuer) || new URL(issuer).protocol !== 'https:') {
    throw new ConfigError(`${sources['login.upstream.issuer']}: expected an https URL`);
  }
  const file = isAbsolute(u.clientSecretFile as string)
    ? (u.clientSecretFile as string)
    : join(c.dataDir, u.clientSecretFile as string);
  if (!existsSync(file))
    throw new ConfigError(`${sources['login.upstream.clientSecretFile']}: ${file} does not exist`);
  return {
    upstream: {
      issuer,
      clientId: u.clientId as string,
      clientSecretFile: file,
      scopes: u.scopes ?? 'openid email profile',
      label: u.label ?? 'your organisation account',
    },
  };
}

function webhooksConfig(c: PlatformConfig, sources: Record<string, string>): WebhooksConfig {
  const w = { ...c.webhooks };
  if (w.retrySchedule.length === 0 || w.retrySchedule.length > 20) {
    throw new ConfigError(`${sources['webhooks.retrySchedule']}: expected 1 to 20 delays`);
  }
  if (w.caFile !== undefined) {
    w.caFile = isAbsolute(w.caFile) ? w.caFile : join(c.dataDir, w.caFile);
    if (!existsSync(w.caFile))
      throw new ConfigError(`${sources['webhooks.caFile']}: ${w.caFile} does not exist`);
  }
  return w;
}

/** A proxy's clientCertCaFile, relative to the data directory, must exist at start. */
function proxyCaFile(proxy: ProxyEntry, dataDir: string, source: string): ProxyEntry {
  if (proxy.clientCertCaFile === undefined) return proxy;
  const file = isAbsolute(proxy.clientCertCaFile)
    ? proxy.clientCertCaFile
    : join(dataDir, proxy.clientCertCaFile);
  if (!existsSync(file)) throw new ConfigError(`${source}: clientCertCaFile ${file} does not exist`);
  return { ...proxy, clientCertCaFile: file };
}

/** The upstream is http(s); how the gateway authenticates to it only makes sense for a configured one. */
function checkUpstream(g: PlatformConfig['gateway'], sources: Record<string, string>): void {
  if (g.upstream !== undefined && !/^https?:\/\//.test(g.upstream)) {
    throw new ConfigError(`${sources['gateway.upstream']}: "${g.upstream}" is not an http(s) URL`);
  }
  if (g.upstreamSecretFile !== undefined && g.upstream === undefined) {
    throw new ConfigError(
      `${sources['gateway.upstreamSecretFile']}: only for gateway.upstream; the embedded sample API gets a fresh secret every start`,
    );
  }
  for (const key of ['upstreamCaFile', 'upstreamClientCertFile', 'upstreamClientKeyFile'] as const) {
    if (g[key] !== undefined && !g.upstream?.startsWith('https://')) {
      throw new ConfigError(`${sources[`gateway.${key}`]}: only for an https:// gateway.upstream`);
    }
  }
  if ((g.upstreamClientCertFile === undefined) !== (g.upstreamClientKeyFile === undefined)) {
    const set = sources['gateway.upstreamClientCertFile'] ?? sources['gateway.upstreamClientKeyFile'];
    throw new ConfigError(
      `${set}: gateway.upstreamClientCertFile and gateway.upstreamClientKeyFile go together`,
    );
  }
}

/** Derived federation defaults and the checks across keys: every Entity Identifier must be one (§1.2). */
function federationConfig(c: PlatformConfig, sources: Record<string, string>): FederationConfig {
  const f = c.federation;
  const allowLoopback = f.fetch.allowLoopback;
  const entityId = f.entityId ?? c.publicUrl;
  checkEntityId(
    entityId,
    sources['federation.entityId'] ?? 'federation.entityId (default: publicUrl)',
    allowLoopback,
  );
  for (const hint of f.authorityHints) {
    checkEntityId(hint, sources['federation.authorityHints'] ?? 'federation.authorityHints', allowLoopback);
    if (hint === entityId) {
      throw new ConfigError(
        `${sources['federation.authorityHints']}: the platform cannot be its own superior`,
      );
    }
  }
  if (f.fetch.caFile !== undefined) {
    f.fetch.caFile = isAbsolute(f.fetch.caFile) ? f.fetch.caFile : join(c.dataDir, f.fetch.caFile);
    if (!existsSync(f.fetch.caFile)) {
      throw new ConfigError(`${sources['federation.fetch.caFile']}: ${f.fetch.caFile} does not exist`);
    }
  }
  const trustAnchors = f.trustAnchors ?? [{ entityId }];
  for (const anchor of trustAnchors) {
    const source = sources['federation.trustAnchors'] ?? 'federation.trustAnchors';
    checkEntityId(anchor.entityId, source, allowLoopback);
    if (anchor.jwksFile !== undefined) {
      anchor.jwksFile = isAbsolute(anchor.jwksFile) ? anchor.jwksFile : join(c.dataDir, anchor.jwksFile);
      if (!existsSync(anchor.jwksFile))
        throw new ConfigError(`${source}: jwksFile ${anchor.jwksFile} does not exist`);
    }
  }
  const trustMarkTypes = f.trustMarkTypes ?? [
    { type: `${entityId.replace(/\/+$/, '')}/trust-marks/accredited-partner`, roles: [] },
  ];
  return { ...f, entityId, trustMarkTypes, trustAnchors };
}

function checkEntityId(value: string, source: string, allowHttpLoopback: boolean): void {
  try {
    validateEntityId(value, 'value', { allowHttpLoopback });
  } catch {
    throw new ConfigError(
      `${source}: "${value}" is not an Entity Identifier (https URL, no query or fragment)`,
    );
  }
}

/** RFC 5280 §8 and RFC 6960 A.1: relying parties fetch CRLs and OCSP over plain http, without a TLS dependency. */
function pkiHttpUrl(c: PlatformConfig, hostname: string, sources: Record<string, string>): string {
  const configured = c.pki.publicHttpUrl as string | undefined;
  if (configured === undefined) {
    return c.listeners.pkiHttp.enabled ? `http://${hostname}:${c.listeners.pkiHttp.port}` : c.publicUrl;
  }
  const url = URL.canParse(configured) ? new URL(configured) : undefined;
  if (url?.protocol !== 'http:' || url.search || url.hash) {
    throw new ConfigError(`${sources['pki.publicHttpUrl']}: "${configured}" is not an http URL`);
  }
  return configured.replace(/\/+$/, '');
}

function httpsUrl(value: string, source: string): string {
  if (!URL.canParse(value) || new URL(value).protocol !== 'https:') {
    throw new ConfigError(`${source}: "${value}" is not an https URL`);
  }
  return value.replace(/\/+$/, '');
}

const EMAIL = /^[^\s@<>()",;:\\]+@[^\s@<>()",;:\\]+$/;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Mail settings that only make sense together: a sender, no credentials in clear, files that exist. */
function notificationsConfig(
  n: NotificationsConfig,
  dataDir: string,
  sources: Record<string, string>,
): NotificationsConfig {
  const smtp: NotificationsConfig['smtp'] = {
    host: n.smtp.host,
    port: n.smtp.port,
    security: n.smtp.security,
    user: n.smtp.user,
    passwordFile: n.smtp.passwordFile,
    from: n.smtp.from,
    caFile: n.smtp.caFile,
  };
  const name = (key: string) => sources[`notifications.smtp.${key}`] ?? `notifications.smtp.${key}`;
  for (const key of ['from'] as const) {
    if (smtp[key] !== undefined && !EMAIL.test(smtp[key])) {
      throw new ConfigError(`${name(key)}: "${smtp[key]}" is not an e-mail address`);
    }
  }
  for (const [i, address] of n.operators.entries()) {
    if (!EMAIL.test(address)) {
      throw new ConfigError(
        `${sources['notifications.operators'] ?? 'notifications.operators'}[${i}]: "${address}" is not an e-mail address`,
      );
    }
  }
  for (const key of ['passwordFile', 'caFile'] as const) {
    const file = smtp[key];
    if (file === undefined) continue;
    smtp[key] = isAbsolute(file) ? file : join(dataDir, file);
    if (!existsSync(smtp[key])) throw new ConfigError(`${name(key)}: ${smtp[key]} does not exist`);
  }
  if (smtp.host !== undefined) {
    if (smtp.from === undefined) throw new ConfigError(`${name('host')}: needs notifications.smtp.from`);
    // RFC 8314 §3: no cleartext submission; a plain connection is for a relay on this machine.
    if (smtp.security === 'none' && !LOOPBACK_HOSTS.has(smtp.host)) {
      throw new ConfigError(`${name('security')}: none is only allowed for a loopback SMTP host`);
    }
    if (smtp.security === 'none' && smtp.user !== undefined) {
      throw new ConfigError(`${name('user')}: credentials are never sent without TLS (security none)`);
    }
  }
  return { smtp, operators: [...n.operators] };
}

/** What `init` writes: the non-default, non-secret settings, so the file documents this deployment. */
export function initialConfigFile(config: PlatformConfig): Record<string, unknown> {
  return {
    hostnames: config.hostnames,
    // The limits stay out of the file: a deployment that never set them follows the defaults of each release.
    listeners: {
      public: config.listeners.public,
      mtls: config.listeners.mtls,
      gateway: config.listeners.gateway,
    },
    pki: {
      partnerCertDays: config.pki.partnerCertDays,
      crlValidityHours: config.pki.crlValidityHours,
      keyAlgorithm: config.pki.keyAlgorithm,
    },
  };
}
