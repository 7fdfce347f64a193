import { type ReactNode, useId, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api.ts';
import { useSession } from '../session.tsx';
import { Badge, Button, Field, ProblemAlert } from '../ui.tsx';
import './operator.css';

/** Views of /admin/v1 the operator pages read (fields another release may add are optional). */
export interface OrganisationSummary {
  id: string;
  name: string;
  status: 'active' | 'suspended' | 'offboarded';
  created_at: string;
  updated_at: string;
}
export interface Organisation extends OrganisationSummary {
  roles: string[];
  contacts: Array<{ id: string; kind: string; name: string; email: string; phone?: string }>;
  live_at?: string | null;
}
export interface RoleGrant {
  role: string;
  expires_at: string | null;
  expired: boolean;
}
export interface Application {
  client_id: string;
  org_id: string;
  name: string;
  status: string;
  auth_method: string;
  registration_type: string;
  roles: string[];
  role_grants?: RoleGrant[];
  scopes?: string[];
  metadata?: Record<string, unknown>;
  environment?: 'sandbox' | 'production';
  created_at: string;
  updated_at?: string;
}
export interface Certificate {
  serial: string;
  client_id: string;
  org_id: string;
  subject: string;
  not_before: string;
  not_after: string;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  revocation_reason: string | null;
}
export interface RoleRequest {
  id: string;
  org_id: string;
  org_name: string;
  client_id: string;
  application_name: string;
  environment: 'sandbox' | 'production';
  role: string;
  status: 'pending' | 'approved' | 'rejected' | 'withdrawn';
  requested_by: string;
  requested_at: string;
  decided_by: string | null;
  decided_at: string | null;
  reason: string | null;
}
export interface Items<T> {
  items: T[];
}

/** RFC 5280 §5.3.1 reasons the platform accepts (certificateHold and removeFromCRL are not offered). */
export const REVOCATION_REASONS: Array<{ value: string; label: string }> = [
  { value: 'unspecified', label: 'Unspecified' },
  { value: 'keyCompromise', label: 'Key compromise' },
  { value: 'cACompromise', label: 'CA compromise' },
  { value: 'affiliationChanged', label: 'Affiliation changed' },
  { value: 'superseded', label: 'Superseded' },
  { value: 'cessationOfOperation', label: 'Cessation of operation' },
  { value: 'privilegeWithdrawn', label: 'Privilege withdrawn' },
  { value: 'aACompromise', label: 'AA compromise' },
];

/** Administrators change; auditors only read (the API refuses their changes anyway). */
export function useCanChange(): boolean {
  return useSession().operator === 'administrator';
}

export function ReadOnlyNote() {
  return useCanChange() ? null : (
    <p className="muted op-readonly">You are signed in as an auditor: everything here is read-only.</p>
  );
}

const TONES: Record<string, 'good' | 'bad' | 'warn' | 'neutral'> = {
  active: 'good',
  approved: 'good',
  pending: 'warn',
  suspended: 'warn',
  expiring: 'warn',
  revoked: 'bad',
  rejected: 'bad',
  removed: 'bad',
  offboarded: 'bad',
  ended: 'bad',
  deleted: 'bad',
  expired: 'bad',
};

export function StatusBadge({ status }: { status: string }) {
  return <Badge tone={TONES[status] ?? 'neutral'}>{status}</Badge>;
}

export function EnvironmentBadge({ environment }: { environment?: string | undefined }) {
  if (!environment) return <span className="muted">—</span>;
  return <Badge tone={environment === 'production' ? 'good' : 'neutral'}>{environment}</Badge>;
}

export const orgLink = (id: string, name?: string | null) => (
  <Link to={`/operator/organisations/${id}`}>{name ?? id}</Link>
);
export const appLink = (clientId: string, name?: string | null) => (
  <Link to={`/operator/applications/${encodeURIComponent(clientId)}`}>{name ?? clientId}</Link>
);

/** Days until `iso` (negative once past). */
export const daysUntil = (iso: string, now = Date.now()) => Math.floor((Date.parse(iso) - now) / 86_400_000);

/** A labelled textarea (the shared Field is an input). */
export function TextArea({
  label,
  hint,
  ...area
}: { label: string; hint?: string } & React.TextareaHTMLAttributes<HTMLTextAreaElement>) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} aria-describedby={hint ? `${id}-hint` : undefined} {...area} />
      {hint ? (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

/** Runs one change at a time, keeps its error, and calls `done` after success. */
export function useAction() {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | undefined>(undefined);
  const run = async (what: () => Promise<unknown>, success?: string): Promise<boolean> => {
    setBusy(true);
    setError(undefined);
    setMessage(undefined);
    try {
      await what();
      if (success) setMessage(success);
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const feedback: ReactNode = (
    <>
      <ProblemAlert error={error} />
      {message ? (
        <div className="alert alert-info" role="status">
          {message}
        </div>
      ) : null}
    </>
  );
  return { run, busy, feedback, clear: () => setError(undefined) };
}

export function Facts({ rows }: { rows: Array<[string, ReactNode]> }) {
  return (
    <dl className="facts">
      {rows.map(([k, v]) => (
        <div className="facts-row" key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * Suspend or re-activate an organisation or application (`POST {path}/suspend|activate`), with an optional
 * reason for the audit log.
 */
export function SuspendForm({
  path,
  verb,
  noun,
  ariaLabel,
  onDone,
}: {
  path: string;
  verb: 'suspend' | 'activate';
  noun: string;
  ariaLabel: string;
  onDone: () => void;
}) {
  const [reason, setReason] = useState('');
  const action = useAction();
  return (
    <form
      className="op-inline-form"
      aria-label={ariaLabel}
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await action.run(() =>
          api(`${path}/${verb}`, { method: 'POST', body: reason.trim() ? { reason: reason.trim() } : {} }),
        );
        if (ok) {
          setReason('');
          onDone();
        }
      }}
    >
      <Field
        label="Reason (for the audit log)"
        value={reason}
        maxLength={500}
        onChange={(e) => setReason(e.target.value)}
      />
      <div className="actions">
        <Button type="submit" variant={verb === 'suspend' ? 'danger' : 'primary'} isDisabled={action.busy}>
          {verb === 'suspend' ? `Suspend ${noun}` : `Re-activate ${noun}`}
        </Button>
      </div>
      {action.feedback}
    </form>
  );
}
