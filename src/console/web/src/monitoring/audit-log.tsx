import { useState } from 'react';
import { api } from '../api.ts';
import {
  Button,
  Field,
  formatDate,
  Loading,
  Notice,
  Page,
  ProblemAlert,
  Section,
  Table,
  useApiData,
} from '../ui.tsx';
import './monitoring.css';

interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  details: unknown;
}

interface Filters {
  actor: string;
  action: string;
  target_type: string;
  target_id: string;
  since: string;
}

const EMPTY: Filters = { actor: '', action: '', target_type: '', target_id: '', since: '' };
const PAGE_SIZE = 50;

/** The audit log, newest first, with filters and paging, and the hash-chain verification. */
export function AuditLogPage() {
  const [form, setForm] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const [before, setBefore] = useState<number[]>([]);
  const [verifying, setVerifying] = useState(false);
  const [verifyResult, setVerifyResult] = useState<{ ok: boolean; entries: number; brokenAt?: number }>();
  const [verifyError, setVerifyError] = useState<unknown>();
  const cursor = before.at(-1);
  const { data, error, loading } = useApiData<{ items: AuditEntry[]; next_before?: number | null }>(
    '/admin/v1/audit',
    {
      query: {
        order: 'desc',
        limit: PAGE_SIZE,
        before: cursor,
        actor: filters.actor || undefined,
        action: filters.action || undefined,
        target_type: filters.target_type || undefined,
        target_id: filters.target_id || undefined,
        since: filters.since ? new Date(filters.since).toISOString() : undefined,
      },
    },
  );

  const verify = async () => {
    setVerifying(true);
    setVerifyError(undefined);
    setVerifyResult(undefined);
    try {
      setVerifyResult(await api('/admin/v1/audit/verify'));
    } catch (err) {
      setVerifyError(err);
    } finally {
      setVerifying(false);
    }
  };

  const set = (key: keyof Filters) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setForm((f) => ({ ...f, [key]: e.target.value }));

  return (
    <Page
      title="Audit log"
      actions={
        <Button onPress={verify} isDisabled={verifying}>
          {verifying ? 'Verifying…' : 'Verify hash chain'}
        </Button>
      }
    >
      <ProblemAlert error={verifyError} />
      {verifyResult?.ok ? <Notice>Hash chain intact: {verifyResult.entries} entries verified.</Notice> : null}
      {verifyResult && !verifyResult.ok ? (
        <div className="alert alert-error" role="alert">
          Hash chain broken at entry #{verifyResult.brokenAt}: it, or an entry before it, was changed, removed
          or reordered ({verifyResult.entries} entries verified before it).
        </div>
      ) : null}
      <Section title="Filters">
        <form
          className="monitor-filters"
          onSubmit={(e) => {
            e.preventDefault();
            setBefore([]);
            setFilters(form);
          }}
        >
          <Field label="Actor" value={form.actor} onChange={set('actor')} hint="e.g. account:alice" />
          <Field label="Action" value={form.action} onChange={set('action')} hint="e.g. certificate.revoke" />
          <Field label="Target type" value={form.target_type} onChange={set('target_type')} />
          <Field label="Target id" value={form.target_id} onChange={set('target_id')} />
          <Field label="Since" type="datetime-local" value={form.since} onChange={set('since')} />
          <Button type="submit" variant="secondary">
            Apply filters
          </Button>
        </form>
      </Section>
      <ProblemAlert error={error} />
      {loading && !data ? <Loading what="the audit log" /> : null}
      {data ? (
        <Section title="Entries, newest first">
          <Table
            caption="Audit log entries, newest first"
            rows={data.items}
            rowKey={(e) => String(e.seq)}
            empty="No audit entry matches."
            columns={[
              { header: '#', cell: (e) => e.seq },
              { header: 'Time', cell: (e) => formatDate(e.at) },
              { header: 'Actor', cell: (e) => <code>{e.actor}</code> },
              { header: 'Action', cell: (e) => <code>{e.action}</code> },
              {
                header: 'Target',
                cell: (e) => (
                  <>
                    {e.target_type} <code>{e.target_id}</code>
                  </>
                ),
              },
              {
                header: 'Details',
                cell: (e) => <code className="monitor-details">{JSON.stringify(e.details)}</code>,
              },
            ]}
          />
          <div className="monitor-pager">
            <Button variant="secondary" isDisabled={before.length === 0} onPress={() => setBefore([])}>
              Newest
            </Button>
            <Button
              variant="secondary"
              isDisabled={before.length === 0}
              onPress={() => setBefore((b) => b.slice(0, -1))}
            >
              Newer
            </Button>
            <Button
              variant="secondary"
              isDisabled={!data.next_before}
              onPress={() => {
                const next = data.next_before;
                if (next) setBefore((b) => [...b, next]);
              }}
            >
              Older
            </Button>
          </div>
        </Section>
      ) : null}
    </Page>
  );
}
