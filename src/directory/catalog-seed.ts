/** The example access catalog from the partner-onboarding guide: resource + operation → scope → default role. */
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

export const SEED_ROUTES = [
  { method: 'GET', pathPattern: '/v1/accounts', scope: 'accounts:read', description: 'List accounts' },
  {
    method: 'GET',
    pathPattern: '/v1/accounts/{id}',
    scope: 'accounts:read',
    description: 'Read one account',
  },
  { method: 'POST', pathPattern: '/v1/accounts', scope: 'accounts:write', description: 'Create an account' },
  { method: 'POST', pathPattern: '/v1/payments', scope: 'payments:submit', description: 'Submit a payment' },
  {
    method: 'GET',
    pathPattern: '/v1/reports/**',
    scope: 'reports:download',
    description: 'Download reports',
  },
] as const;
