import { useState } from 'react';
import { formatDate, Loading, Page, ProblemAlert, Section, SelectField, useApiData } from '../ui.tsx';
import { appLink, EnvironmentBadge, Facts, type Items, orgLink, StatusBadge } from './common.tsx';

interface Registration {
  client_id: string;
  type: 'dynamic' | 'federation';
  org_id: string;
  org_name: string | null;
  application_name: string | null;
  application_status: string | null;
  environment: string | null;
  status: string;
  ended_reason: string | null;
  created_at: string;
  refreshed_at: string | null;
  expires_at: string | null;
  software_statement: {
    software_id: string | null;
    jti: string | null;
    initial_access_token_id: string | null;
  } | null;
  trust_chain: {
    kind: string;
    entity_ids: string[];
    trust_anchor: string;
    authority_hint: string;
    via_subordinate: string;
    trust_mark_types: string[];
  } | null;
  metadata_policy: Record<string, unknown> | null;
  metadata: Record<string, unknown> | null;
}

function Json({ value }: { value: unknown }) {
  return <pre className="op-json">{JSON.stringify(value, null, 2)}</pre>;
}

function RegistrationCard({ r }: { r: Registration }) {
  const title = `${r.application_name ?? r.client_id} (${r.type === 'dynamic' ? 'DCR' : 'federation'})`;
  return (
    <Section title={title}>
      <Facts
        rows={[
          [
            'Client ID',
            <span key="c" className="op-mono">
              {appLink(r.client_id, r.client_id)}
            </span>,
          ],
          ['Organisation', orgLink(r.org_id, r.org_name)],
          [
            'Status',
            <>
              <StatusBadge status={r.status} />
              {r.ended_reason ? <span className="muted"> {r.ended_reason}</span> : null}
            </>,
          ],
          ['Environment', <EnvironmentBadge key="e" environment={r.environment ?? undefined} />],
          ['Registered', formatDate(r.created_at)],
          [r.type === 'dynamic' ? 'Token rotated' : 'Chain resolved', formatDate(r.refreshed_at)],
          ...(r.expires_at
            ? ([['Ends unless resolved again', formatDate(r.expires_at)]] as Array<[string, string]>)
            : []),
        ]}
      />
      {r.software_statement ? (
        <>
          <h3 className="op-subheading">Registered with</h3>
          <Facts
            rows={[
              ['Software statement', r.software_statement.jti ?? 'none'],
              ['Software (application)', r.software_statement.software_id ?? '—'],
              ['Initial access token', r.software_statement.initial_access_token_id ?? 'none'],
            ]}
          />
        </>
      ) : null}
      {r.trust_chain ? (
        <>
          <h3 className="op-subheading">Trust chain ({r.trust_chain.kind} registration)</h3>
          <ol className="op-chain">
            {r.trust_chain.entity_ids.map((id) => (
              <li key={id} className="op-mono">
                {id}
              </li>
            ))}
          </ol>
          <p>
            Trust Marks the roles came from:{' '}
            {r.trust_chain.trust_mark_types.length ? r.trust_chain.trust_mark_types.join(', ') : 'none'}
          </p>
          <h3 className="op-subheading">Metadata policy applied</h3>
          {r.metadata_policy ? (
            <Json value={r.metadata_policy} />
          ) : (
            <p className="muted">The subordinate statement sets no metadata policy.</p>
          )}
        </>
      ) : null}
      <details>
        <summary>Resulting client metadata</summary>
        <Json value={r.metadata ?? {}} />
      </details>
    </Section>
  );
}

export function RegistrationsPage() {
  const [type, setType] = useState('');
  const list = useApiData<Items<Registration>>('/admin/v1/registrations', { query: { type } });
  return (
    <Page title="Registrations">
      <p>
        Clients that registered themselves: dynamic client registration (RFC 7591) with a software statement
        or an initial access token, and OpenID Federation registrations with the trust chain they rest on.
      </p>
      <div className="op-filters">
        <SelectField
          label="Type"
          options={[
            { value: '', label: 'All registrations' },
            { value: 'dynamic', label: 'Dynamic (DCR)' },
            { value: 'federation', label: 'Federation' },
          ]}
          value={type}
          onChange={(e) => setType(e.target.value)}
        />
      </div>
      <ProblemAlert error={list.error} />
      {list.data ? (
        list.data.items.length === 0 ? (
          <p className="muted">No registration.</p>
        ) : (
          list.data.items.map((r) => <RegistrationCard key={`${r.type}:${r.client_id}`} r={r} />)
        )
      ) : list.loading ? (
        <Loading what="registrations" />
      ) : null}
    </Page>
  );
}
