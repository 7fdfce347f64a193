import { Navigate, NavLink, Outlet, Route, Routes, useLocation, useParams } from 'react-router';
import { api } from './api.ts';
import { routes as authRoutes } from './routes/auth.tsx';
import { routes as goLiveRoutes } from './routes/go-live.tsx';
import { routes as operatorDirectoryRoutes } from './routes/operator-directory.tsx';
import { routes as operatorMonitoringRoutes } from './routes/operator-monitoring.tsx';
import { routes as partnerRoutes } from './routes/partner.tsx';
import type { RouteDef } from './routes/types.ts';
import { type SessionView, useSessionState } from './session.tsx';
import { Button, Loading, Page } from './ui.tsx';

const ALL: RouteDef[] = [
  ...authRoutes,
  ...partnerRoutes,
  ...goLiveRoutes,
  ...operatorDirectoryRoutes,
  ...operatorMonitoringRoutes,
];

const byOrder = (a: RouteDef, b: RouteDef) => (a.nav?.order ?? 0) - (b.nav?.order ?? 0);

const SIGN_IN_ERRORS: Record<string, string> = {
  sign_in_unavailable: 'Sign-in is unavailable right now. Try again in a moment.',
  sign_in_expired: 'The sign-in took too long. Please sign in again.',
  access_denied: 'Sign-in was cancelled.',
  sign_in_failed: 'Sign-in failed. Please sign in again.',
  account_disabled: 'This account is disabled. Ask an administrator.',
};

function SignIn() {
  const location = useLocation();
  const error = new URLSearchParams(location.search).get('error');
  // Back to the page that asked for a session once signed in (the server accepts /console/ paths only).
  const returnTo = `/console${location.pathname === '/' ? '/' : location.pathname}`;
  return (
    <main id="main" className="sign-in">
      <Page title="Sign in to Accredit">
        {error ? (
          <div className="alert alert-error" role="alert">
            {SIGN_IN_ERRORS[error] ?? 'Sign-in failed. Please sign in again.'}
          </div>
        ) : null}
        <p>Operators and partner members sign in with their Accredit account.</p>
        <p>
          <a
            className="button button-primary"
            href={`/console/auth/login?return_to=${encodeURIComponent(returnTo)}`}
          >
            Sign in
          </a>
        </p>
      </Page>
    </main>
  );
}

function SignOut() {
  return (
    <Button
      variant="secondary"
      onPress={async () => {
        await api('/console/auth/logout', { method: 'POST' });
        window.location.assign('/console/');
      }}
    >
      Sign out
    </Button>
  );
}

function Navigation({ session }: { session: SessionView }) {
  const { orgId } = useParams();
  const operator = ALL.filter((r) => r.nav?.area === 'operator').sort(byOrder);
  const partner = ALL.filter((r) => r.nav?.area === 'partner').sort(byOrder);
  const org = session.memberships.find((m) => m.orgId === orgId) ?? session.memberships[0];
  return (
    <nav aria-label="Main">
      {session.operator ? (
        <>
          <h2 className="nav-heading">Operator</h2>
          <ul>
            {operator.map((r) => (
              <li key={r.path}>
                <NavLink to={`/${r.path}`} end={r.path === 'operator'}>
                  {r.nav?.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </>
      ) : null}
      {org ? (
        <>
          <h2 className="nav-heading">{org.orgName}</h2>
          <ul>
            {partner.map((r) => (
              <li key={r.path}>
                <NavLink to={`/${r.path.replace(':orgId', org.orgId)}`} end={r.path === 'orgs/:orgId'}>
                  {r.nav?.label}
                </NavLink>
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </nav>
  );
}

function Shell({ session }: { session: SessionView }) {
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Accredit</span>
        <span className="whoami">
          Signed in as <strong>{session.account.name ?? session.account.username}</strong>
          {session.operator ? ` (${session.operator})` : ''}
        </span>
        <SignOut />
      </header>
      <div className="layout">
        <Navigation session={session} />
        <main id="main" tabIndex={-1}>
          <Outlet />
        </main>
      </div>
    </div>
  );
}

function Home({ session }: { session: SessionView }) {
  if (session.operator) return <Navigate to="/operator" replace />;
  const first = session.memberships[0];
  if (first) return <Navigate to={`/orgs/${first.orgId}`} replace />;
  return (
    <Page title="No access yet">
      <p>
        Your account is not a member of any organisation. Ask your organisation's administrator for an
        invitation.
      </p>
    </Page>
  );
}

function NotFound() {
  return (
    <Page title="Page not found">
      <p>There is no such page.</p>
    </Page>
  );
}

export function App() {
  const { state } = useSessionState();
  const publicRoutes = ALL.filter((r) => r.public);
  if (state.status === 'loading') return <Loading what="your session" />;
  if (state.status === 'signed-out') {
    return (
      <Routes>
        {publicRoutes.map((r) => (
          <Route key={r.path} path={r.path} element={<main id="main">{r.element}</main>} />
        ))}
        <Route path="*" element={<SignIn />} />
      </Routes>
    );
  }
  const session = state.session;
  return (
    <Routes>
      {publicRoutes.map((r) => (
        <Route key={r.path} path={r.path} element={<main id="main">{r.element}</main>} />
      ))}
      <Route element={<Shell session={session} />}>
        <Route index element={<Home session={session} />} />
        {ALL.filter((r) => !r.public).map((r) => (
          <Route key={r.path} path={r.path} element={r.element} />
        ))}
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
