import { useEffect } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Loading, Page, ProblemAlert, Section, Table, useApiData } from '../ui.tsx';
import { orgLabel, useOrganisationNames } from './shared.ts';
import './monitoring.css';

interface MinutePoint {
  minute: string;
  requests: number;
  denials: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

interface Summary {
  requests: number;
  denials: number;
  p50_ms: number | null;
  p95_ms: number | null;
  denials_by_reason: Record<string, number>;
  /** Decisions counted here whose log lines a node did not keep (over its lines-per-second cap). */
  lines_dropped: number;
  series: MinutePoint[];
}

interface Stats {
  minutes: number;
  from: string;
  to: string;
  total: Summary;
  organisations: Array<Summary & { org_id: string | null }>;
  denials_by_reason: Array<{ reason: string; count: number }>;
}

/** Distinct, dark enough on white (WCAG 1.4.11 non-text contrast ≥ 3:1). */
const COLOURS = ['#1d4ed8', '#b91c1c', '#047857', '#7c3aed', '#b45309', '#0e7490', '#be185d', '#374151'];
const MAX_LINES = COLOURS.length;
const REFRESH_MS = 30_000;

const minuteLabel = (iso: string) =>
  new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
const ms = (v: number | null) => (v === null ? '—' : `≤ ${v} ms`);

function Chart({
  title,
  data,
  keys,
  unit,
}: {
  title: string;
  data: Array<Record<string, number | string | null>>;
  keys: Array<{ key: string; label: string }>;
  unit?: string;
}) {
  return (
    <figure className="monitor-chart">
      <figcaption>{title}</figcaption>
      <div className="monitor-chart-box">
        <ResponsiveContainer width="100%" height="100%">
          <LineChart data={data} accessibilityLayer={false}>
            <CartesianGrid stroke="#d1d5db" strokeDasharray="3 3" />
            <XAxis dataKey="minute" tickFormatter={minuteLabel} minTickGap={24} stroke="#374151" />
            <YAxis allowDecimals={false} stroke="#374151" {...(unit ? { unit } : {})} width={56} />
            <Tooltip labelFormatter={(label) => minuteLabel(String(label))} />
            <Legend />
            {keys.map((k, i) => (
              <Line
                key={k.key}
                type="monotone"
                dataKey={k.key}
                name={k.label}
                stroke={COLOURS[i % COLOURS.length]}
                strokeWidth={2}
                // Latency has gaps (minutes without traffic): dots keep a lone minute visible.
                dot={unit ? { r: 3 } : false}
                connectNulls
                isAnimationActive={false}
              />
            ))}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

/** Requests, denials and p95 latency per organisation over the last hour, per minute. */
export function TrafficPage() {
  const names = useOrganisationNames();
  const { data, error, loading, reload } = useApiData<Stats>('/admin/v1/decisions/stats', {
    query: { minutes: 60 },
  });
  // biome-ignore lint/correctness/useExhaustiveDependencies: refresh on a timer, whatever reload is now.
  useEffect(() => {
    const timer = setInterval(() => void reload(), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const orgs = (data?.organisations ?? []).slice(0, MAX_LINES);
  const keys = orgs.map((o, i) => ({ key: `o${i}`, label: orgLabel(names, o.org_id) }));
  const rows = (field: 'requests' | 'denials' | 'p95_ms') =>
    (data?.total.series ?? []).map((point, minute) => {
      const row: Record<string, number | string | null> = { minute: point.minute };
      orgs.forEach((o, i) => {
        row[`o${i}`] = o.series[minute]?.[field] ?? null;
      });
      return row;
    });

  return (
    <Page title="Traffic">
      <ProblemAlert error={error} />
      {loading && !data ? <Loading what="traffic" /> : null}
      {data ? (
        <>
          <Section title="Last hour, per organisation">
            <p className="muted">
              {data.total.requests} requests, {data.total.denials} refused; p50 {ms(data.total.p50_ms)}, p95{' '}
              {ms(data.total.p95_ms)}, across every platform node. Refreshed every 30 seconds.
            </p>
            {data.total.lines_dropped > 0 ? (
              <p className="muted" role="status">
                {data.total.lines_dropped} decisions are counted here but not in the decision log: a node was
                over its limit of log lines per second (refusals are always kept first).
              </p>
            ) : null}
            <div className="monitor-charts">
              <Chart title="Requests per minute" data={rows('requests')} keys={keys} />
              <Chart title="Refused requests per minute" data={rows('denials')} keys={keys} />
              <Chart title="p95 latency per minute (ms)" data={rows('p95_ms')} keys={keys} unit=" ms" />
            </div>
          </Section>
          <Section title="Organisations">
            <Table
              caption="Requests, refusals and latency per organisation over the last hour"
              rows={data.organisations}
              rowKey={(o) => o.org_id ?? '-'}
              empty="No traffic in the last hour."
              columns={[
                { header: 'Organisation', cell: (o) => orgLabel(names, o.org_id) },
                { header: 'Requests', cell: (o) => o.requests },
                { header: 'Refused', cell: (o) => o.denials },
                { header: 'p50', cell: (o) => ms(o.p50_ms) },
                { header: 'p95', cell: (o) => ms(o.p95_ms) },
                {
                  header: 'Refusals by reason',
                  cell: (o) =>
                    Object.entries(o.denials_by_reason)
                      .map(([reason, n]) => `${reason} ${n}`)
                      .join(', ') || '—',
                },
              ]}
            />
          </Section>
          <Section title="Refusals by reason">
            <Table
              caption="Refused requests by reason over the last hour"
              rows={data.denials_by_reason}
              rowKey={(r) => r.reason}
              empty="No refused requests in the last hour."
              columns={[
                { header: 'Reason', cell: (r) => <code>{r.reason}</code> },
                { header: 'Refused', cell: (r) => r.count },
              ]}
            />
          </Section>
        </>
      ) : null}
    </Page>
  );
}
