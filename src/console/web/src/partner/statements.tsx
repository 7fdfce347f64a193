import { type FormEvent, useState } from 'react';
import { useParams } from 'react-router';
import { api } from '../api.ts';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
import {
  Button,
  CopyBlock,
  formatDate,
  Page,
  ProblemAlert,
  Section,
  SelectField,
  Table,
  useApiData,
} from '../ui.tsx';
import './partner.css';
import { type Application, type OrganisationProfile, orgPath, type SoftwareStatement } from './types.ts';

export function SoftwareStatementsPage() {
  const { orgId = '' } = useParams();
  const [status, setStatus] = useState('');
  const [app, setApp] = useState('');
  const list = usePagedList<SoftwareStatement>(`${orgPath(orgId)}/software-statements`, {
    query: { status, software_id: app },
  });
  const apps = useApiData<{ items: Application[] }>(`${orgPath(orgId)}/applications`, {
    query: { environment: 'production' },
  });
  const profile = useApiData<OrganisationProfile>(orgPath(orgId));
  const [softwareId, setSoftwareId] = useState('');
  const [issued, setIssued] = useState<string | undefined>();
  const [error, setError] = useState<unknown>();
  const production = apps.data?.items ?? [];
  const canChange = profile.data !== undefined && profile.data.member_role !== 'viewer';

  const issue = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const answer = await api<{ software_statement: string }>(`${orgPath(orgId)}/software-statements`, {
        method: 'POST',
        body: { software_id: softwareId || production[0]?.client_id },
      });
      setIssued(answer.software_statement);
      setError(undefined);
      await list.reload();
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Page title="Software statements">
      <p>
        A software statement (RFC 7591) lets your software register its clients dynamically. It describes one
        of your production applications; a client registers with it once.
      </p>
      <Section title="Issued statements">
        <div className="partner-form">
          <SelectField
            label="Statement status"
            value={status}
            onChange={(e) => setStatus(e.target.value)}
            options={[
              { value: '', label: 'Any status' },
              { value: 'issued', label: 'Issued' },
              { value: 'used', label: 'Used' },
              { value: 'expired', label: 'Expired unused' },
              { value: 'revoked', label: 'Revoked' },
            ]}
          />
          <SelectField
            label="Statement application"
            value={app}
            onChange={(e) => setApp(e.target.value)}
            options={[
              { value: '', label: 'Any application' },
              ...production.map((a) => ({ value: a.client_id, label: a.name })),
            ]}
          />
        </div>
        <ProblemAlert error={list.error} />
        <Table
          caption="Software statements"
          rows={list.data?.items ?? []}
          rowKey={(s) => s.jti}
          empty="No software statements yet."
          columns={[
            { header: 'ID (jti)', cell: (s) => <span className="partner-mono">{s.jti}</span> },
            {
              header: 'Software (client_id)',
              cell: (s) => <span className="partner-mono">{s.software_id}</span>,
            },
            { header: 'Status', cell: (s) => s.status },
            { header: 'Expires', cell: (s) => formatDate(s.expires_at) },
            { header: 'Registered client', cell: (s) => s.used_by_client_id ?? '—' },
          ]}
        />
        <LoadMore more={list.more} what="statements" />
      </Section>
      {canChange ? (
        <Section title="Issue a statement">
          <ProblemAlert error={error} />
          {production.length === 0 ? (
            <p className="muted">
              Software statements are for production applications, available once your organisation is live.
            </p>
          ) : (
            <form className="partner-form" onSubmit={issue} aria-label="Issue a software statement">
              <SelectField
                label="Application"
                value={softwareId || production[0]?.client_id}
                onChange={(e) => setSoftwareId(e.target.value)}
                options={production.map((a) => ({ value: a.client_id, label: a.name }))}
              />
              <div>
                <Button type="submit">Issue statement</Button>
              </div>
            </form>
          )}
          {issued ? <CopyBlock label="Your software statement (shown once)" text={issued} /> : null}
        </Section>
      ) : null}
    </Page>
  );
}
