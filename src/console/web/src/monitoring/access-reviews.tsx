import { useState } from 'react';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
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

interface Operator {
  account_id: string;
  username: string | null;
  name: string | null;
  account_status: string | null;
  role: string;
  since: string;
}

interface Summary {
  generated_at: string;
  roles: Array<{ role: string; holders: number; expired: number }>;
  operators: number;
}

const clamp = (raw: string) => {
  const n = Math.trunc(Number(raw));
  return Number.isFinite(n) ? Math.min(Math.max(n, 1), 3650) : 30;
};

/**
 * Who holds which roles, clients without traffic for N days, certificates ending within N days, operator
 * accounts: each section a paged list (issue 16) that loads more on demand, so the page opens as fast at
 * 100,000 applications as at 100.
 */
export function AccessReviewsPage() {
  const [inactiveInput, setInactiveInput] = useState('30');
  const [expiringInput, setExpiringInput] = useState('30');
  const [query, setQuery] = useState({ inactive_days: 30, expiring_days: 30 });
  const [role, setRole] = useState<string | undefined>(undefined);
  const summary = useApiData<Summary>('/admin/v1/access-reviews');
  const inactive = usePagedList<InactiveClient>('/admin/v1/access-reviews/inactive-clients', {
    query: { inactive_days: String(query.inactive_days) },
  });
  const expiring = usePagedList<ExpiringCertificate>('/admin/v1/access-reviews/expiring-certificates', {
    query: { expiring_days: String(query.expiring_days) },
  });
  const holders = usePagedList<Holder & { role: string }>('/admin/v1/access-reviews/role-holders', {
    query: { role },
  });
  const operators = usePagedList<Operator>('/admin/v1/access-reviews/operators');

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
      <Section title={`Clients without traffic for ${query.inactive_days} days`}>
        <ProblemAlert error={inactive.error} />
        {inactive.data ? (
          <>
            <Table
              caption={`Active clients without traffic for ${query.inactive_days} days, longest silent first`}
              rows={inactive.data.items}
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
            <LoadMore more={inactive.more} what="clients" />
          </>
        ) : inactive.loading ? (
          <Loading what="clients without traffic" />
        ) : null}
      </Section>
      <Section title={`Certificates ending within ${query.expiring_days} days`}>
        <ProblemAlert error={expiring.error} />
        {expiring.data ? (
          <>
            <Table
              caption={`Partner certificates ending within ${query.expiring_days} days, soonest first`}
              rows={expiring.data.items}
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
            <LoadMore more={expiring.more} what="certificates" />
          </>
        ) : expiring.loading ? (
          <Loading what="expiring certificates" />
        ) : null}
      </Section>
      <Section title="Role holders">
        <ProblemAlert error={summary.error} />
        {summary.data ? (
          <Table
            caption="Applications holding each role"
            rows={summary.data.roles}
            rowKey={(r) => r.role}
            empty="No application holds a role."
            columns={[
              { header: 'Role', cell: (r) => <code>{r.role}</code> },
              { header: 'Holders', cell: (r) => r.holders },
              {
                header: 'Expired grants',
                cell: (r) => (r.expired > 0 ? <Badge tone="bad">{r.expired}</Badge> : 0),
              },
              {
                header: 'Holders list',
                cell: (r) =>
                  role === r.role ? (
                    <Button variant="secondary" onPress={() => setRole(undefined)}>
                      Show every role
                    </Button>
                  ) : (
                    <Button variant="secondary" onPress={() => setRole(r.role)}>
                      Show only {r.role}
                    </Button>
                  ),
              },
            ]}
          />
        ) : summary.loading ? (
          <Loading what="the role summary" />
        ) : null}
        <ProblemAlert error={holders.error} />
        {holders.data ? (
          <>
            <Table
              caption={role ? `Applications holding ${role}` : 'Applications holding a role, by role'}
              rows={holders.data.items}
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
            <LoadMore more={holders.more} what="role holders" />
          </>
        ) : holders.loading ? (
          <Loading what="role holders" />
        ) : null}
      </Section>
      <Section
        title={summary.data ? `Operator roles (${summary.data.operators} accounts)` : 'Operator roles'}
      >
        <ProblemAlert error={operators.error} />
        {operators.data ? (
          <>
            <Table
              caption="Accounts with an operator role"
              rows={operators.data.items}
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
            <LoadMore more={operators.more} what="operators" />
          </>
        ) : operators.loading ? (
          <Loading what="operator accounts" />
        ) : null}
      </Section>
    </Page>
  );
}
