export const ROLE_LABELS: Record<string, string> = {
  org_admin: 'organisation administrator',
  developer: 'developer',
  viewer: 'viewer',
  administrator: 'administrator',
  auditor: 'auditor (read only)',
};

export const MEMBER_ROLE_OPTIONS = [
  { value: 'org_admin', label: 'Organisation administrator' },
  { value: 'developer', label: 'Developer' },
  { value: 'viewer', label: 'Viewer' },
];

export const OPERATOR_ROLE_OPTIONS = [
  { value: 'administrator', label: 'Administrator' },
  { value: 'auditor', label: 'Auditor (read only)' },
];
