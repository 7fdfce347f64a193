import type { CatalogDocument, CatalogOperation } from '../../../src/directory/index.ts';
import type { PartnerCatalogContext } from '../../../src/platform/partner-catalog/partner-catalog-context.ts';

/** Markup in every place a catalog string can go: each must come out as text. */
export const HOSTILE = `<script>alert("x")</script> & 'quotes' <img src=x onerror=alert(1)>`;

export const CONTEXT: PartnerCatalogContext = {
  title: 'Bank API',
  issuer: 'https://as.example.test',
  tokenEndpoint: 'https://mtls.example.test/token',
  gatewayUrl: 'https://api.example.test',
  caBundleUrl: 'https://as.example.test/pki/ca-bundle.pem',
  accessRequest: 'mailto:partners@bank.example',
};

export function operation(
  fields: Partial<CatalogOperation> & Pick<CatalogOperation, 'method' | 'path_pattern'>,
) {
  return {
    id: `op-internal-${fields.method}-${fields.path_pattern}`,
    resource: null,
    operation_id: null,
    source: 'openapi:internal-bank-spec',
    description: `${fields.method} ${fields.path_pattern}`,
    required_scopes: [],
    auth: 'token',
    mtls: 'required',
    dpop: 'refused',
    owner_param: null,
    status: 'active',
    ...fields,
  } satisfies CatalogOperation;
}

/** A hand-made active catalog with every kind of operation the partner view distinguishes. */
export function sampleCatalog(): CatalogDocument {
  return {
    resources: [
      { name: 'accounts', description: 'The organisation’s accounts', status: 'active' },
      { name: 'reports', description: HOSTILE, status: 'deprecated' },
    ],
    scopes: [
      { name: 'accounts:read', description: 'Read accounts', version: 'v1', status: 'active' },
      { name: 'accounts:write', description: 'Create accounts', version: null, status: 'active' },
      { name: 'payments:submit', description: 'Submit payments', version: null, status: 'active' },
      { name: 'reports:download', description: 'Download reports', version: 'v2', status: 'deprecated' },
      { name: "evil<script>&'", description: HOSTILE, version: null, status: 'active' },
    ],
    roles: [
      {
        name: 'admin',
        description: 'Reads and writes',
        status: 'active',
        scopes: ['accounts:read', 'accounts:write'],
      },
      { name: 'analyst', description: 'Old reports', status: 'deprecated', scopes: ['reports:download'] },
      { name: 'reader', description: 'Reads accounts', status: 'active', scopes: ['accounts:read'] },
      { name: "role<script>&'", description: HOSTILE, status: 'active', scopes: ["evil<script>&'"] },
      {
        name: 'writer',
        description: 'Writes and pays',
        status: 'active',
        scopes: ['accounts:write', 'payments:submit'],
      },
    ],
    operations: [
      operation({
        method: 'GET',
        path_pattern: '/status',
        auth: 'public',
        mtls: 'optional',
        description: 'Health',
      }),
      operation({
        method: 'GET',
        path_pattern: '/v1/accounts',
        resource: 'accounts',
        operation_id: 'listAccounts',
        required_scopes: [['accounts:read']],
      }),
      operation({
        method: 'GET',
        path_pattern: '/v1/accounts/{id}',
        resource: 'accounts',
        operation_id: 'getAccount',
        mtls: 'optional',
        dpop: 'accepted',
        required_scopes: [['accounts:read'], ['accounts:write']],
      }),
      operation({
        method: 'POST',
        path_pattern: '/v1/orgs/{org_id}/transfers',
        resource: 'accounts',
        owner_param: 'org_id',
        // Only a combination of roles (reader + writer) or one role (none here) can make up the first.
        required_scopes: [
          ['accounts:read', 'payments:submit'],
          ['accounts:write', 'payments:submit'],
        ],
      }),
      operation({
        method: 'GET',
        path_pattern: '/v1/reports/**',
        resource: 'reports',
        status: 'deprecated',
        description: HOSTILE,
        required_scopes: [['reports:download']],
      }),
      operation({
        method: 'DELETE',
        path_pattern: `/v1/evil/{id}`,
        description: HOSTILE,
        required_scopes: [["evil<script>&'"]],
      }),
    ],
  };
}
