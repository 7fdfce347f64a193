import type { Agent } from 'undici';
import { type Answer, send } from './http.ts';

export interface Endpoints {
  token: string;
  revocation: string | undefined;
}

type Metadata = {
  token_endpoint?: unknown;
  revocation_endpoint?: unknown;
  mtls_endpoint_aliases?: { token_endpoint?: unknown; revocation_endpoint?: unknown };
};

const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * RFC 8414 discovery (then OpenID Connect's well-known name): the mTLS aliases of RFC 8705 §5 are preferred,
 * since only they ask for the client certificate the grant authenticates with.
 */
export async function discoverEndpoints(issuer: string, agent: Agent): Promise<Endpoints> {
  const base = issuer.replace(/\/+$/, '');
  const failures: string[] = [];
  for (const wellKnown of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    const answer = await send(agent, `${base}${wellKnown}`, 'GET');
    if (answer.kind === 'http' && answer.status === 200 && typeof answer.body === 'object') {
      const m = answer.body as Metadata;
      const token = text(m.mtls_endpoint_aliases?.token_endpoint) ?? text(m.token_endpoint);
      if (token === undefined) throw new Error(`${base}${wellKnown} names no token endpoint`);
      return {
        token,
        revocation: text(m.mtls_endpoint_aliases?.revocation_endpoint) ?? text(m.revocation_endpoint),
      };
    }
    failures.push(`${wellKnown}: ${answer.kind === 'http' ? answer.status : answer.code}`);
  }
  throw new Error(`discovery at ${base} failed (${failures.join('; ')})`);
}

export interface TokenAnswer {
  answer: Answer;
  accessToken: string | undefined;
}

/** Client credentials (RFC 6749 §4.4) authenticated by the certificate the agent presents (RFC 8705 §2). */
export async function clientCredentials(
  endpoint: string,
  clientId: string,
  scope: string | undefined,
  agent: Agent,
): Promise<TokenAnswer> {
  const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId });
  if (scope !== undefined) form.set('scope', scope);
  const answer = await send(
    agent,
    endpoint,
    'POST',
    { 'content-type': 'application/x-www-form-urlencoded' },
    form.toString(),
  );
  const body = answer.kind === 'http' ? (answer.body as { access_token?: unknown }) : undefined;
  const accessToken =
    answer.kind === 'http' && answer.status === 200 && typeof body?.access_token === 'string'
      ? body.access_token
      : undefined;
  return { answer, accessToken };
}

/** RFC 7009 token revocation, the client authenticated by its certificate. */
export function revokeToken(
  endpoint: string,
  clientId: string,
  token: string,
  agent: Agent,
): Promise<Answer> {
  const form = new URLSearchParams({ token, token_type_hint: 'access_token', client_id: clientId });
  return send(
    agent,
    endpoint,
    'POST',
    { 'content-type': 'application/x-www-form-urlencoded' },
    form.toString(),
  );
}
