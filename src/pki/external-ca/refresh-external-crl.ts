import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.ts';
import type { GuardedFetcher } from '../../shared/guarded-fetch/index.ts';
import { CHANGE_KINDS, type Database, publishChange, type Storage } from '../../storage/index.ts';
import { PkiError } from '../errors.ts';
import { type ExternalCaView, externalCaPayload, toExternalCaView } from './external-cas.ts';
import { type VerifiedCrl, verifyExternalCrl } from './verify-external-crl.ts';

type Row = Database['external_cas'];

const CRL_MEDIA_TYPES = ['application/pkix-crl', 'application/x-pkcs7-crl', 'application/octet-stream'];
// After a failed fetch, try again soon: the CA's certificates are refused once its state goes stale.
const RETRY_SECONDS = 60;
const MIN_REFRESH_SECONDS = 30;

function messageOf(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.slice(0, 300);
}

async function fetchVerified(fetcher: GuardedFetcher, row: Row, now: Date): Promise<VerifiedCrl> {
  const urls = JSON.parse(row.crl_urls) as string[];
  let last: unknown;
  // The distribution points are alternatives (RFC 5280 §4.2.1.13): the first that answers a valid CRL wins.
  for (const url of urls) {
    try {
      const res = await fetcher.fetch({
        url,
        accept: 'application/pkix-crl',
        mediaTypes: CRL_MEDIA_TYPES,
      });
      return await verifyExternalCrl(res.raw, row.certificate_pem, now);
    } catch (err) {
      last = err;
    }
  }
  throw last ?? new PkiError('crl_unavailable', 'no CRL URL');
}

/**
 * Fetches (guarded fetcher), verifies and stores one CA's CRL, and publishes the new revocation state on the
 * change feed. A failure leaves the last good state in force (it goes stale at nextUpdate + tolerance) and is
 * recorded as `last_error`. An older CRL than the one held (thisUpdate or CRL Number going back) is refused:
 * a replayed CRL must not un-revoke anything.
 */
export async function refreshExternalCa(
  storage: Storage,
  fetcher: GuardedFetcher,
  id: string,
  now: Date,
): Promise<ExternalCaView | undefined> {
  const row = await storage.db.selectFrom('external_cas').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  let verified: VerifiedCrl | undefined;
  let error: string | undefined;
  try {
    verified = await fetchVerified(fetcher, row, now);
    if (row.crl_this_update !== null && verified.thisUpdate.getTime() < Date.parse(row.crl_this_update)) {
      throw new PkiError('crl_invalid', 'the CRL is older than the one already held');
    }
    if (
      row.crl_number !== null &&
      verified.crlNumber !== null &&
      BigInt(verified.crlNumber) < BigInt(row.crl_number)
    ) {
      throw new PkiError('crl_invalid', 'the CRL Number went back');
    }
  } catch (err) {
    verified = undefined;
    error = messageOf(err);
  }
  return storage.transaction(async (tx) => {
    const current = await tx.db
      .selectFrom('external_cas')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    // Removed meanwhile: nothing to store.
    if (!current) return undefined;
    const at = now.toISOString();
    if (!verified) {
      const next = new Date(now.getTime() + Math.min(RETRY_SECONDS, current.refresh_seconds) * 1000);
      await tx.db
        .updateTable('external_cas')
        .set({ last_error: error ?? 'unknown error', next_refresh_at: next.toISOString(), updated_at: at })
        .where('id', '=', id)
        .execute();
      return toExternalCaView({ ...current, last_error: error ?? 'unknown error' });
    }
    // Refresh again by the CA's own schedule, or sooner if its CRL says the next one comes earlier.
    const nextMs = Math.max(
      now.getTime() + MIN_REFRESH_SECONDS * 1000,
      Math.min(now.getTime() + current.refresh_seconds * 1000, verified.nextUpdate.getTime()),
    );
    const updated: Row = {
      ...current,
      crl_this_update: verified.thisUpdate.toISOString(),
      crl_next_update: verified.nextUpdate.toISOString(),
      crl_number: verified.crlNumber,
      crl_fetched_at: at,
      revoked_serials: JSON.stringify(verified.revokedSerials),
      crl_der: verified.der.toString('base64'),
      last_error: null,
      next_refresh_at: new Date(nextMs).toISOString(),
      updated_at: at,
    };
    await tx.db
      .updateTable('external_cas')
      .set({
        crl_this_update: updated.crl_this_update,
        crl_next_update: updated.crl_next_update,
        crl_number: updated.crl_number,
        crl_fetched_at: updated.crl_fetched_at,
        revoked_serials: updated.revoked_serials,
        crl_der: updated.crl_der,
        last_error: null,
        next_refresh_at: updated.next_refresh_at,
        updated_at: at,
      })
      .where('id', '=', id)
      .execute();
    await publishChange(
      tx,
      { kind: CHANGE_KINDS.externalCaChanged, entityId: id, payload: externalCaPayload(updated, 'active') },
      now,
    );
    return toExternalCaView(updated);
  });
}

/**
 * Keeps every registered CA's CRL current: each tick refreshes the CAs whose `next_refresh_at` has come. One
 * pass at a time; a CA that fails is retried within a minute.
 */
export function startExternalCrlRefresher(options: {
  storage: Storage;
  fetcher: GuardedFetcher;
  clock: Clock;
  logger: Logger;
  tickMs?: number;
}): { stop(): Promise<void>; runOnce(): Promise<void> } {
  const { storage, fetcher, clock, logger } = options;
  let running: Promise<void> | undefined;
  let stopped = false;
  async function pass(): Promise<void> {
    const now = clock();
    const due = await storage.db
      .selectFrom('external_cas')
      .select('id')
      .where('next_refresh_at', '<=', now.toISOString())
      .execute();
    for (const { id } of due) {
      if (stopped) return;
      const view = await refreshExternalCa(storage, fetcher, id, clock());
      if (view?.crl.last_error) {
        logger.warn(
          { ca_id: id, org_id: view.org_id, error: view.crl.last_error },
          'external CA CRL refresh failed',
        );
      }
    }
  }
  function runOnce(): Promise<void> {
    running ??= pass()
      .catch((err: unknown) => logger.error({ err }, 'external CA CRL refresh pass failed'))
      .finally(() => {
        running = undefined;
      });
    return running;
  }
  const timer = setInterval(() => void runOnce(), options.tickMs ?? 15_000);
  timer.unref();
  return {
    runOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
