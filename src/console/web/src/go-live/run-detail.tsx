import { Badge, Loading, ProblemAlert, Table, useApiData } from '../ui.tsx';
import type { RunCase, RunSummary, RunView } from './types.ts';

export const outcomeBadge = (outcome: RunSummary['outcome']) => (
  <Badge tone={outcome === 'passed' ? 'good' : 'bad'}>{outcome}</Badge>
);

const statusBadge = (status: RunCase['status']) => (
  <Badge tone={status === 'pass' ? 'good' : status === 'fail' ? 'bad' : 'neutral'}>{status}</Badge>
);

/** One run's cases, what the platform observed itself, and why it failed (if it did). */
export function RunDetail({ path, runId }: { path: string; runId: string }) {
  const { data, error, loading } = useApiData<RunView>(path);
  if (loading && !data) return <Loading what="the run" />;
  if (error) return <ProblemAlert error={error} />;
  if (!data) return null;
  const { report } = data;
  return (
    <div className="golive-run-detail">
      <h3>Run {runId}</h3>
      <p>
        {report.tool ? `${report.tool.name} ${report.tool.version}` : 'Unknown tool'}
        {report.target ? ` against ${report.target}` : ''}. The platform saw {report.observed?.allowed ?? 0}{' '}
        allowed and {report.observed?.denied ?? 0} refused requests of this client with this certificate
        during the run (on the node that received it).
      </p>
      {report.reasons && report.reasons.length > 0 ? (
        <ul aria-label="Why the run did not pass">
          {report.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      ) : null}
      <Table<RunCase>
        caption={`Cases of run ${runId}`}
        rows={report.cases ?? []}
        rowKey={(c) => c.id}
        columns={[
          { header: 'Case', cell: (c) => c.id },
          { header: 'Result', cell: (c) => statusBadge(c.status) },
          { header: 'Expected', cell: (c) => c.expected },
          { header: 'Got', cell: (c) => c.got },
          { header: 'Time', cell: (c) => `${c.ms} ms` },
        ]}
      />
    </div>
  );
}
