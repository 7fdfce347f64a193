/** The example access catalog from the partner-onboarding guide: resource + operation → scope → default role. */
export const SEED_RESOURCES = [
  { name: 'accounts', description: 'The organisation’s accounts' },
  { name: 'payments', description: 'Payments the organisation submits' },
  { name: 'reports', description: 'Reports the organisation downloads' },
] as const;

export const SEED_SCOPES = [
  { name: 'accounts:read', description: 'Read the organisation’s accounts' },
  { name: 'accounts:write', description: 'Create accounts' },
  { name: 'payments:submit', description: 'Submit payments' },
  { name: 'reports:download', description: 'Download reports' },
] as const;

export const SEED_ROLES = [
  { name: 'partner_reader', description: 'Reads accounts', scopes: ['accounts:read'] },
  {
    name: 'partner_writer',
    description: 'Creates accounts and submits payments',
    scopes: ['accounts:write', 'payments:submit'],
  },
  { name: 'partner_analyst', description: 'Downloads reports', scopes: ['reports:download'] },
] as const;

// Fixed ids: every installation names the sample operations alike, and seeding twice adds nothing.
export const SEED_ROUTES = [
  {
    id: '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e01',
    method: 'GET',
    pathPattern: '/v1/accounts',
    scope: 'accounts:read',
    resource: 'accounts',
    description: 'List accounts',
  },
  {
    id: '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e02',
    method: 'GET',
    pathPattern: '/v1/accounts/{id}',
    scope: 'accounts:read',
    resource: 'accounts',
    description: 'Read one account',
  },
  {
    id: '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e03',
    method: 'POST',
    pathPattern: '/v1/accounts',
    scope: 'accounts:write',
    resource: 'accounts',
    description: 'Create an account',
  },
  {
    id: '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e04',
    method: 'POST',
    pathPattern: '/v1/payments',
    scope: 'payments:submit',
    resource: 'payments',
    description: 'Submit a payment',
  },
  {
    id: '6d1f4a8e-0b7c-4f51-9a51-0c0a2f9d7e05',
    method: 'GET',
    pathPattern: '/v1/reports/**',
    scope: 'reports:download',
    resource: 'reports',
    description: 'Download reports',
  },
] as const;
