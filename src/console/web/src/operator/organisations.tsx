import { useState } from 'react';
import { useParams } from 'react-router';
import { api } from '../api.ts';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
import {
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
import {
  type Application,
  appLink,
  EnvironmentBadge,
  Facts,
  type Items,
  type Organisation,
  type OrganisationSummary,
  orgLink,
  ReadOnlyNote,
  type RoleRequest,
  StatusBadge,
  SuspendForm,
  useAction,
  useCanChange,
} from './common.tsx';

const STATUS_FILTER = [
  { value: '', label: 'Any status' },
  { value: 'active', label: 'Active' },
  { value: 'suspended', label: 'Suspended' },
  { value: 'offboarded', label: 'Offboarded' },
];

/** Suspend / re-activate, with a reason for the audit log. */
function StatusActions({ org, onDone }: { org: OrganisationSummary; onDone: () => void }) {
  if (!useCanChange() || org.status === 'offboarded') return null;
  const verb = org.status === 'active' ? 'suspend' : 'activate';
  return (
    <SuspendForm
      path={`/admin/v1/organisations/${org.id}`}
      verb={verb}
      noun="organisation"
      ariaLabel={`${verb === 'suspend' ? 'Suspend' : 'Re-activate'} ${org.name}`}
      onDone={onDone}
    />
  );
}

export function OrganisationsPage() {
  const [status, setStatus] = useState('');
  const list = usePagedList<OrganisationSummary>('/admin/v1/organisations', { query: { status } });
  const canChange = useCanChange();
  const [name, setName] = useState('');
  const create = useAction();
  return (
    <Page title="Organisations">
      <ReadOnlyNote />
      {canChange ? (
        <Section title="Create an organisation">
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              const ok = await create.run(
                () => api('/admin/v1/organisations', { method: 'POST', body: { name: name.trim() } }),
                `Organisation ${name.trim()} created.`,
              );
              if (ok) {
                setName('');
                await list.reload();
              }
            }}
          >
            <Field
              label="Name"
              required
              maxLength={64}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
            <div className="actions">
              <Button type="submit" isDisabled={create.busy || !name.trim()}>
                Create organisation
              </Button>
            </div>
            {create.feedback}
          </form>
        </Section>
      ) : null}
      <Section title="All organisations">
        <div className="op-filters">
          <SelectField
            label="Status"
            options={STATUS_FILTER}
            value={status}
            onChange={(e) => setStatus(e.target.value)}
          />
        </div>
        <ProblemAlert error={list.error} />
        {list.data ? (
          <Table
            caption="Organisations"
            rows={list.data.items}
            rowKey={(o) => o.id}
            empty="No organisation matches."
            columns={[
              { header: 'Name', cell: (o) => orgLink(o.id, o.name) },
              { header: 'Status', cell: (o) => <StatusBadge status={o.status} /> },
              { header: 'Created', cell: (o) => formatDate(o.created_at) },
              { header: 'Updated', cell: (o) => formatDate(o.updated_at) },
            ]}
          />
        ) : list.loading ? (
          <Loading what="organisations" />
        ) : null}
        <LoadMore more={list.more} what="organisations" />
      </Section>
    </Page>
  );
}

interface RoleView {
  name: string;
  description?: string;
  status?: string;
}

function RolesSection({ org, onDone }: { org: Organisation; onDone: () => void }) {
  const canChange = useCanChange();
  const roles = useApiData<Items<RoleView>>('/admin/v1/roles');
  const [role, setRole] = useState('');
  const action = useAction();
  const available = (roles.data?.items ?? []).filter(
    (r) => !org.roles.includes(r.name) && r.status !== 'deprecated',
  );
  return (
    <Section title="Approved roles">
      <p className="muted">The roles this organisation's applications may be granted.</p>
      <Table
        caption="Roles approved for the organisation"
        rows={org.roles}
        rowKey={(r) => r}
        empty="No role approved yet."
        columns={[
          { header: 'Role', cell: (r) => r },
          ...(canChange
            ? [
                {
                  header: 'Actions',
                  cell: (r: string) => (
                    <Button
                      variant="secondary"
                      aria-label={`Withdraw role ${r}`}
                      isDisabled={action.busy}
                      onPress={async () => {
                        if (
                          await action.run(() =>
                            api(`/admin/v1/organisations/${org.id}/roles/${encodeURIComponent(r)}`, {
                              method: 'DELETE',
                            }),
                          )
                        )
                          onDone();
                      }}
                    >
                      Withdraw
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
      {canChange && available.length > 0 ? (
        <form
          className="op-inline-form"
          aria-label="Approve a role for the organisation"
          onSubmit={async (e) => {
            e.preventDefault();
            const chosen = role || available[0]?.name;
            if (!chosen) return;
            const ok = await action.run(() =>
              api(`/admin/v1/organisations/${org.id}/roles`, { method: 'POST', body: { role: chosen } }),
            );
            if (ok) {
              setRole('');
              onDone();
            }
          }}
        >
          <SelectField
            label="Role to approve"
            options={available.map((r) => ({ value: r.name, label: r.name }))}
            value={role || available[0]?.name}
            onChange={(e) => setRole(e.target.value)}
          />
          <div className="actions">
            <Button type="submit" isDisabled={action.busy}>
              Approve role
            </Button>
          </div>
        </form>
      ) : null}
      {action.feedback}
    </Section>
  );
}

interface LiveStatus {
  live: boolean;
  live_at: string | null;
}

export function OrganisationDetailPage() {
  const { orgId = '' } = useParams();
  const org = useApiData<Organisation>(`/admin/v1/organisations/${orgId}`);
  const live = useApiData<LiveStatus>(`/admin/v1/organisations/${orgId}/live-status`);
  const apps = useApiData<Items<Application>>('/admin/v1/applications', { query: { org_id: orgId } });
  const requests = useApiData<Items<RoleRequest>>('/admin/v1/role-requests', {
    query: { org_id: orgId, status: 'pending' },
  });
  const o = org.data;
  const liveAt = live.data?.live_at ?? o?.live_at ?? null;
  return (
    <Page title={o ? o.name : 'Organisation'}>
      <ReadOnlyNote />
      <ProblemAlert error={org.error} />
      {!o && org.loading ? <Loading what="the organisation" /> : null}
      {o ? (
        <>
          <div className="grid-2">
            <Section title="Status">
              <Facts
                rows={[
                  ['Status', <StatusBadge key="s" status={o.status} />],
                  [
                    'Live',
                    liveAt ? (
                      `in production since ${formatDate(liveAt)}`
                    ) : (
                      <span key="l">sandbox only (go-live gate not passed)</span>
                    ),
                  ],
                  [
                    'Identifier',
                    <span key="i" className="op-mono">
                      {o.id}
                    </span>,
                  ],
                  ['Created', formatDate(o.created_at)],
                  ['Updated', formatDate(o.updated_at)],
                ]}
              />
              <StatusActions
                org={o}
                onDone={() => {
                  void org.reload();
                  void apps.reload();
                }}
              />
            </Section>
            <RolesSection org={o} onDone={() => void org.reload()} />
          </div>
          <Section title="Applications">
            <ProblemAlert error={apps.error} />
            <Table
              caption="Applications of the organisation"
              rows={apps.data?.items ?? []}
              rowKey={(a) => a.client_id}
              empty="No application yet."
              columns={[
                { header: 'Name', cell: (a) => appLink(a.client_id, a.name) },
                { header: 'Environment', cell: (a) => <EnvironmentBadge environment={a.environment} /> },
                { header: 'Status', cell: (a) => <StatusBadge status={a.status} /> },
                { header: 'Roles', cell: (a) => a.roles.join(', ') || '—' },
                { header: 'Registered by', cell: (a) => a.registration_type },
              ]}
            />
          </Section>
          <Section title="Pending role requests">
            <Table
              caption="Role requests of the organisation waiting for a decision"
              rows={requests.data?.items ?? []}
              rowKey={(r) => r.id}
              empty="No role request is waiting."
              columns={[
                { header: 'Application', cell: (r) => appLink(r.client_id, r.application_name) },
                { header: 'Role', cell: (r) => r.role },
                { header: 'Requested', cell: (r) => formatDate(r.requested_at) },
              ]}
            />
          </Section>
          <Section title="Contacts">
            <Table
              caption="Contacts of the organisation"
              rows={o.contacts}
              rowKey={(c) => c.id}
              empty="No contact recorded."
              columns={[
                { header: 'Kind', cell: (c) => c.kind },
                { header: 'Name', cell: (c) => c.name },
                { header: 'Email', cell: (c) => c.email },
                { header: 'Phone', cell: (c) => c.phone ?? '—' },
              ]}
            />
          </Section>
        </>
      ) : null}
    </Page>
  );
}
