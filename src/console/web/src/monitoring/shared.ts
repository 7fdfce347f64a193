import { useApiData } from '../ui.tsx';

/** A decision as `GET /admin/v1/decisions` and the stream's `decision` events carry it. */
export interface DecisionItem {
  id: number;
  at: string;
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

export const DOORS = ['gateway', 'auth_request', 'ext_authz', 'authzen', 'aws-lambda'];

/** Organisation id → name, for labels (the APIs carry ids). */
export function useOrganisationNames(): Map<string, string> {
  const { data } = useApiData<{ items: Array<{ id: string; name: string }> }>('/admin/v1/organisations');
  return new Map((data?.items ?? []).map((o) => [o.id, o.name]));
}

export const orgLabel = (names: Map<string, string>, id: string | null): string =>
  id === null ? 'No organisation' : (names.get(id) ?? id);

export const timeOf = (iso: string): string =>
  new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
