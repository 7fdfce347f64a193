export { type CallerResolver, type ConsoleCaller, createCallerResolver, UNSAFE_METHODS } from './caller.ts';
export {
  countOperatorAccounts,
  listOperatorAccounts,
  listOperatorAccountsPage,
  OPERATOR_ACCOUNT_PAGE_KEY,
  OPERATOR_ROLES,
  type OperatorRole,
  operatorRoleOf,
  removeOperatorRole,
  setOperatorRole,
} from './operator-accounts.ts';
export { CONSOLE_BUILD_DIR, CONSOLE_CSP, registerConsoleWeb, setConsoleHeaders } from './serve-web.ts';
export {
  type ConsoleSession,
  CSRF_HEADER,
  csrfMatches,
  csrfTokenOf,
  DEFAULT_SESSION_POLICY,
  SESSION_COOKIE,
  type SessionPolicy,
  type SessionStore,
  sessionCookie,
  sessionSecretOf,
  sessionStore,
} from './sessions.ts';
