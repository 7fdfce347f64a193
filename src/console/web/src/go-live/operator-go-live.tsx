import { useState } from 'react';
import { api } from '../api.ts';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
import { useSession } from '../session.tsx';
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
} from '../ui.tsx';
import './go-live.css';
import { outcomeBadge, RunDetail } from './run-detail.tsx';
import type { LiveOrganisation, RunSummary } from './types.ts';

/** Operator console: every organisation's test-plan runs, who is live, and taking a go-live back. */
export function OperatorGoLivePage() {
  const session = useSession();
  const administrator = session.operator === 'administrator';
  const [outcome, setOutcome] = useState('');
  const live = usePagedList<LiveOrganisation>('/admin/v1/go-live');
  const [environment, setEnvironment] = useState('');
  const runs = usePagedList<RunSummary>('/admin/v1/testplan-runs', {
    query: { outcome: outcome || undefined, environment: environment || undefined },
  });
  const [open, setOpen] = useState<string | undefined>(undefined);
  const [revoking, setRevoking] = useState<LiveOrganisation | undefined>(undefined);
  const [reason, setReason] = useState('');
  const [actionError, setActionError] = useState<unknown>(undefined);

  async function revoke(org: LiveOrganisation) {
    setActionError(undefined);
    try {
      await api(`/admin/v1/organisations/${encodeURIComponent(org.id)}/go-live`, {
        method: 'DELETE',
        query: { reason: reason || undefined },
      });
      setRevoking(undefined);
      setReason('');
      await live.reload();
    } catch (err) {
      setActionError(err);
    }
  }

  return (
    <Page title="Go-live">
      <Section title="Live organisations">
        {live.loading && !live.data ? <Loading what="the live organisations" /> : null}
        <ProblemAlert error={live.error} />
        <ProblemAlert error={actionError} />
        {live.data ? (
          <Table<LiveOrganisation>
            caption="Live organisations"
            rows={live.data.items}
            rowKey={(o) => o.id}
            empty="No organisation is live."
            columns={[
              { header: 'Organisation', cell: (o) => o.name },
              { header: 'Live since', cell: (o) => formatDate(o.live_at) },
              { header: 'Run', cell: (o) => <span className="golive-mono">{o.live_run_id ?? '—'}</span> },
              ...(administrator
                ? [
                    {
                      header: 'Action',
                      cell: (o: LiveOrganisation) => (
                        <Button
                          variant="danger"
                          aria-label={`Revoke go-live of ${o.name}`}
                          onPress={() => setRevoking(o)}
                        >
                          Revoke go-live
                        </Button>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        ) : null}
        <LoadMore more={live.more} what="live organisations" />
        {revoking ? (
          <div className="golive-actions">
            <Field
              label={`Why the go-live of ${revoking.name} is revoked (optional)`}
              hint="Production applications stay; new ones need the gate again."
              value={reason}
              maxLength={500}
              onChange={(e) => setReason(e.target.value)}
            />
            <Button variant="danger" onPress={() => revoke(revoking)}>
              Confirm revoking
            </Button>
            <Button variant="secondary" onPress={() => setRevoking(undefined)}>
              Cancel
            </Button>
          </div>
        ) : null}
      </Section>

      <Section title="Test-plan runs">
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
        <SelectField
          label="Environment"
          value={environment}
          onChange={(e) => setEnvironment(e.target.value)}
          options={[
            { value: '', label: 'All' },
            { value: 'sandbox', label: 'Sandbox' },
            { value: 'production', label: 'Production' },
          ]}
        />
        {runs.loading && !runs.data ? <Loading what="the runs" /> : null}
        <ProblemAlert error={runs.error} />
        {runs.data ? (
          <Table<RunSummary>
            caption="Test-plan runs of all organisations"
            rows={runs.data.items}
            rowKey={(r) => r.id}
            empty="No run has been submitted yet."
            columns={[
              { header: 'Received', cell: (r) => formatDate(r.received_at) },
              { header: 'Organisation', cell: (r) => r.org_name },
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
        {open ? (
          <RunDetail path={`/admin/v1/testplan-runs/${encodeURIComponent(open)}`} runId={open} />
        ) : null}
      </Section>
    </Page>
  );
}
