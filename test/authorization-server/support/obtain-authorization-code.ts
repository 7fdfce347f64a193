import { type Dispatcher, request } from 'undici';

/**
 * Obtains an authorization code the way a FAPI 2.0 client's user does: the pushed request's `request_uri` is sent
 * to the authorization endpoint, the end user signs in and consents through the authorization server's real
 * interaction pages (plain HTTP forms: the CSRF token read from the page, the interaction cookies kept), and
 * the code comes back on the redirect to the client (with RFC 9207 `iss`). Nothing is written behind the
 * server's back: the negatives that use this test the real flow.
 */
export interface AuthorizationResponse {
  /** The redirect's query parameters: `code`, `state`, `iss` (RFC 9207), or `error`. */
  params: URLSearchParams;
}

export interface ObtainAuthorizationCodeInput {
  baseUrl: string;
  clientId: string;
  /** The pushed request's `request_uri`, or (with `request`) the Request Object sent by value. */
  requestUri?: string;
  request?: string;
  /** A dispatcher (undici Agent) trusting the server's CA. */
  dispatcher: unknown;
  /** A built-in account that exists on the server. */
  username: string;
  password: string;
  /** Sees each page the flow shows (login, consent), before its form is sent. */
  onPage?: (html: string) => void;
}

const MAX_STEPS = 12;

export async function obtainAuthorizationCode(
  input: ObtainAuthorizationCodeInput,
): Promise<AuthorizationResponse> {
  const base = new URL(input.baseUrl);
  const cookies = new Map<string, string>();
  const dispatcher = input.dispatcher as Dispatcher;
  const keep = (setCookie: string | string[] | undefined) => {
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      if (at > 0) cookies.set(pair!.slice(0, at).trim(), pair!.slice(at + 1).trim());
    }
  };
  const cookieHeader = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const go = async (url: URL, form?: Record<string, string>) => {
    const res = await request(url, {
      dispatcher,
      method: form ? 'POST' : 'GET',
      headers: {
        cookie: cookieHeader(),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    keep(res.headers['set-cookie']);
    const body = await res.body.text();
    const location = res.headers.location;
    return {
      status: res.statusCode,
      body,
      location: typeof location === 'string' ? new URL(location, url) : undefined,
    };
  };
  const formOf = (page: string, action: string) => {
    const form = new RegExp(`<form method="post" action="([^"]*/${action})"[^>]*>([\\s\\S]*?)</form>`).exec(
      page,
    );
    if (!form) throw new Error(`no ${action} form on the page`);
    const csrf = /name="csrf" value="([^"]+)"/.exec(form[2]!)?.[1];
    if (!csrf) throw new Error(`no CSRF token in the ${action} form`);
    return { url: new URL(form[1]!.replace(/&amp;/g, '&'), base), csrf };
  };

  let step = await go(
    new URL(
      `/auth?${new URLSearchParams({
        client_id: input.clientId,
        ...(input.requestUri !== undefined && { request_uri: input.requestUri }),
        ...(input.request !== undefined && { request: input.request }),
      })}`,
      base,
    ),
  );
  for (let i = 0; i < MAX_STEPS; i++) {
    if (step.location && step.location.origin !== base.origin) {
      return { params: step.location.searchParams };
    }
    if (step.location) {
      step = await go(step.location);
      continue;
    }
    if (step.status !== 200)
      throw new Error(`the authorization flow stopped with ${step.status}: ${step.body.slice(0, 200)}`);
    input.onPage?.(step.body);
    if (step.body.includes('/login"')) {
      const login = formOf(step.body, 'login');
      step = await go(login.url, { csrf: login.csrf, username: input.username, password: input.password });
    } else if (step.body.includes('/consent"')) {
      const consent = formOf(step.body, 'consent');
      step = await go(consent.url, { csrf: consent.csrf, decision: 'allow' });
    } else {
      throw new Error(`an unexpected page: ${step.body.slice(0, 200)}`);
    }
  }
  throw new Error('the authorization flow did not end');
}
