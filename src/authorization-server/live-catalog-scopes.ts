import type Provider from 'oidc-provider';
// oidc-provider keeps its configuration (a copy of ours) behind this accessor; its `scopes` Set is what client
// metadata is validated against and what requested scopes are filtered by. Pinned oidc-provider version.
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import type { Storage } from '../storage/index.ts';

const CATALOG_CHANGED = 'catalog.changed';

export interface LiveCatalogScopes {
  /** The catalog's scope names now, space-delimited: the resource server's scope (RFC 9068 tokens). */
  text(): string;
}

/**
 * The access catalog's scopes, kept current in the authorization server without a restart: every
 * `catalog.changed` carries the catalog's scope names, delivered in this process before the change's
 * writer answers, so the next token request after a catalog edit may ask for (and be granted) a new scope,
 * and a deleted one is no longer known. Scopes oidc-provider defined itself (openid…) are left alone.
 */
export function followCatalogScopes(
  storage: Storage,
  provider: Provider,
  initial: readonly string[],
): LiveCatalogScopes {
  const supported = (instance(provider) as { configuration: { scopes: Set<string> } }).configuration.scopes;
  const own = new Set<string>(initial);
  let text = [...own].join(' ');
  storage.feed.subscribe((change) => {
    if (change.kind !== CATALOG_CHANGED) return;
    const names = change.payload.scopes;
    if (!Array.isArray(names)) return;
    const next = new Set(names.filter((n): n is string => typeof n === 'string'));
    for (const scope of own) if (!next.has(scope)) supported.delete(scope);
    for (const scope of next) supported.add(scope);
    own.clear();
    for (const scope of next) own.add(scope);
    text = [...own].join(' ');
  });
  return { text: () => text };
}
