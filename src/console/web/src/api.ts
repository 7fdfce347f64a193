/**
 * The console's one HTTP client: every call goes to the documented admin (/admin/v1) and partner
 * (/partner/v1) APIs, or the console's own session endpoints (/console/api, /console/auth), with the session
 * cookie (same origin, HttpOnly: the page never sees it) and the CSRF token on unsafe methods.
 */

/** RFC 9457 problem details, as every non-OAuth endpoint of the platform answers errors. */
export interface Problem {
  type?: string;
  title?: string;
  status: number;
  detail?: string;
  code?: string;
  errors?: unknown[];
}

export class ApiError extends Error {
  readonly problem: Problem;
  constructor(problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${problem.status}`);
    this.problem = problem;
  }
  get status(): number {
    return this.problem.status;
  }
}

let csrfToken: string | undefined;

/** Set from GET /console/api/session once signed in. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Raw text body (a PEM), sent as-is with this content type. */
  text?: { body: string; contentType: string };
  query?: Record<string, string | number | boolean | undefined>;
  signal?: AbortSignal;
}

export function url(path: string, query?: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

async function send(path: string, options: RequestOptions = {}): Promise<Response> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json' };
  let body: BodyInit | undefined;
  if (options.text) {
    headers['content-type'] = options.text.contentType;
    body = options.text.body;
  } else if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(url(path, options.query), {
    method,
    headers,
    body,
    credentials: 'same-origin',
    signal: options.signal,
  });
  if (!response.ok) {
    let problem: Problem = { status: response.status, title: response.statusText };
    try {
      const parsed = (await response.json()) as Partial<Problem>;
      problem = { ...problem, ...parsed, status: response.status };
    } catch {
      // not JSON: keep the status line
    }
    throw new ApiError(problem);
  }
  return response;
}

/** A JSON call; resolves to the parsed body (undefined for 204). */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** A call answering text (a PEM bundle, an OpenAPI document). */
export async function apiText(path: string, options: RequestOptions = {}): Promise<string> {
  const response = await send(path, { ...options });
  return response.text();
}
