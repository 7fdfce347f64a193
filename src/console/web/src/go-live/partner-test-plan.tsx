import { useState } from 'react';
import { useParams } from 'react-router';
import { api } from '../api.ts';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
import { useSession } from '../session.tsx';
import {
  Badge,
  Button,
  CopyBlock,
  formatDate,
  Loading,
  Notice,
  Page,
  ProblemAlert,
  Section,
  SelectField,
  Table,
  useApiData,
} from '../ui.tsx';
import './go-live.css';
import { outcomeBadge, RunDetail } from './run-detail.tsx';
import type { GoLiveStatus, RunSummary } from './types.ts';

function command(status: GoLiveStatus, clientId: string): string {
  return [
    'accredit testplan run \\',
    `  --issuer ${status.platform.issuer} \\`,
    `  --api ${status.platform.api} \\`,
    `  --client-id ${clientId} \\`,
    '  --cert client.crt --key client.key \\',
    '  --ca ca-bundle.pem \\',
    `  --report-to ${status.platform.report_to}`,
  ].join('\n');
}

/** Partner portal: run the test plan against the sandbox, see the runs, go live (issue 15). */
export function PartnerTestPlanPage() {
  const { orgId = '' } = useParams();
  const session = useSession();
  const role = session.memberships.find((m) => m.orgId === orgId)?.role;
  const base = `/partner/v1/organisations/${encodeURIComponent(orgId)}`;
  const status = useApiData<GoLiveStatus>(`${base}/go-live`);
  const [outcome, setOutcome] = useState('');
  const runs = usePagedList<RunSummary>(`${base}/testplan-runs`, {
    query: { outcome: outcome || undefined },
  });
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [chosen, setChosen] = useState<string | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  const s = status.data;
  const apps = s?.sandbox_applications ?? [];
  const clientId = chosen ?? apps[0]?.client_id;

  async function goLive(runId: string) {
    setBusy(true);
    setActionError(undefined);
    try {
      await api(`${base}/go-live`, { method: 'POST', body: { run_id: runId } });
      await status.reload();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title="Test plan & go-live">
      <Section title="Go-live">
        {status.loading && !s ? <Loading what="the go-live state" /> : null}
        <ProblemAlert error={status.error} />
        <ProblemAlert error={actionError} />
        {s?.live_at ? (
          <Notice>
            Live since {formatDate(s.live_at)}, with test-plan run{' '}
            <span className="golive-mono">{s.live_run_id}</span>. Production applications can be created.
          </Notice>
        ) : s ? (
          <>
            <p>
              Your organisation works in the sandbox. Production credentials are issued once the test plan
              passed against the sandbox:
            </p>
            <ul className="golive-requirements">
              {s.requirements.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
            {s.eligible_run_id ? (
              <div className="golive-actions">
                <p>
                  Run <span className="golive-mono">{s.eligible_run_id}</span> passed the gate.
                </p>
                {role === 'org_admin' ? (
                  <Button isDisabled={busy} onPress={() => goLive(s.eligible_run_id!)}>
                    Go live
                  </Button>
                ) : (
                  <p className="muted">An organisation administrator can take the organisation live.</p>
                )}
              </div>
            ) : (
              <p className="muted">No run has passed the gate yet.</p>
            )}
          </>
        ) : null}
      </Section>

      <Section title="Run the test plan">
        {s && apps.length === 0 ? (
          <p>Create a sandbox application and get its certificate first: the test plan runs with it.</p>
        ) : null}
        {s && clientId ? (
          <>
            {apps.length > 1 ? (
              <SelectField
                label="Sandbox application"
                value={clientId}
                onChange={(e) => setChosen(e.target.value)}
                options={apps.map((a) => ({ value: a.client_id, label: `${a.name} (${a.client_id})` }))}
              />
            ) : null}
            <p>
              Run this where your certificate and private key are (they never leave your machine). Download
              the platform's CA bundle from <span className="golive-mono">{s.platform.ca_bundle}</span> as{' '}
              <span className="golive-mono">ca-bundle.pem</span>. The report goes to the platform over mTLS
              with the same certificate; the platform also checks that it saw the run's requests.
            </p>
            <CopyBlock label="Test plan command" text={command(s, clientId)} />
          </>
        ) : null}
      </Section>

      <Section title="Runs">
        <SelectField
          label="Outcome"
          value={outcome}
          onChange={(e) => setOutcome(e.target.value)}
          options={[
            { value: '', label: 'All' },
            { value: 'passed', label: 'Passed' },
            { value: 'failed', label: 'Failed' },
          ]}
        />
        {runs.loading && !runs.data ? <Loading what="the runs" /> : null}
        <ProblemAlert error={runs.error} />
        {runs.data ? (
          <Table<RunSummary>
            caption="Test-plan runs of this organisation"
            rows={runs.data.items}
            rowKey={(r) => r.id}
            empty="No run has been submitted yet."
            columns={[
              { header: 'Received', cell: (r) => formatDate(r.received_at) },
              { header: 'Application', cell: (r) => <span className="golive-mono">{r.client_id}</span> },
              {
                header: 'Environment',
                cell: (r) => (
                  <Badge tone={r.environment === 'sandbox' ? 'neutral' : 'warn'}>{r.environment}</Badge>
                ),
              },
              { header: 'Outcome', cell: (r) => outcomeBadge(r.outcome) },
              {
                header: 'Details',
                cell: (r) => (
                  <Button
                    variant="secondary"
                    aria-expanded={open === r.id}
                    onPress={() => setOpen(open === r.id ? undefined : r.id)}
                  >
                    {open === r.id ? 'Hide cases' : 'Cases'}
                    <span className="visually-hidden"> of {r.id}</span>
                  </Button>
                ),
              },
            ]}
          />
        ) : null}
        {runs.data ? <LoadMore more={runs.more} what="runs" /> : null}
        {open ? <RunDetail path={`${base}/testplan-runs/${encodeURIComponent(open)}`} runId={open} /> : null}
      </Section>
    </Page>
  );
}
