import { type FormEvent, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../api.ts';
import {
  Badge,
  Button,
  Field,
  Loading,
  Page,
  ProblemAlert,
  Section,
  SelectField,
  Table,
  useApiData,
} from '../ui.tsx';
import './partner.css';
import { type Application, type Catalog, type OrganisationProfile, orgPath } from './types.ts';

export function ApplicationsPage() {
  const { orgId = '' } = useParams();
  const navigate = useNavigate();
  const apps = useApiData<{ items: Application[] }>(`${orgPath(orgId)}/applications`);
  const profile = useApiData<OrganisationProfile>(orgPath(orgId));
  const catalog = useApiData<Catalog>('/partner/v1/catalog');
  const [form, setForm] = useState({
    name: '',
    environment: 'sandbox',
    auth_method: 'tls_client_auth',
    roles: [] as string[],
  });
  const [jwks, setJwks] = useState('');
  const [error, setError] = useState<unknown>();
  const canChange = profile.data && profile.data.member_role !== 'viewer';
  const approved = new Set(profile.data?.roles ?? []);

  const create = async (event: FormEvent) => {
    event.preventDefault();
    try {
      let keys: unknown;
      if (form.auth_method === 'private_key_jwt') {
        try {
          keys = JSON.parse(jwks);
        } catch {
          throw new Error('The public keys are not valid JSON (a JWKS: {"keys": [...]})');
        }
      }
      const created = await api<Application>(`${orgPath(orgId)}/applications`, {
        method: 'POST',
        body: keys === undefined ? form : { ...form, jwks: keys },
      });
      navigate(`/orgs/${orgId}/applications/${created.client_id}`);
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Page title="Applications">
      <Section title="Your applications">
        <ProblemAlert error={apps.error} />
        {apps.loading && !apps.data ? <Loading what="applications" /> : null}
        <Table
          caption="Applications"
          rows={apps.data?.items ?? []}
          rowKey={(a) => a.client_id}
          empty="No applications yet: create one below."
          columns={[
            {
              header: 'Name',
              cell: (a) => <Link to={`/orgs/${orgId}/applications/${a.client_id}`}>{a.name}</Link>,
            },
            { header: 'client_id', cell: (a) => <span className="partner-mono">{a.client_id}</span> },
            {
              header: 'Environment',
              cell: (a) => (
                <Badge tone={a.environment === 'production' ? 'good' : 'neutral'}>{a.environment}</Badge>
              ),
            },
            { header: 'Authentication', cell: (a) => a.auth_method },
            { header: 'Roles', cell: (a) => (a.roles.length ? a.roles.join(', ') : 'none yet') },
            { header: 'Status', cell: (a) => a.status },
          ]}
        />
      </Section>
      {canChange ? (
        <Section title="Create an application">
          <ProblemAlert error={error} />
          <form className="partner-form" onSubmit={create} aria-label="Create an application">
            <Field
              label="Name"
              required
              maxLength={200}
              value={form.name}
              onChange={(e) => setForm({ ...form, name: e.target.value })}
            />
            <SelectField
              label="Environment"
              value={form.environment}
              onChange={(e) => setForm({ ...form, environment: e.target.value })}
              options={[
                { value: 'sandbox', label: 'Sandbox' },
                {
                  value: 'production',
                  label: profile.data?.live_at ? 'Production' : 'Production (after go-live)',
                },
              ]}
            />
            <SelectField
              label="Authentication method"
              value={form.auth_method}
              onChange={(e) => setForm({ ...form, auth_method: e.target.value })}
              options={[
                {
                  value: 'tls_client_auth',
                  label: 'Mutual TLS with a platform certificate (tls_client_auth)',
                },
                { value: 'private_key_jwt', label: 'Signed client assertion (private_key_jwt)' },
              ]}
            />
            {form.auth_method === 'private_key_jwt' ? (
              <div className="field">
                <label htmlFor="partner-jwks">Public keys (JWKS, JSON)</label>
                <textarea
                  id="partner-jwks"
                  className="partner-csr"
                  required
                  aria-describedby="partner-jwks-hint"
                  value={jwks}
                  onChange={(e) => setJwks(e.target.value)}
                />
                <small id="partner-jwks-hint" className="muted">
                  Public keys only: the platform verifies your client assertions with them. Tokens are still
                  bound to your platform certificate.
                </small>
              </div>
            ) : null}
            <fieldset className="partner-checks">
              <legend>Roles</legend>
              {(catalog.data?.roles ?? [])
                .filter((r) => !r.deprecated)
                .map((r) => (
                  <label key={r.name}>
                    <input
                      type="checkbox"
                      name="roles"
                      value={r.name}
                      checked={form.roles.includes(r.name)}
                      onChange={(e) =>
                        setForm({
                          ...form,
                          roles: e.target.checked
                            ? [...form.roles, r.name]
                            : form.roles.filter((x) => x !== r.name),
                        })
                      }
                    />{' '}
                    {r.name} — {r.description}
                    {form.environment === 'sandbox' && approved.has(r.name)
                      ? ' (granted at once)'
                      : ' (needs approval)'}
                  </label>
                ))}
            </fieldset>
            <p className="muted">
              In the sandbox, roles approved for your organisation are granted at once; the others, and every
              production role, go to an operator for approval.
            </p>
            <div>
              <Button type="submit">Create application</Button>
            </div>
          </form>
        </Section>
      ) : null}
    </Page>
  );
}
