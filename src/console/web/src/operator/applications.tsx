import { useState } from 'react';
import { useParams } from 'react-router';
import { api } from '../api.ts';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
import {
  Button,
  formatDate,
  Loading,
  Page,
  ProblemAlert,
  Section,
  SelectField,
  Table,
  useApiData,
} from '../ui.tsx';
import { RevokeCertificateForm } from './certificates.tsx';
import {
  type Application,
  appLink,
  type Certificate,
  EnvironmentBadge,
  Facts,
  type Items,
  type OrganisationSummary,
  orgLink,
  ReadOnlyNote,
  type RoleGrant,
  type RoleRequest,
  StatusBadge,
  SuspendForm,
  useAction,
  useCanChange,
} from './common.tsx';

export function ApplicationsPage() {
  const orgs = useApiData<Items<OrganisationSummary>>('/admin/v1/organisations', {
    query: { limit: '1000' },
  });
  const [orgId, setOrgId] = useState('');
  const [status, setStatus] = useState('');
  const [environment, setEnvironment] = useState('');
  // Issue 16: filtered by the API, a page at a time.
  const list = usePagedList<Application>('/admin/v1/applications', {
    query: { org_id: orgId, status, environment },
  });
  const names = new Map((orgs.data?.items ?? []).map((o) => [o.id, o.name]));
  // The environment (sandbox / production) shows once the directory's application view carries it.
  const hasEnvironment = (list.data?.items ?? []).some((a) => a.environment !== undefined);
  const rows = (list.data?.items ?? []).filter(
    (a) => (!status || a.status === status) && (!environment || a.environment === environment),
  );
  return (
    <Page title="Applications">
      <ReadOnlyNote />
      <Section title="All applications">
        <div className="op-filters">
          <SelectField
            label="Organisation"
            options={[
              { value: '', label: 'Any organisation' },
              ...(orgs.data?.items ?? []).map((o) => ({ value: o.id, label: o.name })),
            ]}
            value={orgId}
            onChange={(e) => setOrgId(e.target.value)}
          />
          <SelectField
            label="Status"
            options={[
              { value: '', label: 'Any status' },
              { value: 'active', label: 'Active' },
              { value: 'suspended', label: 'Suspended' },
            ]}
            value={status}
            onChange={(e) => setStatus(e.target.value)}
          />
          {hasEnvironment ? (
            <SelectField
              label="Environment"
              options={[
                { value: '', label: 'Any environment' },
                { value: 'production', label: 'Production' },
                { value: 'sandbox', label: 'Sandbox' },
              ]}
              value={environment}
              onChange={(e) => setEnvironment(e.target.value)}
            />
          ) : null}
        </div>
        <ProblemAlert error={list.error} />
        {list.data ? (
          <Table
            caption="Applications"
            rows={rows}
            rowKey={(a) => a.client_id}
            empty="No application matches."
            columns={[
              { header: 'Name', cell: (a) => appLink(a.client_id, a.name) },
              { header: 'Organisation', cell: (a) => orgLink(a.org_id, names.get(a.org_id)) },
              { header: 'Environment', cell: (a) => <EnvironmentBadge environment={a.environment} /> },
              { header: 'Status', cell: (a) => <StatusBadge status={a.status} /> },
              { header: 'Roles', cell: (a) => a.roles.join(', ') || '—' },
              { header: 'Registered by', cell: (a) => a.registration_type },
              { header: 'Created', cell: (a) => formatDate(a.created_at) },
            ]}
          />
        ) : list.loading ? (
          <Loading what="applications" />
        ) : null}
        <LoadMore more={list.more} what="applications" />
      </Section>
    </Page>
  );
}

function ApplicationStatusForm({ app, onDone }: { app: Application; onDone: () => void }) {
  if (!useCanChange() || (app.status !== 'active' && app.status !== 'suspended')) return null;
  const verb = app.status === 'active' ? 'suspend' : 'activate';
  return (
    <SuspendForm
      path={`/admin/v1/applications/${encodeURIComponent(app.client_id)}`}
      verb={verb}
      noun="application"
      ariaLabel={verb === 'suspend' ? 'Suspend the application' : 'Re-activate the application'}
      onDone={onDone}
    />
  );
}

function RoleGrants({ app, onDone }: { app: Application; onDone: () => void }) {
  const canChange = useCanChange();
  const path = `/admin/v1/applications/${encodeURIComponent(app.client_id)}/roles`;
  const grants = useApiData<Items<RoleGrant>>(path);
  const action = useAction();
  return (
    <Section title="Roles">
      <ProblemAlert error={grants.error} />
      <Table
        caption="Role grants of the application"
        rows={grants.data?.items ?? []}
        rowKey={(g) => g.role}
        empty="No role granted."
        columns={[
          { header: 'Role', cell: (g) => g.role },
          {
            header: 'Until',
            cell: (g) =>
              g.expires_at ? (
                <>
                  {formatDate(g.expires_at)} {g.expired ? <StatusBadge status="expired" /> : null}
                </>
              ) : (
                'no end date'
              ),
          },
          ...(canChange
            ? [
                {
                  header: 'Actions',
                  cell: (g: RoleGrant) => (
                    <Button
                      variant="secondary"
                      aria-label={`Take away role ${g.role}`}
                      isDisabled={action.busy}
                      onPress={async () => {
                        const ok = await action.run(() =>
                          api(`${path}/${encodeURIComponent(g.role)}`, { method: 'DELETE' }),
                        );
                        if (ok) {
                          await grants.reload();
                          onDone();
                        }
                      }}
                    >
                      Take away
                    </Button>
                  ),
                },
              ]
            : []),
        ]}
      />
      {action.feedback}
      {app.scopes ? (
        <p>
          <strong>Scopes of its next token:</strong> {app.scopes.join(' ') || 'none'}
        </p>
      ) : null}
    </Section>
  );
}

export function ApplicationDetailPage() {
  const { clientId = '' } = useParams();
  const path = `/admin/v1/applications/${encodeURIComponent(clientId)}`;
  const app = useApiData<Application>(path);
  const certs = useApiData<Items<Certificate>>('/admin/v1/certificates', { query: { client_id: clientId } });
  const requests = useApiData<Items<RoleRequest>>('/admin/v1/role-requests', {
    query: { client_id: clientId },
  });
  const [revoking, setRevoking] = useState<string | undefined>(undefined);
  const canChange = useCanChange();
  const a = app.data;
  const org = useApiData<OrganisationSummary>(a ? `/admin/v1/organisations/${a.org_id}` : undefined);
  return (
    <Page title={a ? a.name : 'Application'}>
      <ReadOnlyNote />
      <ProblemAlert error={app.error} />
      {!a && app.loading ? <Loading what="the application" /> : null}
      {a ? (
        <>
          <div className="grid-2">
            <Section title="Application">
              <Facts
                rows={[
                  [
                    'Client ID',
                    <span key="c" className="op-mono">
                      {a.client_id}
                    </span>,
                  ],
                  ['Organisation', orgLink(a.org_id, org.data?.name)],
                  ['Status', <StatusBadge key="s" status={a.status} />],
                  ['Environment', <EnvironmentBadge key="e" environment={a.environment} />],
                  ['Authentication', a.auth_method],
                  ['Registered by', a.registration_type],
                  ['Created', formatDate(a.created_at)],
                ]}
              />
              <ApplicationStatusForm app={a} onDone={() => void app.reload()} />
            </Section>
            <RoleGrants app={a} onDone={() => void app.reload()} />
          </div>
          <Section title="Certificates">
            <ProblemAlert error={certs.error} />
            <Table
              caption="Certificates of the application"
              rows={certs.data?.items ?? []}
              rowKey={(c) => c.serial}
              empty="No certificate issued."
              columns={[
                { header: 'Serial', cell: (c) => <span className="op-mono">{c.serial}</span> },
                { header: 'Status', cell: (c) => <StatusBadge status={c.status} /> },
                { header: 'Valid from', cell: (c) => formatDate(c.not_before) },
                { header: 'Ends', cell: (c) => formatDate(c.not_after) },
                { header: 'Revocation reason', cell: (c) => c.revocation_reason ?? '—' },
                ...(canChange
                  ? [
                      {
                        header: 'Actions',
                        cell: (c: Certificate) =>
                          c.status === 'active' ? (
                            <Button
                              variant="secondary"
                              aria-label={`Revoke certificate ${c.serial}`}
                              onPress={() => setRevoking(c.serial)}
                            >
                              Revoke…
                            </Button>
                          ) : null,
                      },
                    ]
                  : []),
              ]}
            />
            {revoking ? (
              <RevokeCertificateForm
                serial={revoking}
                onCancel={() => setRevoking(undefined)}
                onDone={() => {
                  setRevoking(undefined);
                  void certs.reload();
                }}
              />
            ) : null}
          </Section>
          <Section title="Role requests">
            <Table
              caption="Role requests of the application"
              rows={requests.data?.items ?? []}
              rowKey={(r) => r.id}
              empty="No role request."
              columns={[
                { header: 'Role', cell: (r) => r.role },
                { header: 'Status', cell: (r) => <StatusBadge status={r.status} /> },
                { header: 'Requested', cell: (r) => formatDate(r.requested_at) },
                { header: 'Decided', cell: (r) => formatDate(r.decided_at) },
                { header: 'Reason', cell: (r) => r.reason ?? '—' },
              ]}
            />
          </Section>
          {a.metadata && Object.keys(a.metadata).length > 0 ? (
            <Section title="Client metadata">
              <pre className="op-json">{JSON.stringify(a.metadata, null, 2)}</pre>
            </Section>
          ) : null}
        </>
      ) : null}
    </Page>
  );
}
