import { useState } from 'react';
import {
  Badge,
  Button,
  Field,
  formatDate,
  Loading,
  Page,
  ProblemAlert,
  Section,
  Table,
  useApiData,
} from '../ui.tsx';
import './monitoring.css';

interface Holder {
  client_id: string;
  application: string;
  status: string;
  org_id: string;
  organisation: string | null;
  environment: string;
  expires_at: string | null;
  expired: boolean;
}

interface InactiveClient {
  client_id: string;
  application: string;
  org_id: string;
  organisation: string | null;
  environment: string;
  created_at: string;
  last_seen_at: string | null;
  days_without_traffic: number;
}

interface ExpiringCertificate {
  id: string;
  kind: string;
  not_after: string;
  days_left: number;
  org_id: string | null;
  client_id: string | null;
  organisation: string | null;
  label: string;
}

interface Review {
  generated_at: string;
  inactive_days: number;
  expiring_days: number;
  role_holders: Array<{ role: string; holders: Holder[] }>;
  operators: Array<{
    account_id: string;
    username: string | null;
    name: string | null;
    account_status: string | null;
    role: string;
    since: string;
  }>;
  inactive_clients: InactiveClient[];
  expiring_certificates: ExpiringCertificate[];
}

const clamp = (raw: string) => {
  const n = Math.trunc(Number(raw));
  return Number.isFinite(n) ? Math.min(Math.max(n, 1), 3650) : 30;
};

/** Who holds which roles, clients without traffic for N days, certificates ending within N days. */
export function AccessReviewsPage() {
  const [inactiveInput, setInactiveInput] = useState('30');
  const [expiringInput, setExpiringInput] = useState('30');
  const [query, setQuery] = useState({ inactive_days: 30, expiring_days: 30 });
  const { data, error, loading } = useApiData<Review>('/admin/v1/access-reviews', { query });
  const holders = (data?.role_holders ?? []).flatMap((r) => r.holders.map((h) => ({ ...h, role: r.role })));

  return (
    <Page title="Access reviews">
      <Section title="Review period">
        <form
          className="monitor-filters"
          onSubmit={(e) => {
            e.preventDefault();
            setQuery({ inactive_days: clamp(inactiveInput), expiring_days: clamp(expiringInput) });
          }}
        >
          <Field
            label="No traffic for (days)"
            type="number"
            min={1}
            max={3650}
            value={inactiveInput}
            onChange={(e) => setInactiveInput(e.target.value)}
          />
          <Field
            label="Certificates ending within (days)"
            type="number"
            min={1}
            max={3650}
            value={expiringInput}
            onChange={(e) => setExpiringInput(e.target.value)}
          />
          <Button type="submit">Review</Button>
        </form>
      </Section>
      <ProblemAlert error={error} />
      {loading && !data ? <Loading what="the access review" /> : null}
      {data ? (
        <>
          <Section title={`Clients without traffic for ${data.inactive_days} days`}>
            <Table
              caption={`Active clients without traffic for ${data.inactive_days} days`}
              rows={data.inactive_clients}
              rowKey={(c) => c.client_id}
              empty="Every active client had traffic in this period."
              columns={[
                { header: 'Application', cell: (c) => c.application },
                { header: 'Client', cell: (c) => <code>{c.client_id}</code> },
                { header: 'Organisation', cell: (c) => c.organisation ?? c.org_id },
                { header: 'Environment', cell: (c) => c.environment },
                { header: 'Last seen', cell: (c) => (c.last_seen_at ? formatDate(c.last_seen_at) : 'Never') },
                { header: 'Days without traffic', cell: (c) => c.days_without_traffic },
              ]}
            />
          </Section>
          <Section title={`Certificates ending within ${data.expiring_days} days`}>
            <Table
              caption={`Partner certificates ending within ${data.expiring_days} days`}
              rows={data.expiring_certificates}
              rowKey={(c) => c.id}
              empty="No partner certificate ends in this period."
              columns={[
                { header: 'Certificate', cell: (c) => c.label },
                { header: 'Organisation', cell: (c) => c.organisation ?? c.org_id ?? '—' },
                { header: 'Client', cell: (c) => (c.client_id ? <code>{c.client_id}</code> : '—') },
                { header: 'Ends', cell: (c) => formatDate(c.not_after) },
                {
                  header: 'Days left',
                  cell: (c) => <Badge tone={c.days_left <= 7 ? 'bad' : 'warn'}>{c.days_left}</Badge>,
                },
              ]}
            />
          </Section>
          <Section title="Role holders">
            <Table
              caption="Applications holding each role"
              rows={holders}
              rowKey={(h) => `${h.role}|${h.client_id}`}
              empty="No application holds a role."
              columns={[
                { header: 'Role', cell: (h) => <code>{h.role}</code> },
                { header: 'Application', cell: (h) => h.application },
                { header: 'Organisation', cell: (h) => h.organisation ?? h.org_id },
                { header: 'Environment', cell: (h) => h.environment },
                { header: 'Status', cell: (h) => h.status },
                {
                  header: 'Grant ends',
                  cell: (h) =>
                    h.expires_at ? (
                      <>
                        {formatDate(h.expires_at)} {h.expired ? <Badge tone="bad">expired</Badge> : null}
                      </>
                    ) : (
                      'No end date'
                    ),
                },
              ]}
            />
          </Section>
          <Section title="Operator roles">
            <Table
              caption="Accounts with an operator role"
              rows={data.operators}
              rowKey={(o) => o.account_id}
              empty="No console account has an operator role."
              columns={[
                { header: 'Account', cell: (o) => o.username ?? <code>{o.account_id}</code> },
                { header: 'Name', cell: (o) => o.name ?? '—' },
                { header: 'Role', cell: (o) => o.role },
                {
                  header: 'Account status',
                  cell: (o) =>
                    o.account_status === 'active' ? (
                      'active'
                    ) : (
                      <Badge tone="bad">{o.account_status ?? 'missing'}</Badge>
                    ),
                },
                { header: 'Since', cell: (o) => formatDate(o.since) },
              ]}
            />
          </Section>
        </>
      ) : null}
    </Page>
  );
}
