import { Link } from 'react-router';
import { formatDate, Loading, Page, ProblemAlert, Section, Table, useApiData } from '../ui.tsx';
import { appLink, type Certificate, daysUntil, type Items, orgLink, type RoleRequest } from './common.tsx';

interface Overview {
  organisations: Record<string, number>;
  applications: Record<string, number>;
  pending_role_requests: number;
  expiring_within_days: number;
  certificates_expiring: number;
  registrations: Record<string, number>;
}

function Stat({ value, label, to }: { value: number | undefined; label: string; to: string }) {
  return (
    <Link className="op-stat" to={to}>
      <span className="op-stat-value">{value ?? 0}</span>
      <span className="op-stat-label">{label}</span>
    </Link>
  );
}

export function OverviewPage() {
  const overview = useApiData<Overview>('/admin/v1/overview');
  const pending = useApiData<Items<RoleRequest>>('/admin/v1/role-requests', {
    query: { status: 'pending', limit: 10 },
  });
  const expiring = useApiData<Items<Certificate>>('/admin/v1/certificates', {
    query: { expiring_within_days: 30, limit: 10 },
  });
  const o = overview.data;
  return (
    <Page title="Operator overview">
      <ProblemAlert error={overview.error} />
      {o ? (
        <div className="op-stats">
          <Stat value={o.organisations.active} label="active organisations" to="/operator/organisations" />
          <Stat value={o.applications.active} label="active applications" to="/operator/applications" />
          <Stat value={o.pending_role_requests} label="pending approvals" to="/operator/approvals" />
          <Stat
            value={o.certificates_expiring}
            label={`certificates expiring in ${o.expiring_within_days} days`}
            to="/operator/certificates"
          />
          <Stat
            value={(o.registrations.dynamic ?? 0) + (o.registrations.federation ?? 0)}
            label="registrations (DCR and federation)"
            to="/operator/registrations"
          />
        </div>
      ) : overview.loading ? (
        <Loading what="the overview" />
      ) : null}
      <div className="grid-2">
        <Section title="Pending approvals">
          <ProblemAlert error={pending.error} />
          {pending.data ? (
            <Table
              caption="Role requests waiting for a decision"
              rows={pending.data.items.slice(0, 10)}
              rowKey={(r) => r.id}
              empty="No role request is waiting."
              columns={[
                { header: 'Organisation', cell: (r) => orgLink(r.org_id, r.org_name) },
                { header: 'Application', cell: (r) => appLink(r.client_id, r.application_name) },
                { header: 'Role', cell: (r) => r.role },
                { header: 'Requested', cell: (r) => formatDate(r.requested_at) },
              ]}
            />
          ) : null}
          <p>
            <Link to="/operator/approvals">Open the approval queue</Link>
          </p>
        </Section>
        <Section title="Certificates expiring in 30 days">
          <ProblemAlert error={expiring.error} />
          {expiring.data ? (
            <Table
              caption="Active certificates ending within 30 days"
              rows={expiring.data.items.slice(0, 10)}
              rowKey={(c) => c.serial}
              empty="No certificate ends in the next 30 days."
              columns={[
                { header: 'Application', cell: (c) => appLink(c.client_id) },
                { header: 'Ends', cell: (c) => formatDate(c.not_after) },
                { header: 'Days left', cell: (c) => String(daysUntil(c.not_after)) },
              ]}
            />
          ) : null}
          <p>
            <Link to="/operator/certificates">All certificates</Link>
          </p>
        </Section>
      </div>
    </Page>
  );
}
