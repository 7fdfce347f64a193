import type { GuardedFetcher } from './guarded-fetcher.ts';

/** A JWK Set (RFC 7517 §8.5) or any other JSON document a library asks for. */
const JSON_MEDIA_TYPES = ['application/json', 'application/jwk-set+json'] as const;
/** Framing of the original message: the body handed on is already read and decoded. */
const FRAMING_HEADERS = new Set(['content-length', 'content-encoding', 'transfer-encoding', 'connection']);

/**
 * The guarded fetcher behind the WHATWG `fetch` signature, for a library that fetches on its own (oidc-provider's
 * `fetch` option: a client's jwks_uri, sector_identifier_uri). Any dispatcher the library passes is ignored, so
 * the connection is always the guarded one; only GET of JSON documents is offered.
 */
export function createFetchFunction(
  fetcher: Pick<GuardedFetcher, 'fetch'>,
): (input: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    if (method !== 'GET') throw new TypeError(`only GET requests are made to partners, not ${method}`);
    const res = await fetcher.fetch({
      url,
      accept: 'application/json',
      mediaTypes: JSON_MEDIA_TYPES,
      ...(init?.signal ? { signal: init.signal } : {}),
    });
    const headers = Object.entries(res.headers).filter(([name]) => !FRAMING_HEADERS.has(name));
    return new Response(res.body, { status: res.status, headers });
  };
}
