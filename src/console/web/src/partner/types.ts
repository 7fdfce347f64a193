/** What the partner API (/partner/v1) answers; see src/platform/partner-api/. */
export type Environment = 'sandbox' | 'production';

export interface Contact {
  id: string;
  kind: string;
  name: string;
  email: string;
  phone?: string;
}

export interface OrganisationProfile {
  id: string;
  name: string;
  status: string;
  created_at: string;
  live_at: string | null;
  roles: string[];
  contacts: Contact[];
  member_role: 'org_admin' | 'developer' | 'viewer';
}

export interface RoleRequest {
  id: string;
  client_id: string;
  application_name: string;
  environment: Environment;
  role: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  requested_by: string;
  requested_at: string;
  decided_at: string | null;
  reason: string | null;
}

export interface Application {
  client_id: string;
  name: string;
  status: string;
  environment: Environment;
  auth_method: string;
  roles: string[];
  scopes?: string[];
  metadata?: Record<string, unknown>;
  created_at: string;
  role_requests?: RoleRequest[];
}

export interface Certificate {
  serial: string;
  client_id: string;
  subject: string;
  x5t_s256: string;
  not_before: string;
  not_after: string;
  status: 'active' | 'revoked';
  revocation_reason: string | null;
  renews: string | null;
  superseded_by: string | null;
  certificate_pem?: string;
  ca_bundle_pem?: string;
}

export interface SoftwareStatement {
  jti: string;
  software_id: string;
  issued_at: string;
  expires_at: string;
  status: string;
  used_by_client_id: string | null;
}

export interface Catalog {
  title: string;
  issuer: string;
  token_endpoint: string;
  gateway_url: string;
  ca_bundle_url: string;
  how_to_request_access: { steps: string[]; contact: string | null; contact_url: string | null };
  roles: Array<{ name: string; description: string; deprecated: boolean; scopes: string[] }>;
  operations: Array<{
    method: string;
    path: string;
    description: string;
    public: boolean;
    scopes: string[][];
    deprecated: boolean;
  }>;
}

export interface Playbook {
  client_id: string;
  environment: Environment;
  auth_method: string;
  urls: { issuer: string; token_endpoint: string; gateway: string; ca_bundle: string };
  steps: Array<{ title: string; command: string }>;
}

export const orgPath = (orgId: string) => `/partner/v1/organisations/${encodeURIComponent(orgId)}`;
