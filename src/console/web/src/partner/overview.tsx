import { type FormEvent, useState } from 'react';
import { useParams } from 'react-router';
import { api } from '../api.ts';
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
  SelectField,
  Table,
  useApiData,
} from '../ui.tsx';
import './partner.css';
import { type OrganisationProfile, orgPath, type RoleRequest } from './types.ts';

const KINDS = ['business', 'technical', 'security', 'billing'];

export function requestTone(status: RoleRequest['status']) {
  return status === 'approved'
    ? 'good'
    : status === 'rejected'
      ? 'bad'
      : status === 'pending'
        ? 'warn'
        : 'neutral';
}

export function RoleRequestsTable({
  requests,
  canChange,
  onChanged,
}: {
  requests: RoleRequest[];
  canChange: boolean;
  onChanged: () => void;
}) {
  const { orgId = '' } = useParams();
  const [error, setError] = useState<unknown>();
  return (
    <>
      <ProblemAlert error={error} />
      <Table
        caption="Role requests"
        rows={requests}
        rowKey={(r) => r.id}
        empty="No role requests."
        columns={[
          { header: 'Application', cell: (r) => r.application_name },
          { header: 'Role', cell: (r) => r.role },
          { header: 'Status', cell: (r) => <Badge tone={requestTone(r.status)}>{r.status}</Badge> },
          { header: 'Requested', cell: (r) => formatDate(r.requested_at) },
          { header: 'Operator’s reason', cell: (r) => r.reason ?? '—' },
          {
            header: 'Actions',
            cell: (r) =>
              canChange && r.status === 'pending' ? (
                <Button
                  variant="secondary"
                  aria-label={`Withdraw the request for ${r.role} (${r.application_name})`}
                  onPress={async () => {
                    try {
                      await api(`${orgPath(orgId)}/role-requests/${r.id}`, { method: 'DELETE' });
                      onChanged();
                    } catch (err) {
                      setError(err);
                    }
                  }}
                >
                  Withdraw
                </Button>
              ) : (
                '—'
              ),
          },
        ]}
      />
    </>
  );
}

export function OverviewPage() {
  const { orgId = '' } = useParams();
  const profile = useApiData<OrganisationProfile>(orgPath(orgId));
  const requests = usePagedList<RoleRequest>(`${orgPath(orgId)}/role-requests`);
  const [error, setError] = useState<unknown>();
  const [contact, setContact] = useState({ kind: 'technical', name: '', email: '', phone: '' });
  if (profile.loading && !profile.data) return <Loading what="the organisation" />;
  const org = profile.data;
  if (!org) return <ProblemAlert error={profile.error} />;
  const isAdmin = org.member_role === 'org_admin';
  const canChange = org.member_role !== 'viewer';

  const addContact = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api(`${orgPath(orgId)}/contacts`, {
        method: 'POST',
        body: {
          kind: contact.kind,
          name: contact.name,
          email: contact.email,
          ...(contact.phone ? { phone: contact.phone } : {}),
        },
      });
      setContact({ kind: contact.kind, name: '', email: '', phone: '' });
      setError(undefined);
      await profile.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Page title={org.name}>
      <Section title="Profile">
        <dl className="partner-facts">
          <dt>Status</dt>
          <dd>
            <Badge tone={org.status === 'active' ? 'good' : 'bad'}>{org.status}</Badge>
          </dd>
          <dt>Production</dt>
          <dd>
            {org.live_at ? (
              <>Live since {formatDate(org.live_at)}</>
            ) : (
              <>Sandbox only: pass the test plan against the sandbox to go live</>
            )}
          </dd>
          <dt>Approved roles</dt>
          <dd>{org.roles.length ? org.roles.join(', ') : 'none yet'}</dd>
          <dt>Created</dt>
          <dd>{formatDate(org.created_at)}</dd>
          <dt>Your role</dt>
          <dd>{org.member_role}</dd>
        </dl>
        <p className="muted">
          The organisation’s name is in its certificates’ subject: ask the operator to change it.
        </p>
      </Section>
      <Section title="Contacts">
        <ProblemAlert error={error} />
        <Table
          caption="Contacts"
          rows={org.contacts}
          rowKey={(c) => c.id}
          empty="No contacts yet."
          columns={[
            { header: 'Kind', cell: (c) => c.kind },
            { header: 'Name', cell: (c) => c.name },
            { header: 'E-mail', cell: (c) => c.email },
            { header: 'Phone', cell: (c) => c.phone ?? '—' },
            {
              header: 'Actions',
              cell: (c) =>
                isAdmin ? (
                  <Button
                    variant="danger"
                    aria-label={`Remove contact ${c.name}`}
                    onPress={async () => {
                      try {
                        await api(`${orgPath(orgId)}/contacts/${c.id}`, { method: 'DELETE' });
                        await profile.reload();
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  >
                    Remove
                  </Button>
                ) : (
                  '—'
                ),
            },
          ]}
        />
        {isAdmin ? (
          <form className="partner-form" onSubmit={addContact} aria-labelledby="add-contact">
            <h3 id="add-contact">Add a contact</h3>
            <SelectField
              label="Kind"
              value={contact.kind}
              onChange={(e) => setContact({ ...contact, kind: e.target.value })}
              options={KINDS.map((k) => ({ value: k, label: k }))}
            />
            <Field
              label="Name"
              required
              value={contact.name}
              onChange={(e) => setContact({ ...contact, name: e.target.value })}
            />
            <Field
              label="E-mail"
              type="email"
              required
              value={contact.email}
              onChange={(e) => setContact({ ...contact, email: e.target.value })}
            />
            <Field
              label="Phone (optional)"
              value={contact.phone}
              onChange={(e) => setContact({ ...contact, phone: e.target.value })}
            />
            <div>
              <Button type="submit">Add contact</Button>
            </div>
          </form>
        ) : null}
      </Section>
      <Section title="Role requests">
        <ProblemAlert error={requests.error} />
        <RoleRequestsTable
          requests={requests.data?.items ?? []}
          canChange={canChange}
          onChanged={() => void requests.reload()}
        />
        <LoadMore more={requests.more} what="role requests" />
      </Section>
    </Page>
  );
}
