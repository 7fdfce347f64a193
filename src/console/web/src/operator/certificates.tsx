import { useState } from 'react';
import { api } from '../api.ts';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
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
  type Certificate,
  daysUntil,
  type Items,
  type OrganisationSummary,
  orgLink,
  REVOCATION_REASONS,
  ReadOnlyNote,
  StatusBadge,
  useAction,
  useCanChange,
} from './common.tsx';

/** Revocation with an RFC 5280 reason; the new CRL is published with it. */
export function RevokeCertificateForm({
  serial,
  onDone,
  onCancel,
}: {
  serial: string;
  onDone: () => void;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState('unspecified');
  const action = useAction();
  return (
    <form
      className="op-inline-form"
      aria-label={`Revoke certificate ${serial}`}
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await action.run(() =>
          api(`/admin/v1/certificates/${serial}/revoke`, { method: 'POST', body: { reason } }),
        );
        if (ok) onDone();
      }}
    >
      <h3>
        Revoke certificate <span className="op-mono">{serial}</span>
      </h3>
      <p className="muted">Revocation is final: the certificate is refused at once and listed on the CRL.</p>
      <SelectField
        label="Reason (RFC 5280)"
        options={REVOCATION_REASONS}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
      />
      <div className="actions">
        <Button type="submit" variant="danger" isDisabled={action.busy}>
          Revoke certificate
        </Button>
        <Button variant="secondary" onPress={onCancel}>
          Cancel
        </Button>
      </div>
      {action.feedback}
    </form>
  );
}

export function CertificatesPage() {
  const canChange = useCanChange();
  const orgs = useApiData<Items<OrganisationSummary>>('/admin/v1/organisations', {
    query: { limit: '1000' },
  });
  const [status, setStatus] = useState('active');
  const [orgId, setOrgId] = useState('');
  const [clientId, setClientId] = useState('');
  const [expiring, setExpiring] = useState('');
  const list = usePagedList<Certificate>('/admin/v1/certificates', {
    query: { status, org_id: orgId, client_id: clientId.trim(), expiring_within_days: expiring },
  });
  const [revoking, setRevoking] = useState<string | undefined>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const names = new Map((orgs.data?.items ?? []).map((o) => [o.id, o.name]));
  return (
    <Page title="Certificates">
      <ReadOnlyNote />
      <Section title="Issued certificates">
        <div className="op-filters">
          <SelectField
            label="Expiring"
            options={[
              { value: '', label: 'Any end date' },
              { value: '7', label: 'Within 7 days' },
              { value: '30', label: 'Within 30 days' },
              { value: '90', label: 'Within 90 days' },
            ]}
            value={expiring}
            onChange={(e) => setExpiring(e.target.value)}
          />
          <SelectField
            label="Status"
            options={[
              { value: '', label: 'Any status' },
              { value: 'active', label: 'Active' },
              { value: 'revoked', label: 'Revoked' },
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
          <Field
            label="Client ID"
            value={clientId}
            maxLength={255}
            onChange={(e) => setClientId(e.target.value)}
          />
        </div>
        {expiring ? <p className="muted">Soonest end first.</p> : null}
        {done ? (
          <div className="alert alert-info" role="status">
            {done}
          </div>
        ) : null}
        <ProblemAlert error={list.error} />
        {list.data ? (
          <Table
            caption="Certificates"
            rows={list.data.items}
            rowKey={(c) => c.serial}
            empty="No certificate matches."
            columns={[
              { header: 'Serial', cell: (c) => <span className="op-mono">{c.serial}</span> },
              { header: 'Application', cell: (c) => appLink(c.client_id) },
              { header: 'Organisation', cell: (c) => orgLink(c.org_id, names.get(c.org_id)) },
              { header: 'Status', cell: (c) => <StatusBadge status={c.status} /> },
              {
                header: 'Ends',
                cell: (c) => {
                  const days = daysUntil(c.not_after);
                  return (
                    <>
                      {formatDate(c.not_after)}
                      {c.status === 'active' && days <= 30 ? (
                        <>
                          {' '}
                          <StatusBadge status={days < 0 ? 'expired' : 'expiring'} />
                        </>
                      ) : null}
                    </>
                  );
                },
              },
              {
                header: 'Revoked',
                cell: (c) => (c.revoked_at ? `${formatDate(c.revoked_at)} (${c.revocation_reason})` : '—'),
              },
              ...(canChange
                ? [
                    {
                      header: 'Actions',
                      cell: (c: Certificate) =>
                        c.status === 'active' ? (
                          <Button
                            variant="secondary"
                            aria-label={`Revoke certificate ${c.serial}`}
                            onPress={() => {
                              setDone(undefined);
                              setRevoking(c.serial);
                            }}
                          >
                            Revoke…
                          </Button>
                        ) : null,
                    },
                  ]
                : []),
            ]}
          />
        ) : list.loading ? (
          <Loading what="certificates" />
        ) : null}
        <LoadMore more={list.more} what="certificates" />
        {revoking ? (
          <RevokeCertificateForm
            serial={revoking}
            onCancel={() => setRevoking(undefined)}
            onDone={() => {
              setDone(`Certificate ${revoking} revoked.`);
              setRevoking(undefined);
              void list.reload();
            }}
          />
        ) : null}
      </Section>
    </Page>
  );
}
