import type { Logger } from 'pino';
import {
  FederationError,
  type TrustChainResolver,
  type TrustMarkTypeConfig,
} from '../../federation/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';
import { endFederationRegistration, registerFederationClient } from './register-federation-client.ts';

export interface RefreshOptions {
  storage: Storage;
  resolver: TrustChainResolver;
  entityId: string;
  trustMarkTypes: readonly TrustMarkTypeConfig[];
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

/**
 * §12.3: a federation registration never outlives its Trust Chain. Registrations near expiry (or not
 * evaluated for a while) are resolved again: a valid chain renews the client with the current keys,
 * metadata and roles; a broken one deregisters it at once (its tokens are then refused by the gateway).
 */
export async function refreshFederationRegistrations(options: RefreshOptions): Promise<RefreshOutcome> {
  const now = options.clock();
  const horizon = new Date(now.getTime() + (options.marginSeconds ?? 60) * 1000).toISOString();
  const stale = new Date(now.getTime() - (options.reevaluateSeconds ?? 600) * 1000).toISOString();
  const due = await options.storage.db
    .selectFrom('federation_registrations')
    .select(['client_id', 'kind', 'trust_anchor'])
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
  for (const row of due) {
    const result = await options.resolver.resolve(row.client_id, {
      entityType: RP,
      trustAnchor: row.trust_anchor,
      forceRefresh: true,
    });
    if (!result.ok) {
      const first = result.findings[0];
      await end(
        row.client_id,
        first ? `trust chain broken: ${first.message} (${first.step})` : 'trust chain broken',
      );
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
        },
        meta(),
      );
      outcome.renewed.push(row.client_id);
    } catch (err) {
      if (!(err instanceof FederationError) || err.status >= 500) throw err;
      await end(row.client_id, err.message);
    }
  }
  return outcome;
}
