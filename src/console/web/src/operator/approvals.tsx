import { useState } from 'react';
import { api } from '../api.ts';
import {
  Button,
  Field,
  formatDate,
  Loading,
  Page,
  ProblemAlert,
  Section,
  SelectField,
  Table,
  useApiData,
} from '../ui.tsx';
import {
  appLink,
  EnvironmentBadge,
  type Items,
  type OrganisationSummary,
  orgLink,
  ReadOnlyNote,
  type RoleRequest,
  StatusBadge,
  TextArea,
  useAction,
  useCanChange,
} from './common.tsx';

/** Approve (optionally until an end date) or reject (a reason the partner sees is required). */
function DecisionForm({
  request,
  onDone,
  onCancel,
}: {
  request: RoleRequest;
  onDone: (message: string) => void;
  onCancel: () => void;
}) {
  const [until, setUntil] = useState('');
  const [reason, setReason] = useState('');
  const [missingReason, setMissingReason] = useState(false);
  const action = useAction();
  const path = `/admin/v1/role-requests/${request.id}`;
  return (
    <form
      className="op-inline-form"
      aria-label={`Decide the request for ${request.role}`}
      onSubmit={(e) => e.preventDefault()}
    >
      <h3>
        {request.application_name} ({request.org_name}) asks for <strong>{request.role}</strong>
      </h3>
      <Field
        label="Grant until (optional)"
        hint="Leave empty for a grant without an end date."
        type="date"
        value={until}
        onChange={(e) => setUntil(e.target.value)}
      />
      <TextArea
        label="Reason"
        hint="Required to reject: the partner sees it."
        maxLength={500}
        value={reason}
        aria-invalid={missingReason || undefined}
        onChange={(e) => {
          setReason(e.target.value);
          setMissingReason(false);
        }}
      />
      {missingReason ? (
        <div className="alert alert-error" role="alert">
          A rejection needs a reason.
        </div>
      ) : null}
      <div className="actions">
        <Button
          isDisabled={action.busy}
          onPress={async () => {
            const body: Record<string, string> = {};
            if (until) body.expires_at = new Date(`${until}T23:59:59Z`).toISOString();
            if (reason.trim()) body.reason = reason.trim();
            const ok = await action.run(() => api(`${path}/approve`, { method: 'POST', body }));
            if (ok) onDone(`Approved: ${request.application_name} now holds ${request.role}.`);
          }}
        >
          Approve
        </Button>
        <Button
          variant="danger"
          isDisabled={action.busy}
          onPress={async () => {
            if (!reason.trim()) {
              setMissingReason(true);
              return;
            }
            const ok = await action.run(() =>
              api(`${path}/reject`, { method: 'POST', body: { reason: reason.trim() } }),
            );
            if (ok) onDone(`Rejected: ${request.application_name} does not get ${request.role}.`);
          }}
        >
          Reject
        </Button>
        <Button variant="secondary" onPress={onCancel}>
          Cancel
        </Button>
      </div>
      {action.feedback}
    </form>
  );
}

export function ApprovalsPage() {
  const canChange = useCanChange();
  const orgs = useApiData<Items<OrganisationSummary>>('/admin/v1/organisations');
  const [status, setStatus] = useState('pending');
  const [orgId, setOrgId] = useState('');
  const list = useApiData<Items<RoleRequest>>('/admin/v1/role-requests', {
    query: { status, org_id: orgId },
  });
  const [deciding, setDeciding] = useState<RoleRequest | undefined>(undefined);
  const [message, setMessage] = useState<string | undefined>(undefined);
  return (
    <Page title="Approval queue">
      <ReadOnlyNote />
      <p>
        Roles partners ask for their production applications wait here. Approving approves the role for the
        organisation and grants it to the application; the application's next token carries its scopes.
      </p>
      <Section title="Role requests">
        <div className="op-filters">
          <SelectField
            label="Status"
            options={[
              { value: 'pending', label: 'Pending' },
              { value: 'approved', label: 'Approved' },
              { value: 'rejected', label: 'Rejected' },
              { value: 'withdrawn', label: 'Withdrawn' },
              { value: '', label: 'Any status' },
            ]}
            value={status}
            onChange={(e) => setStatus(e.target.value)}
          />
          <SelectField
            label="Organisation"
            options={[
              { value: '', label: 'Any organisation' },
              ...(orgs.data?.items ?? []).map((o) => ({ value: o.id, label: o.name })),
            ]}
            value={orgId}
            onChange={(e) => setOrgId(e.target.value)}
          />
        </div>
        {message ? (
          <div className="alert alert-info" role="status">
            {message}
          </div>
        ) : null}
        <ProblemAlert error={list.error} />
        {list.data ? (
          <Table
            caption="Role requests"
            rows={list.data.items}
            rowKey={(r) => r.id}
            empty={status === 'pending' ? 'No role request is waiting.' : 'No role request matches.'}
            columns={[
              { header: 'Organisation', cell: (r) => orgLink(r.org_id, r.org_name) },
              { header: 'Application', cell: (r) => appLink(r.client_id, r.application_name) },
              { header: 'Environment', cell: (r) => <EnvironmentBadge environment={r.environment} /> },
              { header: 'Role', cell: (r) => <strong>{r.role}</strong> },
              {
                header: 'Requested',
                cell: (r) => (
                  <>
                    {formatDate(r.requested_at)}
                    <br />
                    <span className="muted">by {r.requested_by}</span>
                  </>
                ),
              },
              { header: 'Status', cell: (r) => <StatusBadge status={r.status} /> },
              {
                header: 'Decision',
                cell: (r) =>
                  r.decided_at ? (
                    <>
                      {formatDate(r.decided_at)} by {r.decided_by}
                      {r.reason ? (
                        <>
                          <br />
                          <span className="muted">{r.reason}</span>
                        </>
                      ) : null}
                    </>
                  ) : canChange && r.status === 'pending' ? (
                    <Button
                      variant="secondary"
                      aria-label={`Decide: ${r.role} for ${r.application_name}`}
                      onPress={() => {
                        setMessage(undefined);
                        setDeciding(r);
                      }}
                    >
                      Decide…
                    </Button>
                  ) : (
                    '—'
                  ),
              },
            ]}
          />
        ) : list.loading ? (
          <Loading what="role requests" />
        ) : null}
        {deciding ? (
          <DecisionForm
            key={deciding.id}
            request={deciding}
            onCancel={() => setDeciding(undefined)}
            onDone={(m) => {
              setMessage(m);
              setDeciding(undefined);
              void list.reload();
            }}
          />
        ) : null}
      </Section>
    </Page>
  );
}
