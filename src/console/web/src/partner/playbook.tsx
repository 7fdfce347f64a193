import { Link, useParams } from 'react-router';
import { CopyBlock, Loading, Page, ProblemAlert, Section, useApiData } from '../ui.tsx';
import './partner.css';
import { orgPath, type Playbook } from './types.ts';

export function PlaybookPage() {
  const { orgId = '', clientId = '' } = useParams();
  const playbook = useApiData<Playbook>(
    `${orgPath(orgId)}/applications/${encodeURIComponent(clientId)}/playbook`,
  );
  if (playbook.loading && !playbook.data) return <Loading what="the playbook" />;
  const p = playbook.data;
  if (!p) return <ProblemAlert error={playbook.error} />;
  return (
    <Page title="Playbook">
      <p>
        Copy-ready commands for <span className="partner-mono">{p.client_id}</span> ({p.environment}).{' '}
        <Link to={`/orgs/${orgId}/applications/${clientId}`}>Back to the application</Link>
      </p>
      <Section title="This platform">
        <dl className="partner-facts">
          <dt>Issuer</dt>
          <dd className="partner-mono">{p.urls.issuer}</dd>
          <dt>Token endpoint (mTLS)</dt>
          <dd className="partner-mono">{p.urls.token_endpoint}</dd>
          <dt>Gateway</dt>
          <dd className="partner-mono">{p.urls.gateway}</dd>
          <dt>CA bundle</dt>
          <dd className="partner-mono">{p.urls.ca_bundle}</dd>
        </dl>
      </Section>
      <Section title="Steps">
        {p.steps.map((s, i) => (
          <CopyBlock key={s.title} label={`${i + 1}. ${s.title}`} text={s.command} />
        ))}
      </Section>
    </Page>
  );
}
