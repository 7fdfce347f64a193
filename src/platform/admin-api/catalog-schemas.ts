import { invalidInput } from '../../shared/app-error.ts';
import { RATE_LIMIT_POLICY_SCHEMA, type RateLimitPolicy } from '../../shared/rate-limit/index.ts';

/** Query of every catalog edit: `stage=draft` edits the staged catalog; `dry_run=true` only reports. */
export const stageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    stage: { type: 'string', enum: ['active', 'draft'] },
    dry_run: { type: 'string', enum: ['true', 'false'] },
  },
} as const;

export interface StageQuery {
  stage?: 'active' | 'draft';
  dry_run?: 'true' | 'false';
}

export const findingSchema = {
  type: 'object',
  properties: {
    severity: { type: 'string', enum: ['error', 'warning'] },
    code: { type: 'string' },
    target: { type: 'string' },
    field: { type: 'string' },
    detail: { type: 'string' },
  },
} as const;

const status = { type: 'string', enum: ['active', 'deprecated'] } as const;
const scopeName = { type: 'string', minLength: 1, maxLength: 128 } as const;
const entryName = { type: 'string', minLength: 1, maxLength: 100 } as const;
const description = { type: 'string', maxLength: 2000 } as const;

export const editedFields = {
  stage: { type: 'string' },
  revision: { type: 'integer' },
  warnings: { type: 'array', items: findingSchema },
} as const;

export const operationFields = {
  method: { type: 'string', minLength: 1, maxLength: 10 },
  path_pattern: { type: 'string', minLength: 1, maxLength: 512 },
  scope: { ...scopeName, description: 'shorthand for required_scopes [[scope]]' },
  scopes: {
    type: 'array',
    maxItems: 50,
    items: scopeName,
    description: 'shorthand: any one of these scopes grants the operation',
  },
  required_scopes: {
    type: 'array',
    maxItems: 50,
    items: { type: 'array', minItems: 1, maxItems: 20, items: scopeName },
    description: 'alternatives: any one grants the operation; every scope of one is needed',
  },
  description,
  resource: { type: ['string', 'null'], maxLength: 100 },
  auth: { type: 'string', enum: ['token', 'public'] },
  mtls: { type: 'string', enum: ['required', 'optional'] },
  dpop: { type: 'string', enum: ['refused', 'accepted', 'required'] },
  owner_param: { type: ['string', 'null'], maxLength: 64 },
  status,
  rate_limit: {
    type: ['object', 'null'],
    description:
      'the operation’s own rate limit { client?: [{ quota, window }], organisation?: [...] } (window in seconds); null: the catalog-wide default (validated as the invalid_rate_limit finding)',
  },
} as const;

export const operationSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    method: { type: 'string' },
    path_pattern: { type: 'string' },
    resource: { type: ['string', 'null'] },
    operation_id: { type: ['string', 'null'] },
    source: { type: ['string', 'null'] },
    description: { type: 'string' },
    required_scopes: { type: 'array', items: { type: 'array', items: { type: 'string' } } },
    auth: { type: 'string' },
    mtls: { type: 'string' },
    dpop: { type: 'string' },
    owner_param: { type: ['string', 'null'] },
    status: { type: 'string' },
    rate_limit: RATE_LIMIT_POLICY_SCHEMA,
    ...editedFields,
  },
} as const;

export const scopeFields = {
  description,
  version: { type: ['string', 'null'], maxLength: 32 },
  status,
} as const;
export const scopeSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    version: { type: ['string', 'null'] },
    status: { type: 'string' },
    ...editedFields,
  },
} as const;

export const roleFields = {
  description,
  scopes: { type: 'array', maxItems: 100, items: scopeName },
  status,
} as const;
export const roleSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    status: { type: 'string' },
    scopes: { type: 'array', items: { type: 'string' } },
    ...editedFields,
  },
} as const;

export const resourceFields = { description, status } as const;
export const resourceSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    status: { type: 'string' },
    ...editedFields,
  },
} as const;

export const nameParams = { type: 'object', required: ['name'], properties: { name: entryName } } as const;
export const scopeParams = { type: 'object', required: ['name'], properties: { name: scopeName } } as const;

export interface OperationBody {
  method?: string;
  path_pattern?: string;
  scope?: string;
  scopes?: string[];
  required_scopes?: string[][];
  description?: string;
  resource?: string | null;
  auth?: 'token' | 'public';
  mtls?: 'required' | 'optional';
  dpop?: 'refused' | 'accepted' | 'required';
  owner_param?: string | null;
  status?: 'active' | 'deprecated';
  rate_limit?: RateLimitPolicy | null;
}

/** The three spellings of an operation's scopes, one at a time. */
export function requiredScopesOf(body: OperationBody): string[][] | undefined {
  const given = [body.scope, body.scopes, body.required_scopes].filter((v) => v !== undefined);
  if (given.length > 1) {
    throw invalidInput('give the scopes once: scope, scopes or required_scopes', {
      field: 'required_scopes',
    });
  }
  if (body.scope !== undefined) return [[body.scope]];
  if (body.scopes !== undefined) return body.scopes.map((s) => [s]);
  return body.required_scopes;
}
