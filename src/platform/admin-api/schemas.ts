/** JSON Schemas shared by the admin routes; Fastify validates with them and the OpenAPI document is built from them. */
export const problemSchema = {
  $id: 'Problem',
  type: 'object',
  description: 'RFC 9457 problem details',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    instance: { type: 'string' },
    errors: { type: 'array', items: {} },
    code_point: { type: 'string', description: 'invalid_name_character: the refused character, as U+XXXX' },
    organisation_id: {
      type: 'string',
      description: 'confusable_name: the organisation whose name it looks like',
    },
    scripts: {
      type: 'array',
      items: { type: 'string' },
      description: 'mixed_script_name: the scripts mixed in one word',
    },
  },
  required: ['type', 'title', 'status', 'code'],
} as const;

export const errorResponses = {
  400: { $ref: 'Problem#' },
  401: { $ref: 'Problem#' },
  404: { $ref: 'Problem#' },
  409: { $ref: 'Problem#' },
} as const;

export const uuidParam = { type: 'string', minLength: 1, maxLength: 64 } as const;

export const contactSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'name', 'email'],
  properties: {
    kind: { type: 'string', enum: ['business', 'technical', 'security', 'billing'] },
    name: { type: 'string', minLength: 1, maxLength: 200 },
    email: { type: 'string', minLength: 3, maxLength: 254 },
    phone: { type: 'string', maxLength: 40 },
  },
} as const;

export const organisationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string', enum: ['active', 'suspended', 'offboarded'] },
    roles: { type: 'array', items: { type: 'string' } },
    contacts: { type: 'array', items: { type: 'object', additionalProperties: true } },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

export const roleGrantSchema = {
  type: 'object',
  properties: {
    role: { type: 'string' },
    expires_at: { type: ['string', 'null'] },
    expired: { type: 'boolean' },
  },
} as const;

export const applicationSchema = {
  type: 'object',
  properties: {
    client_id: { type: 'string' },
    org_id: { type: 'string' },
    name: { type: 'string' },
    status: { type: 'string' },
    auth_method: { type: 'string' },
    registration_type: { type: 'string' },
    environment: { type: 'string', enum: ['sandbox', 'production'] },
    roles: { type: 'array', items: { type: 'string' } },
    role_grants: { type: 'array', items: roleGrantSchema },
    scopes: { type: 'array', items: { type: 'string' } },
    metadata: { type: 'object', additionalProperties: true },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
  },
} as const;

export const certificateSchema = {
  type: 'object',
  properties: {
    serial: { type: 'string' },
    client_id: { type: 'string' },
    org_id: { type: 'string' },
    subject: { type: 'string' },
    issuer: { type: 'string' },
    x5t_s256: { type: 'string' },
    key: { type: 'string' },
    not_before: { type: 'string' },
    not_after: { type: 'string' },
    status: { type: 'string', enum: ['active', 'revoked'] },
    revoked_at: { type: ['string', 'null'] },
    revocation_reason: { type: ['string', 'null'] },
    renews: { type: ['string', 'null'] },
    superseded_by: { type: ['string', 'null'] },
    supersede_at: { type: ['string', 'null'] },
    renewal_count: { type: 'integer' },
    first_used_at: { type: ['string', 'null'] },
    certificate_pem: { type: 'string' },
  },
} as const;

export const reasonBody = {
  type: 'object',
  additionalProperties: false,
  properties: { reason: { type: 'string', maxLength: 500 } },
} as const;

const anyObject = { type: 'object', additionalProperties: true } as const;

export const subordinateSchema = {
  type: 'object',
  properties: {
    entity_id: { type: 'string' },
    org_id: { type: 'string' },
    is_intermediate: { type: 'boolean' },
    entity_types: { type: 'array', items: { type: 'string' } },
    jwks: anyObject,
    metadata: { type: ['object', 'null'], additionalProperties: true },
    metadata_policy: { type: ['object', 'null'], additionalProperties: true },
    constraints: { type: ['object', 'null'], additionalProperties: true },
    metadata_policy_crit: { type: ['array', 'null'], items: { type: 'string' } },
    status: { type: 'string', enum: ['active', 'removed'] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    removed_at: { type: ['string', 'null'] },
  },
} as const;

export const trustMarkSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    trust_mark_type: { type: 'string' },
    sub: { type: 'string' },
    iat: { type: 'integer' },
    exp: { type: ['integer', 'null'] },
    status: { type: 'string', enum: ['active', 'revoked'] },
    revoked_at: { type: ['string', 'null'] },
    created_at: { type: 'string' },
  },
} as const;

export const federationKeySchema = {
  type: 'object',
  properties: {
    kid: { type: 'string' },
    alg: { type: 'string' },
    status: { type: 'string', enum: ['active', 'retired', 'revoked'] },
    created_at: { type: 'string' },
    retired_at: { type: ['string', 'null'] },
    revoked_at: { type: ['string', 'null'] },
    revocation_reason: { type: ['string', 'null'] },
    published: { type: 'boolean' },
    expires_at: { type: ['string', 'null'] },
    public_jwk: anyObject,
  },
} as const;

export const chainFindingSchema = {
  type: 'object',
  properties: {
    step: { type: 'string', description: 'the OpenID Federation 1.0 step that failed, e.g. "§10.2 step 3"' },
    code: { type: 'string' },
    message: { type: 'string' },
    entity_id: { type: ['string', 'null'] },
  },
} as const;

export const federationResolutionSchema = {
  type: 'object',
  description:
    'Trust Chain resolution of one entity. ok is false (with findings) when no valid chain reaches a Trust Anchor; findings may also accompany a valid chain (e.g. a Trust Mark that did not verify).',
  properties: {
    ok: { type: 'boolean' },
    entity_id: { type: 'string' },
    trust_anchor: { type: ['string', 'null'] },
    expires_at: { type: ['string', 'null'], description: 'earliest expiry in the chain (§10.4)' },
    chain: {
      type: 'array',
      description: 'subject’s Entity Configuration first, Trust Anchor’s last (§4)',
      items: {
        type: 'object',
        properties: {
          iss: { type: 'string' },
          sub: { type: 'string' },
          iat: { type: 'integer' },
          exp: { type: 'integer' },
          kind: { type: 'string', enum: ['entity_configuration', 'subordinate_statement'] },
        },
      },
    },
    trust_chain: { type: 'array', items: { type: 'string' }, description: 'the chain as compact JWTs' },
    metadata: { type: ['object', 'null'], additionalProperties: true },
    trust_marks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          trust_mark_type: { type: 'string' },
          iss: { type: 'string' },
          exp: { type: ['integer', 'null'] },
        },
      },
    },
    findings: { type: 'array', items: chainFindingSchema },
  },
} as const;

export const softwareStatementSchema = {
  type: 'object',
  description: 'A software statement as recorded; the JWT itself is never stored nor listed',
  properties: {
    jti: { type: 'string' },
    software_id: { type: 'string' },
    org_id: { type: 'string' },
    issued_at: { type: 'string' },
    expires_at: { type: 'string' },
    status: { type: 'string', enum: ['issued', 'used', 'revoked'] },
    used_at: { type: ['string', 'null'] },
    used_by_client_id: { type: ['string', 'null'] },
  },
} as const;

/** `?status=` of the software statement lists: as recorded, or `expired` (issued, unused, past expiry). */
export const statementStatusFilter = {
  type: 'string',
  enum: ['issued', 'used', 'revoked', 'expired'],
  description: 'issued, used or revoked as recorded; expired: issued, never used and past its expiry',
} as const;

/** The query of the software statement lists (admin and partner). */
export interface StatementQuery {
  software_id?: string;
  status?: 'issued' | 'used' | 'revoked' | 'expired';
  limit?: string;
  cursor?: string;
}

export const issuedSoftwareStatementSchema = {
  type: 'object',
  properties: {
    software_statement: { type: 'string', description: 'the signed JWT (RFC 7591 §2.3); shown once' },
    jti: { type: 'string' },
    software_id: { type: 'string' },
    org_id: { type: 'string' },
    expires_at: { type: 'string' },
  },
} as const;

const initialAccessTokenProperties = {
  id: { type: 'string' },
  org_id: { type: 'string' },
  roles: { type: 'array', items: { type: 'string' } },
  status: { type: 'string', enum: ['active', 'expired', 'exhausted', 'revoked'] },
  created_by: { type: 'string' },
  created_at: { type: 'string' },
  expires_at: { type: 'string' },
  max_uses: { type: 'integer' },
  used_count: { type: 'integer' },
  revoked_at: { type: ['string', 'null'] },
} as const;

export const initialAccessTokenSchema = {
  type: 'object',
  description: 'An initial access token as recorded; the token itself is never stored nor listed',
  properties: initialAccessTokenProperties,
} as const;

export const issuedInitialAccessTokenSchema = {
  type: 'object',
  properties: {
    initial_access_token: {
      type: 'string',
      description: 'the bearer token for the registration endpoint (RFC 7591 §3); shown once',
    },
    ...initialAccessTokenProperties,
  },
} as const;
