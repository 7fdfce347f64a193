import { type FormEvent, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, apiText } from '../api.ts';
import {
  Badge,
  Button,
  download,
  formatDate,
  Loading,
  Page,
  ProblemAlert,
  Section,
  SelectField,
  Table,
  useApiData,
} from '../ui.tsx';
import { EditApplicationForm } from './edit-application.tsx';
import { CertificateRequestPanel } from './key-panel.tsx';
import { RoleRequestsTable } from './overview.tsx';
import './partner.css';
import {
  type Application,
  type Catalog,
  type Certificate,
  type OrganisationProfile,
  orgPath,
} from './types.ts';

export function ApplicationDetailPage() {
  const { orgId = '', clientId = '' } = useParams();
  const navigate = useNavigate();
  const base = `${orgPath(orgId)}/applications/${encodeURIComponent(clientId)}`;
  const app = useApiData<Application>(base);
  const certs = useApiData<{ items: Certificate[] }>(`${base}/certificates`);
  const profile = useApiData<OrganisationProfile>(orgPath(orgId));
  const catalog = useApiData<Catalog>('/partner/v1/catalog');
  const [renewing, setRenewing] = useState<string | undefined>();
  const [role, setRole] = useState('');
  const [error, setError] = useState<unknown>();
  if (app.loading && !app.data) return <Loading what="the application" />;
  const application = app.data;
  if (!application) return <ProblemAlert error={app.error} />;
  const canChange = profile.data !== undefined && profile.data.member_role !== 'viewer';
  const refresh = () => {
    void app.reload();
    void certs.reload();
  };
  const requestable = (catalog.data?.roles ?? [])
    .filter((r) => !r.deprecated && !application.roles.includes(r.name))
    .map((r) => ({ value: r.name, label: r.name }));

  const askRole = async (event: FormEvent) => {
    event.preventDefault();
    try {
      await api(`${base}/role-requests`, { method: 'POST', body: { role: role || requestable[0]?.value } });
      setError(undefined);
      refresh();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Page
      title={application.name}
      actions={
        <Link className="button button-secondary" to={`/orgs/${orgId}/applications/${clientId}/playbook`}>
          Playbook
        </Link>
      }
    >
      <ProblemAlert error={error} />
      <Section title="Application">
        <dl className="partner-facts">
          <dt>client_id</dt>
          <dd className="partner-mono">{application.client_id}</dd>
          <dt>Environment</dt>
          <dd>{application.environment}</dd>
          <dt>Authentication</dt>
          <dd>{application.auth_method}</dd>
          <dt>Roles</dt>
          <dd>{application.roles.length ? application.roles.join(', ') : 'none yet'}</dd>
          <dt>Scopes</dt>
          <dd>{application.scopes?.length ? application.scopes.join(' ') : '—'}</dd>
          <dt>Status</dt>
          <dd>{application.status}</dd>
        </dl>
        {canChange ? (
          <Button
            variant="danger"
            onPress={async () => {
              if (!window.confirm(`Delete ${application.name}? Its certificates are revoked.`)) return;
              try {
                await api(base, { method: 'DELETE' });
                navigate(`/orgs/${orgId}/applications`);
              } catch (err) {
                setError(err);
              }
            }}
          >
            Delete application
          </Button>
        ) : null}
      </Section>
      {canChange ? (
        <Section title="Settings">
          <EditApplicationForm key={application.client_id} application={application} onSaved={refresh} />
        </Section>
      ) : null}
      <Section title="Certificates">
        <ProblemAlert error={certs.error} />
        <Table
          caption="Certificates"
          rows={certs.data?.items ?? []}
          rowKey={(c) => c.serial}
          empty="No certificate yet."
          columns={[
            { header: 'Serial', cell: (c) => <span className="partner-mono">{c.serial}</span> },
            {
              header: 'Status',
              cell: (c) => (
                <Badge tone={c.status === 'active' ? 'good' : 'bad'}>
                  {c.status}
                  {c.revocation_reason ? ` (${c.revocation_reason})` : ''}
                </Badge>
              ),
            },
            { header: 'Valid until', cell: (c) => formatDate(c.not_after) },
            { header: 'Renewed by', cell: (c) => c.superseded_by ?? '—' },
            {
              header: 'Actions',
              cell: (c) => (
                <div className="partner-actions">
                  <Button
                    variant="secondary"
                    aria-label={`Download certificate ${c.serial} with the CA bundle`}
                    onPress={async () => {
                      try {
                        download(
                          `${c.serial}.pem`,
                          await apiText(`${orgPath(orgId)}/certificates/${c.serial}/pem`),
                        );
                      } catch (err) {
                        setError(err);
                      }
                    }}
                  >
                    Download
                  </Button>
                  {canChange && c.status === 'active' ? (
                    <>
                      <Button
                        variant="secondary"
                        aria-label={`Renew certificate ${c.serial}`}
                        onPress={() => setRenewing(c.serial)}
                      >
                        Renew
                      </Button>
                      <Button
                        variant="danger"
                        aria-label={`Revoke certificate ${c.serial}`}
                        onPress={async () => {
                          if (!window.confirm(`Revoke certificate ${c.serial}?`)) return;
                          try {
                            await api(`${orgPath(orgId)}/certificates/${c.serial}/revoke`, {
                              method: 'POST',
                              body: { reason: 'cessationOfOperation' },
                            });
                            refresh();
                          } catch (err) {
                            setError(err);
                          }
                        }}
                      >
                        Revoke
                      </Button>
                    </>
                  ) : null}
                </div>
              ),
            },
          ]}
        />
      </Section>
      {canChange && renewing ? (
        <Section title={`Renew certificate ${renewing}`}>
          <p className="muted">
            The new certificate overlaps the current one, which is revoked as superseded once the new one is
            in use (or after the grace period).
          </p>
          <CertificateRequestPanel
            key={`renew-${renewing}`}
            clientId={clientId}
            submitLabel="Renew certificate"
            submit={async (csr) => {
              const cert = await api<Certificate>(`${orgPath(orgId)}/certificates/${renewing}/renew`, {
                method: 'POST',
                body: { csr },
              });
              void certs.reload();
              return cert;
            }}
          />
        </Section>
      ) : null}
      {canChange ? (
        <Section title="Get a certificate">
          <CertificateRequestPanel
            clientId={clientId}
            submitLabel="Request certificate"
            submit={async (csr) => {
              const cert = await api<Certificate>(`${base}/certificates`, { method: 'POST', body: { csr } });
              void certs.reload();
              return cert;
            }}
          />
        </Section>
      ) : null}
      <Section title="Role requests">
        <RoleRequestsTable
          requests={application.role_requests ?? []}
          canChange={canChange}
          onChanged={refresh}
        />
        {canChange && requestable.length > 0 ? (
          <form className="partner-form" onSubmit={askRole} aria-label="Request a role">
            <SelectField
              label="Role to request"
              value={role || requestable[0]?.value}
              onChange={(e) => setRole(e.target.value)}
              options={requestable}
            />
            <div>
              <Button type="submit">Request role</Button>
            </div>
          </form>
        ) : null}
      </Section>
    </Page>
  );
}
