import type { ColumnType, Generated } from 'kysely';

// Timestamps are ISO-8601 UTC strings and JSON is stored as text so that both engines hold the same values.
export interface OrganisationTable {
  id: string;
  name: string;
  name_key: string;
  /** UTS #39 skeleton of the name (UNIQUE); NULL only for a pre-0008 organisation that looked like an earlier one. */
  name_skeleton: string | null;
  status: 'active' | 'suspended' | 'offboarded';
  created_at: string;
  updated_at: string;
  /** The go-live gate passed (issue 15): production credentials may be issued to the organisation's members. */
  live_at?: string | null;
  /** The sandbox test-plan run that passed the gate. */
  live_run_id?: string | null;
  /** Bulk import (issue 16): the partner's id in the system it was imported from; a re-run skips it. */
  external_ref?: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface OrganisationRoleTable {
  org_id: string;
  role: string;
}

export interface ContactTable {
  id: string;
  org_id: string;
  kind: 'business' | 'technical' | 'security' | 'billing';
  name: string;
  email: string;
  phone: string | null;
  created_at: string;
}

/** `deprecated`: still enforced and still granted where held; no new use (issue 11). */
export type CatalogStatus = 'active' | 'deprecated';

export interface RoleTable {
  name: string;
  description: string;
  status: Generated<CatalogStatus>;
}

export interface ScopeTable {
  name: string;
  description: string;
  status: Generated<CatalogStatus>;
  /** The version the provider's convention gives it (`v1` of `accounts:read:v1`), shown to partners. */
  version: string | null;
}

export interface RoleScopeTable {
  role: string;
  scope: string;
}

export interface CatalogResourceTable {
  name: string;
  description: string;
  status: Generated<CatalogStatus>;
}

/** One operation of the provider's API (method + path pattern), its policy and where it came from. */
export interface CatalogOperationTable {
  id: string;
  method: string;
  path_pattern: string;
  resource: string | null;
  /** OpenAPI `operationId`, the key a re-import matches on. */
  operation_id: string | null;
  /** What put it there: `seed`, `manual` or `openapi:<name>`; a re-import replaces only its own source. */
  source: string | null;
  description: string;
  auth: Generated<'token' | 'public'>;
  mtls: Generated<'required' | 'optional'>;
  dpop: Generated<'refused' | 'accepted' | 'required'>;
  /** A `{param}` of the pattern that must equal the caller's organisation id (ownership guard). */
  owner_param: string | null;
  status: Generated<CatalogStatus>;
  /** JSON { client?, organisation? }: the operation's own rate limit; null: the catalog-wide default. */
  rate_limit: Generated<string | null>;
}

/** The scopes of an operation: any one alternative grants it; every scope of the alternative is needed. */
export interface CatalogOperationScopeTable {
  operation_id: string;
  alternative: number;
  scope: string;
}

/** A whole catalog document staged for review before it becomes the active catalog. */
export interface CatalogDraftTable {
  name: string;
  document: string;
  /** The active revision the draft was taken from: promoting over a newer one is refused. */
  base_revision: number;
  created_by: string;
  created_at: string;
  updated_at: string;
}

/** Every catalog that became active, whole, with the change that made it. */
export interface CatalogRevisionTable {
  revision: number;
  document: string;
  source: string;
  actor: string;
  summary: string;
  applied_at: string;
}

export interface ApplicationTable {
  client_id: string;
  org_id: string;
  name: string;
  name_key: string;
  status: 'active' | 'suspended' | 'deleted';
  auth_method: 'tls_client_auth' | 'self_signed_tls_client_auth' | 'private_key_jwt' | 'none';
  registration_type: 'manual' | 'dynamic' | 'federation';
  metadata: string;
  created_at: string;
  updated_at: string;
  /** sandbox | production (default production: operators' and registrations' clients). */
  environment?: 'sandbox' | 'production';
  /** Bulk import (issue 16): the application's id in the system it was imported from, unique per organisation. */
  external_ref?: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface ApplicationRoleTable {
  client_id: string;
  role: string;
  /** The grant ends here (ISO-8601): tokens issued from then on no longer carry the role's scopes. */
  expires_at?: string | null;
}

export interface CertificateAuthorityTable {
  id: string;
  kind: 'root' | 'issuing';
  subject: string;
  serial: string;
  cert_pem: string;
  key_pem: string | null;
  not_before: string;
  not_after: string;
  created_at: string;
  /** Issuing CAs: active (issues), retiring (trusted, not issuing), retired or revoked; the root: active. */
  status: Generated<CaStatus>;
  generation: Generated<number>;
  /** The CRL distribution point of the certificates it issues; null: the original issuing CA's URL. */
  crl_url: string | null;
  status_changed_at: string | null;
  revocation_reason: string | null;
}

export type CaStatus = 'active' | 'retiring' | 'retired' | 'revoked';

export interface CertificateTable {
  serial: string;
  client_id: string;
  org_id: string;
  issuer_ca_id: string;
  subject: string;
  issuer: string;
  x5t_s256: string;
  key_description: string;
  cert_pem: string;
  not_before: string;
  not_after: string;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  revocation_reason: string | null;
  created_at: string;
  /** The certificate this one renews (its predecessor), if issued by renewal. */
  renews_serial: ColumnType<string | null, string | null | undefined, string | null>;
  /** Renewals since an operator last reviewed the chain (0: issued by an operator). */
  renewal_count: ColumnType<number, number | undefined, number>;
  /** The first successful token request with this certificate. */
  first_used_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** The certificate that renews this one. */
  superseded_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** When housekeeping revokes this (renewed) certificate with reason superseded. */
  supersede_at: ColumnType<string | null, string | null | undefined, string | null>;
  /** An operator allowed one more renewal past the rotation policy's review limit. */
  renewal_approved_at: ColumnType<string | null, string | null | undefined, string | null>;
  renewal_approved_by: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A rotation policy of one organisation or application; null fields inherit (application → organisation → platform). */
export interface RotationPolicyTable {
  scope: 'organisation' | 'application';
  subject_id: string;
  lifetime_days: number | null;
  /** JSON array of algorithm names (ES256, ES384, RSA-2048, RSA-3072, RSA-4096, Ed25519). */
  key_algorithms: string | null;
  renewals_before_review: number | null;
  updated_at: string;
  updated_by: string;
}

export interface CrlTable {
  ca_id: string;
  crl_number: number;
  this_update: string;
  next_update: string;
  der_base64: string;
  created_at: string;
}

/** A delegated OCSP responder certificate (RFC 6960 §4.2.2.2) and its KEK-encrypted key. */
export interface OcspResponderTable {
  id: string;
  ca_id: string;
  serial: string;
  cert_pem: string;
  key_pem: string;
  not_before: string;
  not_after: string;
  created_at: string;
}

export interface SigningKeyTable {
  kid: string;
  purpose: 'access_token' | 'federation' | 'software_statement' | 'events';
  alg: string;
  public_jwk: string;
  private_key_pem: string;
  /** `retired`: no longer signs, still published until retired_at + statement lifetime; `revoked`: never trusted again. */
  status: 'active' | 'retired' | 'revoked';
  created_at: string;
  // Optional so that keys created before rotation existed (and code that predates it) insert without them.
  retired_at?: string | null;
  revoked_at?: string | null;
  revocation_reason?: string | null;
}

export interface OperatorTokenTable {
  id: string;
  name: string;
  token_hash: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

export interface EnforcementCredentialTable {
  id: string;
  name: string;
  token_hash: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

/** Issue 16: one-use tokens with which another platform node joins (`accredit join`); only the hash is stored. */
export interface NodeJoinTokenTable {
  id: string;
  token_hash: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  used_by: string | null;
  revoked_at: string | null;
}

/** Issue 16: failed sign-ins per client address, shared by every node (ISO times). */
export interface LoginAddressThrottleTable {
  address: string;
  failures: number;
  locked_until: string;
  last_seen: string;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface ChangeFeedTable {
  seq: Generated<number>;
  at: string;
  kind: string;
  entity_id: string;
  payload: string;
}

export interface OidcModelTable {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: string | null;
  consumed_at: string | null;
}

export interface FederationSubordinateTable {
  entity_id: string;
  org_id: string;
  /** 0 or 1: SQLite has no boolean type. */
  is_intermediate: number;
  /** JSON array of Entity Type Identifiers. */
  entity_types: string;
  /** JSON JWK Set: the subordinate's Federation Entity Keys as registered. */
  jwks: string;
  metadata: string | null;
  metadata_policy: string | null;
  constraints: string | null;
  metadata_policy_crit: string | null;
  status: 'active' | 'removed';
  created_at: string;
  updated_at: string;
  removed_at: string | null;
}

export interface FederationTrustMarkTable {
  id: string;
  trust_mark_type: string;
  sub: string;
  /** Seconds since the epoch, as in the Trust Mark's iat/exp claims. */
  iat: number;
  exp: number | null;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  created_at: string;
}

export interface FederationRegistrationTable {
  /** The client's Entity Identifier, which is also its client_id (§12). */
  client_id: string;
  org_id: string;
  kind: 'explicit' | 'automatic';
  trust_anchor: string;
  /** The Immediate Superior of the client in the chain the registration rests on. */
  authority_hint: string;
  /** The platform's own Immediate Subordinate the chain passes through (the client itself when it is one). */
  via_subordinate: string;
  /** JSON array of the verified Trust Mark types the client's roles were derived from. */
  trust_mark_types: string;
  /** The registration ends here unless the chain is resolved again (§12.3): the earliest exp of the chain. */
  expires_at: string;
  resolved_at: string;
  status: 'active' | 'ended';
  ended_reason: string | null;
  created_at: string;
  updated_at: string;
}

/** A Software Statement Assertion the directory issued (RFC 7591 §2.3); each is accepted once, by jti. */
export interface SoftwareStatementTable {
  jti: string;
  /** The directory application the statement describes (the "software"). */
  software_id: string;
  org_id: string;
  issued_at: string;
  expires_at: string;
  status: 'issued' | 'used' | 'revoked';
  used_at: string | null;
  used_by_client_id: string | null;
  created_at: string;
}

/**
 * An initial access token (RFC 7591 §3) an operator issued: it lets the organisation register clients without a
 * software statement, each with at most `roles`, until it expires, runs out of uses or is revoked.
 */
export interface InitialAccessTokenTable {
  id: string;
  /** SHA-256 of the token (base64url); the token itself is shown once and never stored. */
  token_hash: string;
  org_id: string;
  /** JSON array of role names: the most a client registered with the token may hold. */
  roles: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  max_uses: number;
  used_count: number;
  revoked_at: string | null;
}

/**
 * A client registered dynamically (RFC 7591) and managed with its registration access token (RFC 7592). It rests
 * on a software statement (software_id and ssa_jti), an initial access token (iat_id), or both.
 */
export interface DynamicRegistrationTable {
  client_id: string;
  org_id: string;
  software_id: string | null;
  ssa_jti: string | null;
  iat_id: string | null;
  /** SHA-256 of the current registration access token; rotated on every update. */
  registration_token_hash: string;
  token_rotated_at: string;
  status: 'active' | 'deleted';
  created_at: string;
  updated_at: string;
}

/** A self-signed client certificate (RFC 8705 §2.2) and the one live client it is registered to. */
export interface SelfSignedPinTable {
  x5t_s256: string;
  client_id: string;
  created_at: string;
}

/** A built-in end-user account (issue 14). */
export interface AccountTable {
  id: string;
  username: string;
  name: string | null;
  email: string | null;
  password_hash: string | null;
  totp_secret_enc: string | null;
  totp_last_step: number | null;
  upstream_iss: string | null;
  upstream_sub: string | null;
  status: 'active' | 'disabled';
  failed_logins: number;
  locked_until: string | null;
  created_at: string;
  updated_at: string;
}

/** A remembered consent: the oidc-provider Grant of one account for one client. */
export interface AccountGrantTable {
  grant_id: string;
  account_id: string;
  client_id: string;
  scope: string;
  created_at: string;
  expires_at: string;
}

/** An account allowed into the operator console. */
export interface OperatorAccountTable {
  account_id: string;
  role: 'administrator' | 'auditor';
  created_at: string;
  created_by: string;
}

/** A member of a partner organisation (the partner portal). */
export interface OrganisationMemberTable {
  org_id: string;
  account_id: string;
  role: 'org_admin' | 'developer' | 'viewer';
  created_at: string;
  updated_at: string;
}

/** A one-time invitation to join an organisation. */
export interface MemberInvitationTable {
  id: string;
  org_id: string;
  role: 'org_admin' | 'developer' | 'viewer';
  email: string | null;
  token_hash: string;
  created_by: string;
  created_at: string;
  expires_at: string;
  accepted_at: string | null;
  accepted_by: string | null;
  revoked_at: string | null;
}

/** A role a partner requested for an application, waiting for an operator's decision. */
export interface RoleRequestTable {
  id: string;
  org_id: string;
  client_id: string;
  role: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  requested_by: string;
  requested_at: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}

/** A test-plan run a sandbox client submitted over mTLS (the go-live gate's evidence). */
export interface TestplanRunTable {
  id: string;
  org_id: string;
  client_id: string;
  environment: 'sandbox' | 'production';
  cert_x5t_s256: string;
  started_at: string;
  finished_at: string;
  received_at: string;
  outcome: 'passed' | 'failed';
  report: string;
}

/** A console browser session; the cookie holds the secret, the table its SHA-256. */
export interface ConsoleSessionTable {
  id_hash: string;
  account_id: string;
  csrf_hash: string;
  created_at: string;
  last_seen_at: string;
  idle_expires_at: string;
  expires_at: string;
  revoked_at: string | null;
}

/** The last time a client was seen by one of the platform's doors (access reviews). */
export interface ClientActivityTable {
  client_id: string;
  org_id: string | null;
  last_seen_at: string;
  last_allowed_at: string | null;
}

/**
 * A kept decision line, shared by every platform node (issue 16). `id`: bigserial on PostgreSQL (a string from
 * the driver; read through Number), integer on SQLite. Pruned after a day or beyond a row cap.
 */
export interface DecisionLineTable {
  id: Generated<number | string>;
  at: string;
  node: string;
  door: string;
  decision: 'allow' | 'deny';
  reason: string;
  status: number;
  method: string;
  route: string | null;
  path: string;
  client_id: string | null;
  org_id: string | null;
  jti: string | null;
  cert_subject: string | null;
  cert_x5t_s256: string | null;
  request_id: string;
  latency_ms: number;
}

/** The latency histogram columns of a minute row (upper bounds: the recorder's LATENCY_BOUNDS_MS). */
export type HistogramColumn =
  | 'h00'
  | 'h01'
  | 'h02'
  | 'h03'
  | 'h04'
  | 'h05'
  | 'h06'
  | 'h07'
  | 'h08'
  | 'h09'
  | 'h10'
  | 'h11'
  | 'h12'
  | 'h13'
  | 'h14'
  | 'h15'
  | 'h16'
  | 'h17'
  | 'h18'
  | 'h19'
  | 'h20'
  | 'h21'
  | 'h22';

/** Traffic of one (epoch minute, organisation — '' for none, door), added to by every node. */
export type DecisionMinuteTable = {
  minute: number;
  org_id: string;
  door: string;
  requests: number;
  denials: number;
  /** Decisions counted here whose lines were not kept (over a node's lines-per-second cap). */
  dropped: number;
} & { [K in HistogramColumn]: ColumnType<number, number | undefined, number> };

export interface DecisionMinuteReasonTable {
  minute: number;
  org_id: string;
  door: string;
  reason: string;
  count: number;
}

export interface Database {
  decision_lines: DecisionLineTable;
  decision_minutes: DecisionMinuteTable;
  decision_minute_reasons: DecisionMinuteReasonTable;
  client_activity: ClientActivityTable;
  operator_accounts: OperatorAccountTable;
  organisation_members: OrganisationMemberTable;
  member_invitations: MemberInvitationTable;
  role_requests: RoleRequestTable;
  testplan_runs: TestplanRunTable;
  console_sessions: ConsoleSessionTable;
  accounts: AccountTable;
  account_grants: AccountGrantTable;
  organisations: OrganisationTable;
  organisation_roles: OrganisationRoleTable;
  contacts: ContactTable;
  roles: RoleTable;
  scopes: ScopeTable;
  role_scopes: RoleScopeTable;
  catalog_resources: CatalogResourceTable;
  catalog_operations: CatalogOperationTable;
  catalog_operation_scopes: CatalogOperationScopeTable;
  catalog_drafts: CatalogDraftTable;
  catalog_revisions: CatalogRevisionTable;
  applications: ApplicationTable;
  application_roles: ApplicationRoleTable;
  certificate_authorities: CertificateAuthorityTable;
  certificates: CertificateTable;
  crls: CrlTable;
  ocsp_responders: OcspResponderTable;
  signing_keys: SigningKeyTable;
  operator_tokens: OperatorTokenTable;
  audit_log: AuditLogTable;
  change_feed: ChangeFeedTable;
  replay_cache: ReplayCacheTable;
  rate_limit_counters: RateLimitCounterTable;
  rate_limits: RateLimitTable;
  oidc_models: OidcModelTable;
  federation_subordinates: FederationSubordinateTable;
  federation_trust_marks: FederationTrustMarkTable;
  federation_registrations: FederationRegistrationTable;
  software_statements: SoftwareStatementTable;
  initial_access_tokens: InitialAccessTokenTable;
  dynamic_registrations: DynamicRegistrationTable;
  self_signed_pins: SelfSignedPinTable;
  enforcement_credentials: EnforcementCredentialTable;
  node_join_tokens: NodeJoinTokenTable;
  login_address_throttle: LoginAddressThrottleTable;
  platform_events: PlatformEventTable;
  event_cursors: EventCursorTable;
  rotation_policies: RotationPolicyTable;
  webhook_subscriptions: WebhookSubscriptionTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  ssf_receivers: SsfReceiverTable;
  ssf_streams: SsfStreamTable;
  ssf_stream_subjects: SsfStreamSubjectTable;
  ssf_queued_sets: SsfQueuedSetTable;
  mail_outbox: MailOutboxTable;
  external_cas: ExternalCaTable;
}

export interface PlatformEventTable {
  seq: Generated<number>;
  /** UUID: the idempotency key of every delivery and the basis of a Security Event Token's `jti`. */
  id: string;
  type: string;
  occurred_at: string;
  org_id: string | null;
  client_id: string | null;
  /** JSON: what the event is about (`{ kind, id, … }`). */
  subject: string;
  /** JSON: the event's facts. */
  data: string;
  source_seq: number | null;
  dedupe_key: string | null;
}

export interface EventCursorTable {
  consumer: string;
  last_seq: number;
  updated_at: string;
}

export interface WebhookSubscriptionTable {
  id: string;
  url: string;
  /** JSON array of event types, or `["*"]`. */
  event_types: string;
  /** Only this organisation's events when set. */
  org_id: string | null;
  scheme: 'jws' | 'standard-webhooks';
  /** The Standard Webhooks secret, AES-256-GCM under a key derived from the KEK. */
  secret_enc: string | null;
  previous_secret_enc: string | null;
  previous_secret_until: string | null;
  description: string | null;
  status: 'active' | 'disabled' | 'removed';
  created_by: string;
  created_at: string;
  updated_at: string;
}

export interface WebhookDeliveryTable {
  id: string;
  subscription_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: 'pending' | 'delivered' | 'dead' | 'cancelled';
  attempts: number;
  next_attempt_at: string;
  claim_token: string | null;
  window_started_at: string;
  last_status_code: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
}

export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  attempt: number;
  started_at: string;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
}

/** A Shared Signals receiver: an operator-granted bearer credential, optionally scoped to one organisation. */
export interface SsfReceiverTable {
  id: string;
  name: string;
  org_id: string | null;
  token_hash: string;
  created_by: string;
  created_at: string;
  revoked_at: string | null;
}

export interface SsfStreamTable {
  stream_id: string;
  receiver_id: string;
  /** JSON: a string or an array of strings. */
  aud: string;
  /** JSON array of event type URIs. */
  events_requested: string;
  delivery_method: string;
  endpoint_url: string | null;
  /** Sealed with the KEK. */
  authorization_header: string | null;
  description: string | null;
  status: string;
  status_reason: string | null;
  after_seq: number;
  last_verification_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface SsfStreamSubjectTable {
  stream_id: string;
  subject: string;
  mode: string;
  added_at: string;
}

export interface SsfQueuedSetTable {
  seq: Generated<number>;
  stream_id: string;
  jti: string;
  token: string;
  queued_at: string;
  next_attempt_at: string;
  attempts: Generated<number>;
  last_error: string | null;
  failed_at: string | null;
}

/** One notification mail to one recipient, from one platform event (migration 0018). */
export interface MailOutboxTable {
  id: string;
  event_id: string;
  event_type: string;
  recipient: string;
  subject: string;
  body: string;
  /** `sending`: claimed by a sender until next_attempt_at (after which a crashed claim is taken again). */
  status: 'pending' | 'sending' | 'sent' | 'failed';
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

/** An organisation's own CA (bring your own CA), pinned by its key, with its last verified CRL state. */
export interface ExternalCaTable {
  id: string;
  org_id: string;
  /** RFC 4514 subject of the CA certificate. */
  subject: string;
  certificate_pem: string;
  /** base64url SHA-256 of the CA's DER subjectPublicKeyInfo: one key, one organisation. */
  spki_sha256: string;
  not_after: string;
  /** JSON array of CRL URLs. */
  crl_urls: string;
  ocsp_url: string | null;
  refresh_seconds: number;
  max_staleness_seconds: number;
  crl_this_update: string | null;
  crl_next_update: string | null;
  crl_number: string | null;
  crl_fetched_at: string | null;
  /** JSON array of upper-case hex serial numbers. */
  revoked_serials: string;
  /** The last verified CRL, DER in base64. */
  crl_der: string | null;
  last_error: string | null;
  next_refresh_at: string;
  created_at: string;
  updated_at: string;
}

/** One claimed one-time value (a DPoP proof `jti`) until it expires (migration 0019). */
export interface ReplayCacheTable {
  key: string;
  /** Epoch milliseconds (bigint on PostgreSQL: read back as a string). */
  expires_at: number | string;
}

/** One GCRA counter (issue 16): the theoretical arrival time, epoch milliseconds (fractional). */
export interface RateLimitCounterTable {
  key: string;
  tat: number;
}

/**
 * Rate limits set by operators: `catalog` / `*` holds the catalog-wide default (JSON { client?, organisation? }),
 * `organisation` / `application` a rule list (JSON [{ quota, window }]) replacing the catalog's for that subject.
 */
export interface RateLimitTable {
  subject_kind: 'catalog' | 'organisation' | 'application';
  subject_id: string;
  policy: string;
  updated_at: string;
}
