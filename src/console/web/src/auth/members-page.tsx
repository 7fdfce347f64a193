import { type FormEvent, useEffect, useState } from 'react';
import { useParams } from 'react-router';
import { api } from '../api.ts';
import './auth.css';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
import { useSession } from '../session.tsx';
import {
  Badge,
  Button,
  CopyBlock,
  Field,
  formatDate,
  Loading,
  Page,
  ProblemAlert,
  Section,
  SelectField,
  Table,
} from '../ui.tsx';
import { MEMBER_ROLE_OPTIONS, ROLE_LABELS } from './roles.ts';

interface Member {
  account_id: string;
  username: string | null;
  name: string | null;
  email: string | null;
  role: string;
  created_at: string;
}

interface Invitation {
  id: string;
  role: string;
  email: string | null;
  status: 'pending' | 'accepted' | 'revoked' | 'expired';
  created_by: string;
  created_at: string;
  expires_at: string;
}

const STATUS_TONE = { pending: 'warn', accepted: 'good', revoked: 'neutral', expired: 'neutral' } as const;

/** The organisation's members; org admins change roles, remove members and invite with one-time links. */
export function MembersPage() {
  const { orgId = '' } = useParams();
  const session = useSession();
  const membership = session.memberships.find((m) => m.orgId === orgId);
  const isAdmin = membership?.role === 'org_admin';
  const base = `/partner/v1/organisations/${encodeURIComponent(orgId)}`;
  const [roleFilter, setRoleFilter] = useState('');
  const members = usePagedList<Member>(`${base}/members`, { query: { role: roleFilter } });
  const [failure, setFailure] = useState<unknown>(undefined);
  const [link, setLink] = useState<string | undefined>(undefined);
  // Bumped after every change, so the invitations (their own paged list) read again too.
  const [changes, setChanges] = useState(0);

  const change = async (fn: () => Promise<unknown>) => {
    setFailure(undefined);
    try {
      await fn();
      await members.reload();
      setChanges((n) => n + 1);
    } catch (err) {
      setFailure(err);
    }
  };

  const invite = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get('email') ?? '').trim();
    void change(async () => {
      const created = await api<{ url: string }>(`${base}/invitations`, {
        method: 'POST',
        body: { role: String(form.get('role')), ...(email && { email }) },
      });
      setLink(created.url);
    });
  };

  return (
    <Page title="Members">
      <ProblemAlert error={failure} />
      <Section title="People in this organisation">
        <SelectField
          label="Filter by role"
          options={[{ value: '', label: 'Every role' }, ...MEMBER_ROLE_OPTIONS]}
          value={roleFilter}
          onChange={(e) => setRoleFilter(e.currentTarget.value)}
        />
        {members.loading && !members.data ? <Loading what="members" /> : null}
        <ProblemAlert error={members.error} />
        {members.data ? (
          <div className="inline-role-table">
            <Table
              caption="Members"
              rowKey={(m) => m.account_id}
              rows={members.data.items}
              columns={[
                { header: 'Username', cell: (m) => m.username ?? m.account_id },
                { header: 'Name', cell: (m) => m.name ?? '—' },
                {
                  header: 'Role',
                  cell: (m) =>
                    isAdmin ? (
                      <SelectField
                        label={`Role of ${m.username ?? m.account_id}`}
                        options={MEMBER_ROLE_OPTIONS}
                        value={m.role}
                        onChange={(e) => {
                          const role = e.currentTarget.value;
                          void change(() =>
                            api(`${base}/members/${encodeURIComponent(m.account_id)}`, {
                              method: 'PATCH',
                              body: { role },
                            }),
                          );
                        }}
                      />
                    ) : (
                      (ROLE_LABELS[m.role] ?? m.role)
                    ),
                },
                { header: 'Member since', cell: (m) => formatDate(m.created_at) },
                ...(isAdmin
                  ? [
                      {
                        header: 'Actions',
                        cell: (m: Member) => (
                          <Button
                            variant="danger"
                            aria-label={`Remove ${m.username ?? m.account_id}`}
                            onPress={() =>
                              change(() =>
                                api(`${base}/members/${encodeURIComponent(m.account_id)}`, {
                                  method: 'DELETE',
                                }),
                              )
                            }
                          >
                            Remove
                          </Button>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
            <LoadMore more={members.more} what="members" />
          </div>
        ) : null}
      </Section>
      {isAdmin ? (
        <Section title="Invitations">
          <form className="form" onSubmit={invite} aria-label="Invite someone">
            <SelectField label="Role" name="role" options={MEMBER_ROLE_OPTIONS} defaultValue="developer" />
            <Field label="E-mail (optional)" name="email" type="email" maxLength={254} />
            <div className="actions">
              <Button type="submit">Invite</Button>
            </div>
          </form>
          {link ? (
            <CopyBlock label="Invitation link: shown only now, works once, valid for 7 days" text={link} />
          ) : null}
          <InvitationList base={base} changes={changes} change={change} />
        </Section>
      ) : null}
    </Page>
  );
}

const INVITATION_STATUS_OPTIONS = [
  { value: '', label: 'Every status' },
  { value: 'pending', label: 'Pending' },
  { value: 'accepted', label: 'Accepted' },
  { value: 'revoked', label: 'Revoked' },
  { value: 'expired', label: 'Expired' },
];

/** The organisation's invitations, newest first, a page at a time (org admins only). */
function InvitationList({
  base,
  changes,
  change,
}: {
  base: string;
  changes: number;
  change: (fn: () => Promise<unknown>) => Promise<void>;
}) {
  const [status, setStatus] = useState('');
  const invitations = usePagedList<Invitation>(`${base}/invitations`, { query: { status } });
  const { reload } = invitations;
  // biome-ignore lint/correctness/useExhaustiveDependencies: read again after each change of the page.
  useEffect(() => {
    if (changes > 0) void reload();
  }, [changes]);
  return (
    <>
      <SelectField
        label="Filter invitations by status"
        options={INVITATION_STATUS_OPTIONS}
        value={status}
        onChange={(e) => setStatus(e.currentTarget.value)}
      />
      <ProblemAlert error={invitations.error} />
      {invitations.data ? (
        <Table
          caption="Invitations"
          rowKey={(i) => i.id}
          rows={invitations.data.items}
          empty="No invitations yet."
          columns={[
            { header: 'Role', cell: (i) => ROLE_LABELS[i.role] ?? i.role },
            { header: 'E-mail', cell: (i) => i.email ?? '—' },
            { header: 'Status', cell: (i) => <Badge tone={STATUS_TONE[i.status]}>{i.status}</Badge> },
            { header: 'Invited by', cell: (i) => i.created_by },
            { header: 'Expires', cell: (i) => formatDate(i.expires_at) },
            {
              header: 'Actions',
              cell: (i) =>
                i.status === 'pending' ? (
                  <Button
                    variant="secondary"
                    aria-label={`Revoke the ${i.role} invitation${i.email ? ` for ${i.email}` : ''}`}
                    onPress={() =>
                      change(() =>
                        api(`${base}/invitations/${encodeURIComponent(i.id)}`, { method: 'DELETE' }),
                      )
                    }
                  >
                    Revoke
                  </Button>
                ) : (
                  '—'
                ),
            },
          ]}
        />
      ) : null}
      {invitations.data ? <LoadMore more={invitations.more} what="invitations" /> : null}
    </>
  );
}
