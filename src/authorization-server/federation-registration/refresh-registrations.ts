import type { Logger } from 'pino';
import {
  type ChainFinding,
  FederationError,
  type TrustChainResolver,
  type TrustMarkTypeConfig,
} from '../../federation/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';
import {
  endFederationRegistration,
  refusedForTrustMarks,
  registerFederationClient,
} from './register-federation-client.ts';

export interface RefreshOptions {
  storage: Storage;
  resolver: TrustChainResolver;
  entityId: string;
  trustMarkTypes: readonly TrustMarkTypeConfig[];
  /** The partner fetcher's address policy: an RP's jwks_uri must be a URL the platform would fetch. */
  urlGuard: UrlGuard;
  clock: Clock;
  logger: Logger;
  /** Re-resolve this long before a chain expires, so a renewal is in place when the old chain ends. */
  marginSeconds?: number;
  /** Re-evaluate every registration at least this often, so key and metadata changes arrive early (§12.3). */
  reevaluateSeconds?: number;
}

export interface RefreshOutcome {
  renewed: string[];
  ended: Array<{ clientId: string; reason: string }>;
}

const RP = 'openid_relying_party';

// Failures to reach a peer say nothing about the chain: the one validated last holds until it expires (§12.3).
const TRANSPORT = new Set<string>([
  'dns_failure',
  'connect_timeout',
  'timeout',
  'tls_error',
  'network_error',
  'http_status',
  'fetch_budget_exhausted',
]);

/** Resolution failed only because some peer could not be reached, not because anything in the chain is wrong. */
function unreachableOnly(findings: readonly ChainFinding[]): boolean {
  const causes = findings.filter((f) => f.code !== 'no_trust_chain');
  return causes.length > 0 && causes.every((f) => TRANSPORT.has(f.code));
}

const explain = (finding: ChainFinding | undefined) =>
  finding ? `${finding.message} (${finding.step})` : 'no valid trust chain';

/**
 * §12.3: a federation registration never outlives its Trust Chain. Registrations near expiry (or not
 * evaluated for a while) are resolved again: a valid chain renews the client with the current keys,
 * metadata and roles; a broken one deregisters it at once (its tokens are then refused by the gateway).
 * When a peer merely cannot be reached (or a Trust Mark's status cannot be checked), the registration is
 * tried again on the next run, and ends when the chain it rests on expires.
 */
export async function refreshFederationRegistrations(options: RefreshOptions): Promise<RefreshOutcome> {
  const now = options.clock();
  const horizon = new Date(now.getTime() + (options.marginSeconds ?? 60) * 1000).toISOString();
  const stale = new Date(now.getTime() - (options.reevaluateSeconds ?? 600) * 1000).toISOString();
  const due = await options.storage.db
    .selectFrom('federation_registrations')
    .select(['client_id', 'kind', 'trust_anchor', 'expires_at'])
    .where('status', '=', 'active')
    .where((eb) => eb.or([eb('expires_at', '<=', horizon), eb('resolved_at', '<=', stale)]))
    .execute();
  const outcome: RefreshOutcome = { renewed: [], ended: [] };
  const meta = () => ({ actor: 'system:federation', now: options.clock() });
  const end = async (clientId: string, reason: string) => {
    await options.storage.transaction((tx) => endFederationRegistration(tx, clientId, reason, meta()));
    outcome.ended.push({ clientId, reason });
    options.logger.warn({ client_id: clientId, reason }, 'federation registration ended');
  };
  const retryLater = (clientId: string, expiresAt: string, why: string) => {
    if (expiresAt <= options.clock().toISOString()) return false;
    options.logger.warn(
      { client_id: clientId, expires_at: expiresAt, reason: why },
      'federation registration not re-evaluated; retrying before its chain expires',
    );
    return true;
  };
  for (const row of due) {
    const result = await options.resolver.resolve(row.client_id, {
      entityType: RP,
      trustAnchor: row.trust_anchor,
      forceRefresh: true,
    });
    if (!result.ok) {
      const first = result.findings[0];
      if (unreachableOnly(result.findings)) {
        if (retryLater(row.client_id, row.expires_at, explain(first))) continue;
        await end(row.client_id, `trust chain expired and could not be resolved again: ${explain(first)}`);
        continue;
      }
      await end(row.client_id, first ? `trust chain broken: ${explain(first)}` : 'trust chain broken');
      continue;
    }
    try {
      await registerFederationClient(
        options.storage,
        {
          entity: result.entity,
          rpMetadata: result.entity.metadata[RP],
          kind: row.kind,
          platformEntityId: options.entityId,
          trustMarkTypes: options.trustMarkTypes,
          urlGuard: options.urlGuard,
        },
        meta(),
      );
      outcome.renewed.push(row.client_id);
    } catch (err) {
      if (!(err instanceof FederationError) || err.status >= 500) {
        // One client's unexpected failure must not leave every other due registration unexamined.
        options.logger.error({ err, client_id: row.client_id }, 'federation registration renewal failed');
        continue;
      }
      const unchecked = result.findings.find((f) => f.code === 'trust_mark_status_unavailable');
      if (
        unchecked &&
        refusedForTrustMarks(err) &&
        retryLater(row.client_id, row.expires_at, explain(unchecked))
      ) {
        continue;
      }
      await end(row.client_id, err.message);
    }
  }
  return outcome;
}
