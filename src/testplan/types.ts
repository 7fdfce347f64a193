/** One request line of the plan: a method and an origin-form path, e.g. `POST /v1/payments`. */
export interface Operation {
  method: string;
  path: string;
}

/** Everything the plan needs, already read from files: it runs as a partner would, over the network only. */
export interface TestPlanOptions {
  /** The mTLS token endpoint (RFC 8705 §5 alias); or found by discovery from `issuer`. */
  tokenEndpoint: string | undefined;
  issuer: string | undefined;
  /** RFC 7009 endpoint; from discovery when not given. */
  revocationEndpoint: string | undefined;
  /** The door's base URL: the gateway, a proxy in front of it, an API Gateway stage. */
  api: string;
  clientId: string;
  certPem: string;
  keyPem: string;
  /** PEM certificates trusted for the servers; undefined means the system roots. */
  ca: string | undefined;
  allowed: Operation;
  forbidden: Operation;
  /** A path template with `{id}` (or one `{…}` parameter) and an object id of another organisation. */
  owned: Operation | undefined;
  foreignId: string | undefined;
  healthPath: string;
  untrusted: { certPem: string; keyPem: string; generated: boolean } | undefined;
  admin: { url: string; token: string } | undefined;
  destructive: boolean;
  /** How long a revocation may take to reach the door (ms). */
  revocationBoundMs: number;
  scope: string | undefined;
}

export type CaseStatus = 'pass' | 'fail' | 'skip';

/** One line of the report. */
export interface CaseResult {
  id: string;
  title: string;
  status: CaseStatus;
  expected: string;
  got: string;
  ms: number;
  /** For revocation cases: from the revoking call's answer to the first refused request. */
  delayMs?: number;
}

/** Called as each case starts and ends, for progress output. */
export interface Progress {
  started(id: string, title: string): void;
  finished(result: CaseResult): void;
}
