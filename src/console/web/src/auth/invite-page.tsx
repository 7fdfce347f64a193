import { type FormEvent, useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { ApiError, api } from '../api.ts';
import { useSessionState } from '../session.tsx';
import { Button, Field, Loading, Notice, Page, ProblemAlert, useApiData } from '../ui.tsx';
import { ROLE_LABELS } from './roles.ts';

interface InvitationView {
  organisation: { id: string; name: string };
  role: 'org_admin' | 'developer' | 'viewer';
  email: string | null;
  expires_at: string;
}

interface Accepted {
  organisation: { id: string; name: string };
  role: string;
  account: { id: string; username: string };
  created: boolean;
}

const signInHref = (returnTo: string) => `/console/auth/login?return_to=${encodeURIComponent(returnTo)}`;

/** The one-time invitation link: what it invites to, then Accept (signed in) or a new account (not). */
export function InvitePage() {
  const { token = '' } = useParams();
  const { state, reload } = useSessionState();
  const navigate = useNavigate();
  const path = `/console/api/invitations/${encodeURIComponent(token)}`;
  const { data, error, loading } = useApiData<InvitationView>(path);
  const [accepted, setAccepted] = useState<Accepted | undefined>(undefined);
  const [failure, setFailure] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  if (accepted?.created) {
    return (
      <Page title="Your account is ready">
        <Notice>
          You joined {accepted.organisation.name} as {ROLE_LABELS[accepted.role] ?? accepted.role}, with the
          username <strong>{accepted.account.username}</strong>.
        </Notice>
        <p>
          <a className="button button-primary" href={signInHref(`/console/orgs/${accepted.organisation.id}`)}>
            Sign in
          </a>
        </p>
      </Page>
    );
  }
  if (loading) return <Loading what="the invitation" />;
  if (error || !data) {
    const gone = error instanceof ApiError && error.status === 410;
    return (
      <Page title={gone ? 'This invitation can no longer be used' : 'Invitation not found'}>
        <p>
          {gone
            ? 'It has been used already, has expired or was revoked. Ask the organisation’s administrator for a new one.'
            : 'Check that you copied the whole link.'}
        </p>
      </Page>
    );
  }

  const accept = async (body?: Record<string, string>) => {
    setBusy(true);
    setFailure(undefined);
    try {
      const result = await api<Accepted>(`${path}/accept`, { method: 'POST', body });
      setAccepted(result);
      if (!result.created) {
        await reload();
        navigate(`/orgs/${result.organisation.id}`);
      }
    } catch (err) {
      setFailure(err);
    } finally {
      setBusy(false);
    }
  };

  const onCreate = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const body: Record<string, string> = {};
    for (const key of ['username', 'password', 'name', 'email']) {
      const value = String(form.get(key) ?? '').trim();
      if (value) body[key] = key === 'password' ? String(form.get(key)) : value;
    }
    void accept(body);
  };

  return (
    <Page title={`Join ${data.organisation.name}`}>
      <p>
        You are invited to join <strong>{data.organisation.name}</strong> as{' '}
        <strong>{ROLE_LABELS[data.role] ?? data.role}</strong>. The invitation works once and expires on{' '}
        {new Date(data.expires_at).toLocaleString()}.
      </p>
      <ProblemAlert error={failure} />
      {state.status === 'signed-in' ? (
        <>
          <p>
            You are signed in as <strong>{state.session.account.username}</strong>.
          </p>
          <Button onPress={() => accept()} isDisabled={busy}>
            Accept the invitation
          </Button>
        </>
      ) : (
        <>
          <p>
            Already have an Accredit account?{' '}
            <a href={signInHref(`/console/invite/${token}`)}>Sign in first</a>, then accept.
          </p>
          <form className="form" onSubmit={onCreate} aria-labelledby="create-account">
            <h2 id="create-account">Create your account</h2>
            <Field label="Username" name="username" autoComplete="username" required maxLength={254} />
            <Field
              label="Password"
              name="password"
              type="password"
              autoComplete="new-password"
              required
              minLength={8}
              hint="At least the length the platform's password policy asks for."
            />
            <Field label="Name (optional)" name="name" autoComplete="name" maxLength={200} />
            <Field
              label="E-mail (optional)"
              name="email"
              type="email"
              autoComplete="email"
              defaultValue={data.email ?? ''}
              maxLength={254}
            />
            <Button type="submit" isDisabled={busy}>
              Create account and join
            </Button>
          </form>
        </>
      )}
    </Page>
  );
}
