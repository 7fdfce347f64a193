import { createContext, type ReactNode, useCallback, useContext, useEffect, useState } from 'react';
import { ApiError, api, setCsrfToken } from './api.ts';

/** GET /console/api/session: who is signed in (see docs/console.md). */
export interface SessionView {
  account: { id: string; username: string; name: string | null; email: string | null };
  operator: 'administrator' | 'auditor' | null;
  memberships: Array<{
    orgId: string;
    orgName: string;
    orgStatus: string;
    role: 'org_admin' | 'developer' | 'viewer';
  }>;
  csrfToken: string;
  expiresAt: string;
}

type State = { status: 'loading' } | { status: 'signed-out' } | { status: 'signed-in'; session: SessionView };

const SessionContext = createContext<{ state: State; reload: () => Promise<void> }>({
  state: { status: 'loading' },
  reload: async () => {},
});

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: 'loading' });
  const reload = useCallback(async () => {
    try {
      const session = await api<SessionView>('/console/api/session');
      setCsrfToken(session.csrfToken);
      setState({ status: 'signed-in', session });
    } catch (err) {
      setCsrfToken(undefined);
      if (err instanceof ApiError && err.status === 401) setState({ status: 'signed-out' });
      else setState({ status: 'signed-out' });
    }
  }, []);
  useEffect(() => {
    void reload();
  }, [reload]);
  return <SessionContext.Provider value={{ state, reload }}>{children}</SessionContext.Provider>;
}

export const useSessionState = () => useContext(SessionContext);

/** The signed-in session; only inside pages rendered for a signed-in caller. */
export function useSession(): SessionView {
  const { state } = useContext(SessionContext);
  if (state.status !== 'signed-in') throw new Error('useSession outside a signed-in page');
  return state.session;
}
