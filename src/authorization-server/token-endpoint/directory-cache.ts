import type { ApplicationWithOrganisation } from '../../directory/index.ts';
import { directoryStore, roleGrants, scopesForRoles } from '../../directory/index.ts';
import { certificateStore } from '../../pki/index.ts';
import type { Storage } from '../../storage/index.ts';
import type { IssuedCertificateState } from './look-up-issued-certificate.ts';

/** Entries kept per kind before the oldest are dropped (a bound, not a policy: misses just read the database). */
const MAX_ENTRIES = 10_000;

/**
 * What the token endpoint reads about a client and its certificate, kept in this process between requests
 * (issue 16): an application with its organisation's status, the newest active certificate subject of a
 * client, the platform's record of a presented certificate, and the scopes a set of roles grants.
 *
 * Every write to those tables publishes an access-affecting change in its own transaction (application and
 * organisation status, registration and key updates, role grants, certificate issuance and revocation, catalog
 * edits), and
 * any change delivered on the change feed drops every entry: a suspension, revocation or catalog edit made
 * through this process is honoured by the very next token request (the writer's transaction resolves only after
 * the feed delivered its change here); one made by another process once the feed brings it (PostgreSQL
 * LISTEN/NOTIFY, or the SQLite poll), as for the gateway. A time-bound role grant's end is compared with the
 * request's time on every request, as liveRoles does.
 *
 * Nothing is kept while this process does not follow the feed (a bare authorization server in a test, a CLI):
 * every read then goes to the database, as before. A read that started before a change was delivered is
 * answered but not kept, so a stale row never outlives the change that replaced it.
 */
export interface TokenEndpointCache {
  applicationWithOrganisation(clientId: string): Promise<ApplicationWithOrganisation | undefined>;
  newestActiveSubject(clientId: string): Promise<string | undefined>;
  /** The roles the application holds at `now` (a time-bound grant's end is checked on every call), sorted. */
  applicationRoles(clientId: string, now: Date): Promise<string[]>;
  issuedCertificate(x5tS256: string): Promise<IssuedCertificateState | undefined>;
  scopesForRoles(roles: readonly string[]): Promise<string[]>;
  /** Whether entries are being kept (the feed is followed). */
  readonly active: boolean;
}

const caches = new WeakMap<Storage, TokenEndpointCache>();

/** The token endpoint's cache of `storage`: one per storage, shared by every reader in this process. */
export function tokenEndpointCache(storage: Storage): TokenEndpointCache {
  let cache = caches.get(storage);
  if (!cache) {
    cache = createTokenEndpointCache(storage);
    caches.set(storage, cache);
  }
  return cache;
}

function createTokenEndpointCache(storage: Storage): TokenEndpointCache {
  const { db, feed } = storage;
  const directory = directoryStore(db);
  const certificates = certificateStore(db);
  const maps: Map<string, Promise<unknown>>[] = [];
  let generation = 0;
  feed.subscribe(() => {
    generation++;
    for (const map of maps) map.clear();
  });
  // The feed's position is set once it is started; before that, changes are not delivered here.
  const following = () => feed.lastSeq >= 0;

  function memo<T>(load: (key: string) => Promise<T>): (key: string) => Promise<T> {
    const entries = new Map<string, Promise<T>>();
    maps.push(entries as Map<string, Promise<unknown>>);
    return (key) => {
      if (!following()) return load(key);
      const kept = entries.get(key);
      if (kept) return kept;
      const started = generation;
      const pending = load(key);
      if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
      entries.set(key, pending);
      pending.then(
        () => {
          // A change delivered while reading: the answer may predate it (the clear above already dropped it).
          if (generation !== started && entries.get(key) === pending) entries.delete(key);
        },
        () => {
          if (entries.get(key) === pending) entries.delete(key);
        },
      );
      return pending;
    };
  }

  const application = memo((clientId) => directory.applicationWithOrganisation(clientId));
  const subject = memo((clientId) => certificates.newestActiveSubject(clientId));
  // Every grant, expired or not (sorted by role): whether one is live is decided at each request's time.
  const grants = memo((clientId) => roleGrants(db, [clientId], new Date()));
  const issued = memo(async (x5t): Promise<IssuedCertificateState | undefined> => {
    const cert = await certificates.byThumbprint(x5t);
    if (!cert) return undefined;
    const app = await application(cert.client_id);
    return {
      ...cert,
      app_status: app?.status ?? null,
      app_org_id: app?.org_id ?? null,
      app_org_status: app?.org_status ?? null,
    };
  });
  const scopes = memo((key) => scopesForRoles(db, JSON.parse(key) as string[]));

  return {
    applicationWithOrganisation: application,
    newestActiveSubject: subject,
    async applicationRoles(clientId, now) {
      // liveRoles' rule: a grant past its expires_at grants nothing from then on.
      const at = now.toISOString();
      return (await grants(clientId))
        .filter((g) => g.expires_at === null || g.expires_at > at)
        .map((g) => g.role);
    },
    issuedCertificate: issued,
    scopesForRoles: (roles) => scopes(JSON.stringify([...roles].sort())),
    get active() {
      return following();
    },
  };
}
