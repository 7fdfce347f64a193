import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { readServeState } from '../shared/serve-state.ts';
import { CliError } from './cli-error.ts';

export interface AdminClientOptions {
  dataDir: string;
  /** Overrides the URL found in the running platform's state file. */
  url?: string | undefined;
}

export type AdminMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AdminClient {
  /** `body` is sent as JSON when given; a DELETE or GET normally has none. */
  call<T = Record<string, unknown>>(
    method: AdminMethod,
    path: string,
    body?: unknown,
    /** A body sent as is (a string or a stream, e.g. an NDJSON file) with its content type. */
    raw?: { body: string | NodeJS.ReadableStream; contentType: string },
  ): Promise<T>;
  close(): Promise<void>;
}

function operatorToken(dataDir: string): string {
  const fromEnv = process.env.ACCREDIT_OPERATOR_TOKEN;
  if (fromEnv) return fromEnv;
  const file = join(dataDir, 'operator-token');
  if (!existsSync(file)) {
    throw new CliError(
      `no operator token: set ACCREDIT_OPERATOR_TOKEN or run \`accredit init\` (expected ${file})`,
      'no_token',
    );
  }
  return readFileSync(file, 'utf8').trim();
}

/** Talks to the admin API over TLS, trusting only the platform's own CA bundle. */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  const state = readServeState(options.dataDir);
  const base = options.url ?? process.env.ACCREDIT_ADMIN_URL ?? state?.listeners.public;
  if (!base) {
    throw new CliError(
      `the platform in ${options.dataDir} is not running: start it with \`accredit serve\` (or set ACCREDIT_ADMIN_URL)`,
      'not_running',
    );
  }
  const bundle = join(options.dataDir, 'ca', 'bundle.pem');
  const ca = process.env.ACCREDIT_CA_BUNDLE
    ? readFileSync(process.env.ACCREDIT_CA_BUNDLE, 'utf8')
    : existsSync(bundle)
      ? readFileSync(bundle, 'utf8')
      : undefined;
  const token = operatorToken(options.dataDir);
  const dispatcher = new Agent({ connect: { ca, rejectUnauthorized: true } });
  return {
    async call<T>(
      method: AdminMethod,
      path: string,
      body?: unknown,
      raw?: { body: string | NodeJS.ReadableStream; contentType: string },
    ): Promise<T> {
      let res: Awaited<ReturnType<typeof request>>;
      try {
        res = await request(new URL(`/admin/v1${path}`, base), {
          method,
          dispatcher,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(raw ? { 'content-type': raw.contentType } : {}),
          },
          body: raw ? (raw.body as string) : body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        const cause = (err as { code?: string; message?: string }).code ?? (err as Error).message;
        throw new CliError(
          `cannot reach the admin API at ${base} (${cause}); is \`accredit serve\` running?`,
          'unreachable',
        );
      }
      const text = await res.body.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : {};
      } catch {
        throw new CliError(`unexpected ${res.statusCode} response from ${base}`, 'bad_response');
      }
      if (res.statusCode >= 400) {
        const p = json as {
          detail?: string;
          title?: string;
          code?: string;
          errors?: Array<{ message?: string; code?: string; field?: string }>;
        };
        const first = p.errors?.[0];
        const more =
          first?.message && !(p.detail ?? '').includes(first.message)
            ? `: ${first.field ? `${first.field.replace(/^\//, '')} ` : ''}${first.message}`
            : '';
        throw new CliError(`${p.detail ?? p.title ?? `HTTP ${res.statusCode}`}${more}`, p.code ?? 'error');
      }
      return json as T;
    },
    close: () => dispatcher.close(),
  };
}

/** Runs `fn` with a client that is always closed afterwards. */
export async function withAdminClient<T>(
  options: AdminClientOptions,
  fn: (client: AdminClient) => Promise<T>,
): Promise<T> {
  const client = createAdminClient(options);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}
