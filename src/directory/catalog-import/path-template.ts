import { AppError } from '../../shared/app-error.ts';
import { validateRoutePattern } from '../route-pattern.ts';
import { isObject } from './findings.ts';

export type TemplateResult =
  | {
      pattern: string;
      /** OpenAPI parameter name → the pattern's `{param}` name. */
      params: Map<string, string>;
    }
  | { error: string };

/**
 * A catalog pattern names parameters `[a-z][a-zA-Z0-9_]*`; OpenAPI allows any name (`{AccountId}`,
 * `{account-id}`). The gateway ignores parameter names when matching, so the spelling only matters for
 * `owner_param`, which is mapped the same way.
 */
export function patternParamName(name: string): string | null {
  const mapped = (name.charAt(0).toLowerCase() + name.slice(1)).replace(/[^A-Za-z0-9_]/g, '_');
  return /^[a-z][a-zA-Z0-9_]*$/.test(mapped) ? mapped : null;
}

/**
 * `/accounts/{accountId}` under base `/v1` → `/v1/accounts/{accountId}`. A template segment must be a
 * literal or one whole `{param}`: `{id}.json` or `v{major}` cannot be enforced segment by segment.
 */
export function templateToPattern(method: string, basePath: string, template: string): TemplateResult {
  if (!template.startsWith('/')) return { error: `the path "${template}" does not start with /` };
  const params = new Map<string, string>();
  const segments: string[] = [];
  const rest = template === '/' ? [] : template.slice(1).split('/');
  for (const segment of rest) {
    const whole = /^\{([^{}]+)\}$/.exec(segment);
    if (whole) {
      const name = whole[1]!;
      const mapped = patternParamName(name);
      if (mapped === null) return { error: `the path parameter "{${name}}" has no usable name` };
      if ([...params.values()].includes(mapped)) {
        return { error: `the path parameters of "${template}" are not distinct once spelled as {${mapped}}` };
      }
      params.set(name, mapped);
      segments.push(`{${mapped}}`);
    } else if (segment.includes('{') || segment.includes('}')) {
      return {
        error: `the path segment "${segment}" mixes a parameter with other text: a parameter must be a whole segment`,
      };
    } else {
      segments.push(segment);
    }
  }
  const pattern = basePath + (segments.length > 0 ? `/${segments.join('/')}` : '');
  if (pattern === '') return { error: 'the root path "/" cannot be a catalog pattern without a base path' };
  try {
    validateRoutePattern(method, pattern);
  } catch (err) {
    if (err instanceof AppError) return { error: `"${pattern}": ${err.message}` };
    throw err;
  }
  return { pattern, params };
}

/**
 * The path of a server URL: absolute (`https://{region}.example.com/v1`) or relative (`/v1`, `v1`), its
 * variables replaced by their defaults. `''` for none; without a trailing slash.
 */
export function serverBasePath(server: unknown): { basePath: string } | { error: string } {
  if (!isObject(server) || typeof server.url !== 'string') return { basePath: '' };
  const variables = isObject(server.variables) ? server.variables : {};
  let missing: string | undefined;
  const url = server.url.replace(/\{([^{}]*)\}/g, (_, name: string) => {
    const v = variables[name];
    if (isObject(v) && typeof v.default === 'string') return v.default;
    missing ??= name;
    return '';
  });
  if (missing !== undefined) return { error: `the server variable "{${missing}}" has no default` };
  let pathname: string;
  try {
    // A relative URL resolves against a placeholder origin: only its path is used.
    pathname = new URL(url, 'https://server.invalid/').pathname;
  } catch {
    return { error: `the server URL "${server.url}" is not a URL` };
  }
  return { basePath: normaliseBasePath(pathname) };
}

/** `/v1/`, `v1` and `/v1` are the same base path; `/` and `` are none. */
export function normaliseBasePath(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}
