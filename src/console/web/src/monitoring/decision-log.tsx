import { useEffect, useMemo, useRef, useState } from 'react';
import { api, url } from '../api.ts';
import { Badge, Button, Field, Page, ProblemAlert, Section, SelectField, Table } from '../ui.tsx';
import { type DecisionItem, DOORS, orgLabel, timeOf, useOrganisationNames } from './shared.ts';
import './monitoring.css';

const KEEP = 500;

interface Filters {
  decision: string;
  reason: string;
  org_id: string;
  door: string;
}

type StreamState = 'connecting' | 'live' | 'paused' | 'closed';

const STATE_LABEL: Record<StreamState, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  paused: 'Paused',
  closed: 'Disconnected',
};

/** Newest first, without duplicates (a reconnect may replay what the list already holds). */
function merge(newer: DecisionItem[], older: DecisionItem[]): DecisionItem[] {
  const seen = new Set<number>();
  const out: DecisionItem[] = [];
  for (const item of [...newer, ...older].sort((a, b) => b.id - a.id)) {
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    out.push(item);
    if (out.length >= KEEP) break;
  }
  return out;
}

/** The live decision log: the recent decisions, then every new one as it happens (Server-Sent Events). */
export function DecisionLogPage() {
  const names = useOrganisationNames();
  const [filters, setFilters] = useState<Filters>({ decision: '', reason: '', org_id: '', door: '' });
  const [reasonInput, setReasonInput] = useState('');
  const [items, setItems] = useState<DecisionItem[]>([]);
  const [held, setHeld] = useState<DecisionItem[]>([]);
  const [paused, setPaused] = useState(false);
  const [state, setState] = useState<StreamState>('connecting');
  const [error, setError] = useState<unknown>(undefined);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  const query = useMemo(
    () => ({
      decision: filters.decision || undefined,
      reason: filters.reason || undefined,
      org_id: filters.org_id || undefined,
      door: filters.door || undefined,
    }),
    [filters],
  );

  useEffect(() => {
    let source: EventSource | undefined;
    let cancelled = false;
    setItems([]);
    setHeld([]);
    setState('connecting');
    setError(undefined);
    api<{ items: DecisionItem[] }>('/admin/v1/decisions', { query: { ...query, limit: 100 } })
      .then((page) => {
        if (cancelled) return;
        setItems((current) => merge(current, page.items));
        source = new EventSource(url('/admin/v1/decisions/stream', query));
        source.onopen = () => setState(pausedRef.current ? 'paused' : 'live');
        source.onerror = () => {
          if (source?.readyState === EventSource.CLOSED) setState('closed');
          else setState('connecting');
        };
        source.addEventListener('decision', (event) => {
          const item = JSON.parse((event as MessageEvent<string>).data) as DecisionItem;
          if (pausedRef.current) setHeld((h) => [item, ...h].slice(0, KEEP));
          else setItems((current) => merge([item], current));
        });
        source.addEventListener('end', () => {
          source?.close();
          setState('closed');
        });
      })
      .catch((err: unknown) => {
        if (!cancelled) {
          setError(err);
          setState('closed');
        }
      });
    return () => {
      cancelled = true;
      source?.close();
    };
  }, [query]);

  const togglePause = () => {
    if (paused) {
      setItems((current) => merge(held, current));
      setHeld([]);
      setPaused(false);
      if (state === 'paused') setState('live');
    } else {
      setPaused(true);
      if (state === 'live') setState('paused');
    }
  };

  const orgOptions = [
    { value: '', label: 'All organisations' },
    ...[...names].map(([id, name]) => ({ value: id, label: name })),
  ];

  return (
    <Page
      title="Decision log"
      actions={
        <>
          <span className="monitor-status" data-state={state} role="status" aria-live="polite">
            {STATE_LABEL[state]}
            {paused && held.length > 0 ? ` · ${held.length} new` : ''}
          </span>
          <Button variant="secondary" onPress={togglePause}>
            {paused ? 'Resume' : 'Pause'}
          </Button>
        </>
      }
    >
      <ProblemAlert error={error} />
      <Section title="Filters">
        <form
          className="monitor-filters"
          onSubmit={(e) => {
            e.preventDefault();
            setFilters((f) => ({ ...f, reason: reasonInput.trim() }));
          }}
        >
          <SelectField
            label="Decision"
            value={filters.decision}
            onChange={(e) => setFilters((f) => ({ ...f, decision: e.target.value }))}
            options={[
              { value: '', label: 'Allowed and refused' },
              { value: 'allow', label: 'Allowed' },
              { value: 'deny', label: 'Refused' },
            ]}
          />
          <Field
            label="Reason"
            hint="A reason code, e.g. missing_token"
            value={reasonInput}
            pattern="[a-z0-9_]*"
            onChange={(e) => setReasonInput(e.target.value)}
          />
          <SelectField
            label="Organisation"
            value={filters.org_id}
            onChange={(e) => setFilters((f) => ({ ...f, org_id: e.target.value }))}
            options={orgOptions}
          />
          <SelectField
            label="Door"
            value={filters.door}
            onChange={(e) => setFilters((f) => ({ ...f, door: e.target.value }))}
            options={[{ value: '', label: 'All doors' }, ...DOORS.map((d) => ({ value: d, label: d }))]}
          />
          <Button type="submit" variant="secondary">
            Apply reason
          </Button>
        </form>
      </Section>
      <Section title="Decisions, newest first">
        <Table
          caption="Enforcement decisions, newest first"
          rows={items}
          rowKey={(d) => String(d.id)}
          empty="No decisions yet. New ones appear here as they happen."
          columns={[
            { header: 'Time', cell: (d) => <time dateTime={d.at}>{timeOf(d.at)}</time> },
            {
              header: 'Decision',
              cell: (d) =>
                d.decision === 'allow' ? (
                  <Badge tone="good">allowed</Badge>
                ) : (
                  <Badge tone="bad">refused</Badge>
                ),
            },
            { header: 'Status', cell: (d) => d.status },
            { header: 'Reason', cell: (d) => <code>{d.reason}</code> },
            {
              header: 'Request',
              cell: (d) => (
                <span className="monitor-path">
                  {d.method} {d.path}
                </span>
              ),
            },
            { header: 'Organisation', cell: (d) => orgLabel(names, d.org_id) },
            { header: 'Client', cell: (d) => (d.client_id ? <code>{d.client_id}</code> : '—') },
            { header: 'Door', cell: (d) => d.door },
            { header: 'Latency', cell: (d) => `${d.latency_ms.toFixed(1)} ms` },
          ]}
        />
      </Section>
    </Page>
  );
}
