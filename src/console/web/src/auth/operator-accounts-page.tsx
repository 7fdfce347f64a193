import { type FormEvent, useState } from 'react';
import { api } from '../api.ts';
import './auth.css';
import { LoadMore, usePagedList } from '../large-lists/paged.tsx';
import { useSession } from '../session.tsx';
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
} from '../ui.tsx';
import { OPERATOR_ROLE_OPTIONS, ROLE_LABELS } from './roles.ts';

interface OperatorAccount {
  account_id: string;
  username: string | null;
  name: string | null;
  role: string;
  created_at: string;
  created_by: string;
}

/** Who may use the operator console; administrators grant, change and revoke. */
export function OperatorAccountsPage() {
  const session = useSession();
  const isAdmin = session.operator === 'administrator';
  const [roleFilter, setRoleFilter] = useState('');
  const list = usePagedList<OperatorAccount>('/admin/v1/operator-accounts', { query: { role: roleFilter } });
  const [failure, setFailure] = useState<unknown>(undefined);

  const change = async (fn: () => Promise<unknown>) => {
    setFailure(undefined);
    try {
      await fn();
      await list.reload();
    } catch (err) {
      setFailure(err);
    }
  };
  const path = (who: string) => `/admin/v1/operator-accounts/${encodeURIComponent(who)}`;

  const grant = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const username = String(form.get('username') ?? '').trim();
    if (!username) return;
    void change(() => api(path(username), { method: 'PUT', body: { role: String(form.get('role')) } }));
  };

  return (
    <Page title="Operator accounts">
      <ProblemAlert error={failure} />
      <Section title="Accounts with an operator role">
        <SelectField
          label="Filter by role"
          options={[{ value: '', label: 'Every role' }, ...OPERATOR_ROLE_OPTIONS]}
          value={roleFilter}
          onChange={(e) => setRoleFilter(e.currentTarget.value)}
        />
        {list.loading && !list.data ? <Loading what="operator accounts" /> : null}
        <ProblemAlert error={list.error} />
        {list.data ? (
          <div className="inline-role-table">
            <Table
              caption="Operator accounts"
              rowKey={(a) => a.account_id}
              rows={list.data.items}
              columns={[
                { header: 'Username', cell: (a) => a.username ?? a.account_id },
                { header: 'Name', cell: (a) => a.name ?? '—' },
                {
                  header: 'Role',
                  cell: (a) =>
                    isAdmin ? (
                      <SelectField
                        label={`Role of ${a.username ?? a.account_id}`}
                        options={OPERATOR_ROLE_OPTIONS}
                        value={a.role}
                        onChange={(e) => {
                          const role = e.currentTarget.value;
                          void change(() => api(path(a.account_id), { method: 'PUT', body: { role } }));
                        }}
                      />
                    ) : (
                      (ROLE_LABELS[a.role] ?? a.role)
                    ),
                },
                { header: 'Since', cell: (a) => formatDate(a.created_at) },
                { header: 'Granted by', cell: (a) => a.created_by },
                ...(isAdmin
                  ? [
                      {
                        header: 'Actions',
                        cell: (a: OperatorAccount) => (
                          <Button
                            variant="danger"
                            aria-label={`Revoke ${a.username ?? a.account_id}`}
                            onPress={() => change(() => api(path(a.account_id), { method: 'DELETE' }))}
                          >
                            Revoke
                          </Button>
                        ),
                      },
                    ]
                  : []),
              ]}
            />
            <LoadMore more={list.more} what="operator accounts" />
          </div>
        ) : null}
      </Section>
      {isAdmin ? (
        <Section title="Grant an operator role">
          <form className="form" onSubmit={grant} aria-label="Grant an operator role">
            <Field
              label="Username"
              name="username"
              required
              maxLength={254}
              hint="An account of the built-in store (accredit user add)."
            />
            <SelectField label="Role" name="role" options={OPERATOR_ROLE_OPTIONS} defaultValue="auditor" />
            <div className="actions">
              <Button type="submit">Grant</Button>
            </div>
          </form>
        </Section>
      ) : null}
    </Page>
  );
}
