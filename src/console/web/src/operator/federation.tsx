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
  type Items,
  type OrganisationSummary,
  orgLink,
  ReadOnlyNote,
  StatusBadge,
  TextArea,
  useAction,
  useCanChange,
} from './common.tsx';

interface Subordinate {
  entity_id: string;
  org_id: string;
  is_intermediate: boolean;
  entity_types: string[];
  metadata_policy: Record<string, unknown> | null;
  status: 'active' | 'removed';
  created_at: string;
  removed_at: string | null;
}

interface TrustMark {
  id: string;
  trust_mark_type: string;
  sub: string;
  iat: number;
  exp: number | null;
  status: 'active' | 'revoked';
  revoked_at: string | null;
  created_at: string;
}

/** Parses a JSON object typed into a textarea; undefined when empty. */
function parseObject(label: string, text: string): Record<string, unknown> | undefined {
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${label}: not valid JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`${label}: must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

function AddSubordinateForm({ orgs, onDone }: { orgs: OrganisationSummary[]; onDone: () => void }) {
  const [entityId, setEntityId] = useState('');
  const [orgId, setOrgId] = useState('');
  const [jwks, setJwks] = useState('');
  const [policy, setPolicy] = useState('');
  const [intermediate, setIntermediate] = useState(false);
  const action = useAction();
  const chosenOrg = orgId || orgs[0]?.id || '';
  return (
    <form
      aria-label="Add a subordinate"
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await action.run(async () => {
          const body: Record<string, unknown> = {
            entity_id: entityId.trim(),
            org_id: chosenOrg,
            jwks: parseObject('JWKS', jwks) ?? {},
            is_intermediate: intermediate,
          };
          const metadataPolicy = parseObject('Metadata policy', policy);
          if (metadataPolicy) body.metadata_policy = metadataPolicy;
          await api('/admin/v1/federation/subordinates', { method: 'POST', body });
        }, `Subordinate ${entityId.trim()} added.`);
        if (ok) {
          setEntityId('');
          setJwks('');
          setPolicy('');
          onDone();
        }
      }}
    >
      <Field
        label="Entity Identifier"
        required
        type="url"
        maxLength={2048}
        placeholder="https://rp.partner.example"
        value={entityId}
        onChange={(e) => setEntityId(e.target.value)}
      />
      <SelectField
        label="Organisation"
        options={orgs.map((o) => ({ value: o.id, label: o.name }))}
        value={chosenOrg}
        onChange={(e) => setOrgId(e.target.value)}
      />
      <TextArea
        label="Federation Entity Keys (JWKS)"
        hint='Public keys only, e.g. {"keys":[…]}'
        required
        value={jwks}
        onChange={(e) => setJwks(e.target.value)}
      />
      <TextArea
        label="Metadata policy (optional)"
        hint="OpenID Federation 1.0 §6.1, applied to the subordinate's metadata"
        value={policy}
        onChange={(e) => setPolicy(e.target.value)}
      />
      <div className="field">
        <label>
          <input type="checkbox" checked={intermediate} onChange={(e) => setIntermediate(e.target.checked)} />{' '}
          Intermediate authority
        </label>
      </div>
      <div className="actions">
        <Button type="submit" isDisabled={action.busy || !entityId.trim() || !jwks.trim() || !chosenOrg}>
          Add subordinate
        </Button>
      </div>
      {action.feedback}
    </form>
  );
}

function RemoveForm({
  what,
  path,
  label,
  onDone,
  onCancel,
}: {
  what: string;
  path: string;
  label: string;
  onDone: () => void;
  onCancel: () => void;
}) {
  const [reason, setReason] = useState('');
  const action = useAction();
  return (
    <form
      className="op-inline-form"
      aria-label={`${label} ${what}`}
      onSubmit={async (e) => {
        e.preventDefault();
        const ok = await action.run(() =>
          api(path, { method: 'POST', body: reason.trim() ? { reason: reason.trim() } : {} }),
        );
        if (ok) onDone();
      }}
    >
      <h3>
        {label} <span className="op-mono">{what}</span>
      </h3>
      <p className="muted">Federation registrations resting on it end at once.</p>
      <Field
        label="Reason (for the audit log)"
        maxLength={500}
        value={reason}
        onChange={(e) => setReason(e.target.value)}
      />
      <div className="actions">
        <Button type="submit" variant="danger" isDisabled={action.busy}>
          {label}
        </Button>
        <Button variant="secondary" onPress={onCancel}>
          Cancel
        </Button>
      </div>
      {action.feedback}
    </form>
  );
}

interface TrustMarkType {
  type: string;
  roles: string[];
}

function IssueTrustMarkForm({ subordinates, onDone }: { subordinates: Subordinate[]; onDone: () => void }) {
  const types = useApiData<Items<TrustMarkType>>('/admin/v1/federation/trust-mark-types');
  const [type, setType] = useState('');
  const [sub, setSub] = useState('');
  const [days, setDays] = useState('');
  const action = useAction();
  const chosen = sub || subordinates[0]?.entity_id || '';
  const typeOptions = (types.data?.items ?? []).map((t) => ({
    value: t.type,
    label: t.roles.length ? `${t.type} (grants ${t.roles.join(', ')})` : t.type,
  }));
  const chosenType = type || typeOptions[0]?.value || '';
  if (subordinates.length === 0)
    return <p className="muted">Add a subordinate first: Trust Marks are issued to one.</p>;
  return (
    <form
      aria-label="Issue a Trust Mark"
      onSubmit={async (e) => {
        e.preventDefault();
        const body: Record<string, unknown> = { trust_mark_type: chosenType, sub: chosen };
        if (days) body.expires_in = Number(days) * 86_400;
        (await action.run(
          () => api('/admin/v1/federation/trust-marks', { method: 'POST', body }),
          'Trust Mark issued.',
        )) && onDone();
      }}
    >
      <ProblemAlert error={types.error} />
      <SelectField
        label="Trust Mark type"
        options={typeOptions}
        value={chosenType}
        onChange={(e) => setType(e.target.value)}
      />
      <SelectField
        label="Subject (an active subordinate)"
        options={subordinates.map((s) => ({ value: s.entity_id, label: s.entity_id }))}
        value={chosen}
        onChange={(e) => setSub(e.target.value)}
      />
      <Field
        label="Valid for (days, optional)"
        type="number"
        min={1}
        max={3650}
        value={days}
        onChange={(e) => setDays(e.target.value)}
      />
      <div className="actions">
        <Button type="submit" isDisabled={action.busy || !chosenType || !chosen}>
          Issue Trust Mark
        </Button>
      </div>
      {action.feedback}
    </form>
  );
}

export function FederationPage() {
  const canChange = useCanChange();
  const orgs = useApiData<Items<OrganisationSummary>>('/admin/v1/organisations', {
    query: { status: 'active' },
  });
  const [subStatus, setSubStatus] = useState('active');
  const [subOrg, setSubOrg] = useState('');
  const subs = usePagedList<Subordinate>('/admin/v1/federation/subordinates', {
    query: { status: subStatus, org_id: subOrg },
  });
  // The subjects a Trust Mark may be issued to: the largest page the API serves.
  const activeSubs = useApiData<Items<Subordinate>>('/admin/v1/federation/subordinates', {
    query: { status: 'active', limit: '1000' },
  });
  const [markStatus, setMarkStatus] = useState('active');
  const [markSub, setMarkSub] = useState('');
  const marks = usePagedList<TrustMark>('/admin/v1/federation/trust-marks', {
    query: { status: markStatus, sub: markSub.trim() },
  });
  const [removing, setRemoving] = useState<string | undefined>(undefined);
  const [revoking, setRevoking] = useState<string | undefined>(undefined);
  const names = new Map((orgs.data?.items ?? []).map((o) => [o.id, o.name]));
  const reloadSubs = () => {
    void subs.reload();
    void activeSubs.reload();
  };
  return (
    <Page title="Federation">
      <ReadOnlyNote />
      <Section title="Subordinates">
        <p className="muted">The Immediate Subordinates the platform issues Subordinate Statements about.</p>
        <div className="op-filters">
          <SelectField
            label="Subordinate status"
            options={[
              { value: 'active', label: 'Active' },
              { value: 'removed', label: 'Removed' },
              { value: '', label: 'Any status' },
            ]}
            value={subStatus}
            onChange={(e) => setSubStatus(e.target.value)}
          />
          <SelectField
            label="Subordinate organisation"
            options={[
              { value: '', label: 'Any organisation' },
              ...(orgs.data?.items ?? []).map((o) => ({ value: o.id, label: o.name })),
            ]}
            value={subOrg}
            onChange={(e) => setSubOrg(e.target.value)}
          />
        </div>
        <ProblemAlert error={subs.error} />
        {subs.data ? (
          <Table
            caption="Federation subordinates"
            rows={subs.data.items}
            rowKey={(s) => s.entity_id}
            empty="No subordinate."
            columns={[
              { header: 'Entity Identifier', cell: (s) => <span className="op-mono">{s.entity_id}</span> },
              { header: 'Organisation', cell: (s) => orgLink(s.org_id, names.get(s.org_id)) },
              { header: 'Kind', cell: (s) => (s.is_intermediate ? 'intermediate' : 'leaf') },
              { header: 'Policy', cell: (s) => (s.metadata_policy ? 'yes' : '—') },
              { header: 'Status', cell: (s) => <StatusBadge status={s.status} /> },
              { header: 'Added', cell: (s) => formatDate(s.created_at) },
              ...(canChange
                ? [
                    {
                      header: 'Actions',
                      cell: (s: Subordinate) =>
                        s.status === 'active' ? (
                          <Button
                            variant="secondary"
                            aria-label={`Remove subordinate ${s.entity_id}`}
                            onPress={() => setRemoving(s.entity_id)}
                          >
                            Remove…
                          </Button>
                        ) : null,
                    },
                  ]
                : []),
            ]}
          />
        ) : subs.loading ? (
          <Loading what="subordinates" />
        ) : null}
        <LoadMore more={subs.more} what="subordinates" />
        {removing ? (
          <RemoveForm
            what={removing}
            label="Remove subordinate"
            path={`/admin/v1/federation/subordinates/${encodeURIComponent(removing)}/remove`}
            onCancel={() => setRemoving(undefined)}
            onDone={() => {
              setRemoving(undefined);
              reloadSubs();
              void marks.reload();
            }}
          />
        ) : null}
      </Section>
      {canChange ? (
        <Section title="Add a subordinate">
          <AddSubordinateForm orgs={orgs.data?.items ?? []} onDone={reloadSubs} />
        </Section>
      ) : null}
      <Section title="Trust Marks">
        <div className="op-filters">
          <SelectField
            label="Trust Mark status"
            options={[
              { value: 'active', label: 'Active' },
              { value: 'revoked', label: 'Revoked' },
              { value: '', label: 'Any status' },
            ]}
            value={markStatus}
            onChange={(e) => setMarkStatus(e.target.value)}
          />
          <Field
            label="Trust Mark subject"
            placeholder="https://entity.example"
            maxLength={2048}
            value={markSub}
            onChange={(e) => setMarkSub(e.target.value)}
          />
        </div>
        <ProblemAlert error={marks.error} />
        {marks.data ? (
          <Table
            caption="Trust Marks the platform issued"
            rows={marks.data.items}
            rowKey={(m) => m.id}
            empty="No Trust Mark."
            columns={[
              { header: 'Type', cell: (m) => <span className="op-mono">{m.trust_mark_type}</span> },
              { header: 'Subject', cell: (m) => <span className="op-mono">{m.sub}</span> },
              { header: 'Issued', cell: (m) => formatDate(new Date(m.iat * 1000).toISOString()) },
              {
                header: 'Expires',
                cell: (m) => (m.exp ? formatDate(new Date(m.exp * 1000).toISOString()) : 'no expiry'),
              },
              { header: 'Status', cell: (m) => <StatusBadge status={m.status} /> },
              ...(canChange
                ? [
                    {
                      header: 'Actions',
                      cell: (m: TrustMark) =>
                        m.status === 'active' ? (
                          <Button
                            variant="secondary"
                            aria-label={`Revoke Trust Mark ${m.trust_mark_type} of ${m.sub}`}
                            onPress={() => setRevoking(m.id)}
                          >
                            Revoke…
                          </Button>
                        ) : null,
                    },
                  ]
                : []),
            ]}
          />
        ) : marks.loading ? (
          <Loading what="Trust Marks" />
        ) : null}
        <LoadMore more={marks.more} what="Trust Marks" />
        {revoking ? (
          <RemoveForm
            what={revoking}
            label="Revoke Trust Mark"
            path={`/admin/v1/federation/trust-marks/${encodeURIComponent(revoking)}/revoke`}
            onCancel={() => setRevoking(undefined)}
            onDone={() => {
              setRevoking(undefined);
              void marks.reload();
            }}
          />
        ) : null}
      </Section>
      {canChange ? (
        <Section title="Issue a Trust Mark">
          <IssueTrustMarkForm
            subordinates={activeSubs.data?.items ?? []}
            onDone={() => void marks.reload()}
          />
        </Section>
      ) : null}
    </Page>
  );
}
