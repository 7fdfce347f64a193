import { readFileSync } from 'node:fs';
import { type Agent, request } from 'undici';
import { CliError } from '../cli-error.ts';
import { transportError } from './mtls-agent.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
// RFC 9110 §5.1: a field name is a token.
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Response headers worth showing a partner: what came back, why it was refused, how to correlate it. */
export const SHOWN_HEADERS = [
  'content-type',
  'location',
  'retry-after',
  'www-authenticate',
  'x-request-id',
  'x-fapi-interaction-id',
] as const;

export interface GatewayRequest {
  method: string;
  /** Origin-form target: path and optional query, resolved against the gateway base URL. */
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed when the response is JSON, else the text ('' when empty). */
  body: unknown;
  isJson: boolean;
}

export function parseMethod(value: string): string {
  const method = value.toUpperCase();
  if (!METHODS.has(method))
    throw new CliError(`METHOD must be one of ${[...METHODS].join(', ')}, got ${value}`, 'bad_method');
  return method;
}

/** PATH is origin-form (`/v1/accounts?x=1`) so the token can only ever go to the gateway. */
export function targetUrl(gateway: string, path: string): URL {
  if (!path.startsWith('/') || path.startsWith('//')) {
    throw new CliError(`PATH must start with a single / (e.g. /v1/accounts), got ${path}`, 'bad_path');
  }
  const base = new URL(gateway);
  const url = new URL(`${gateway}${path}`);
  if (url.origin !== base.origin)
    throw new CliError(`PATH ${path} leaves the gateway ${gateway}`, 'bad_path');
  return url;
}

export function parseHeaders(values: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(':');
    const name = colon > 0 ? value.slice(0, colon).trim() : '';
    if (!FIELD_NAME.test(name))
      throw new CliError(`--header must look like 'name: value', got ${value}`, 'bad_header');
    const fieldValue = value.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(fieldValue))
      throw new CliError(`--header ${name} has a line break in its value`, 'bad_header');
    headers[name.toLowerCase()] = fieldValue;
  }
  return headers;
}

/** `--data` is JSON text, or `@file` (`@-` for stdin) holding JSON; checked before it is sent. */
export function readJsonData(value: string): string {
  let text = value;
  if (value.startsWith('@')) {
    const file = value.slice(1);
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch {
      throw new CliError(`cannot read --data file ${file}`, 'bad_file');
    }
  }
  try {
    JSON.parse(text);
  } catch (err) {
    throw new CliError(`--data is not valid JSON (${(err as Error).message})`, 'bad_data');
  }
  return text;
}

const isJsonType = (type: string | undefined) => /^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type ?? '');

/** One request to the gateway over the partner's mTLS agent. */
export async function callGateway(req: GatewayRequest, agent: Agent): Promise<GatewayResponse> {
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(req.url, {
      method: req.method as 'GET',
      dispatcher: agent,
      headers: req.headers,
      body: req.body,
      headersTimeout: 30_000,
      bodyTimeout: 30_000,
    });
  } catch (err) {
    throw (
      transportError(err, req.url.origin) ??
      new CliError(`request to ${req.url.origin} failed: ${(err as Error).message}`, 'unreachable')
    );
  }
  const text = await res.body.text();
  const headers: Record<string, string> = {};
  for (const name of SHOWN_HEADERS) {
    const value = res.headers[name];
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  let body: unknown = text;
  let isJson = false;
  if (isJsonType(headers['content-type']) && text !== '') {
    try {
      body = JSON.parse(text);
      isJson = true;
    } catch {
      // Labelled JSON but is not: show it as it came.
    }
  }
  return { status: res.statusCode, headers, body, isJson };
}
