import { Loading, Page, ProblemAlert, Section, Table, useApiData } from '../ui.tsx';
import './partner.css';
import type { Catalog } from './types.ts';

export function CatalogPage() {
  const catalog = useApiData<Catalog>('/partner/v1/catalog');
  if (catalog.loading && !catalog.data) return <Loading what="the access catalog" />;
  const c = catalog.data;
  if (!c) return <ProblemAlert error={catalog.error} />;
  return (
    <Page title="Access catalog">
      <Section title="Endpoints">
        <dl className="partner-facts">
          <dt>Issuer</dt>
          <dd className="partner-mono">{c.issuer}</dd>
          <dt>Token endpoint (mTLS)</dt>
          <dd className="partner-mono">{c.token_endpoint}</dd>
          <dt>Gateway</dt>
          <dd className="partner-mono">{c.gateway_url}</dd>
          <dt>CA bundle</dt>
          <dd className="partner-mono">{c.ca_bundle_url}</dd>
        </dl>
      </Section>
      <Section title="Roles">
        <Table
          caption="Roles"
          rows={c.roles}
          rowKey={(r) => r.name}
          columns={[
            { header: 'Role', cell: (r) => `${r.name}${r.deprecated ? ' (deprecated)' : ''}` },
            { header: 'Description', cell: (r) => r.description },
            { header: 'Scopes', cell: (r) => r.scopes.join(' ') },
          ]}
        />
      </Section>
      <Section title="Operations">
        <Table
          caption="Operations"
          rows={c.operations}
          rowKey={(o) => `${o.method} ${o.path}`}
          columns={[
            { header: 'Method', cell: (o) => o.method },
            { header: 'Path', cell: (o) => <span className="partner-mono">{o.path}</span> },
            { header: 'Description', cell: (o) => o.description },
            {
              header: 'Needs',
              cell: (o) =>
                o.public ? 'no token' : o.scopes.map((alt) => alt.join(' + ')).join(' or ') || '—',
            },
          ]}
        />
      </Section>
      <Section title="How to request access">
        <ol>
          {c.how_to_request_access.steps.map((s) => (
            <li key={s}>{s}</li>
          ))}
        </ol>
      </Section>
    </Page>
  );
}
