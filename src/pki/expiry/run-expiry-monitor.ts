import { type PlatformEventInput, recordedDedupeKeys, recordPlatformEvent } from '../../audit/index.ts';
import type { ExpiringItem, ExpiringSource } from '../../shared/expiring-item.ts';
import type { Storage } from '../../storage/index.ts';
import { DAY_MS, daysLeft, listExpiring } from './list-expiring.ts';

export const DEFAULT_EXPIRY_THRESHOLDS: readonly number[] = [30, 14, 7, 1];

export interface ExpiryMonitorOptions {
  storage: Storage;
  now: Date;
  /** Days before the end at which an event is raised (default 30, 14, 7, 1). */
  thresholds?: readonly number[];
  /** The other roles' "my expiring keys" (federation, software-statement, access-token keys). */
  keySources?: readonly ExpiringSource[];
}

export interface ExpiryMonitorResult {
  /** Events recorded by this pass (already recorded occurrences are not counted). */
  recorded: number;
  /** Items within the largest threshold that this pass looked at. */
  seen: number;
}

/**
 * The smallest threshold the remaining time has crossed, or undefined: an item first seen with 5 days left
 * is in the 7-day window only, so it raises the 7-day event and never the 30- or 14-day ones.
 */
export function crossedThreshold(remainingMs: number, thresholds: readonly number[]): number | undefined {
  return [...thresholds].sort((a, b) => a - b).find((days) => remainingMs <= days * DAY_MS);
}

function eventOf(item: ExpiringItem, threshold: number, now: Date): PlatformEventInput {
  const data = { not_after: item.notAfter, days_left: daysLeft(item.notAfter, now), threshold };
  switch (item.kind) {
    case 'certificate':
      return {
        type: 'certificate.expiring',
        orgId: item.orgId,
        clientId: item.clientId,
        subject: { kind: 'certificate', id: item.id, x5t_s256: item.details.x5t_s256 },
        data: {
          ...data,
          serial: item.id,
          application_name: item.details.application_name,
          organisation_name: item.details.organisation_name,
        },
      };
    case 'ca_certificate':
      return {
        type: 'certificate.expiring',
        orgId: null,
        clientId: null,
        subject: { kind: 'ca_certificate', id: item.id, ca_kind: item.details.ca_kind },
        data: { ...data, serial: item.details.serial, subject: item.details.subject },
      };
    default:
      return {
        type: 'key.expiring',
        orgId: null,
        clientId: null,
        subject: { kind: 'key', id: item.id, purpose: item.details.purpose },
        data: { ...data, purpose: item.details.purpose, max_age_days: item.details.max_age_days },
      };
  }
}

/**
 * One pass of the expiry monitor: every item within the largest threshold gets the event of the threshold it
 * has crossed, once. The dedupe key `expiring:<kind>:<id>:<days>` makes a second pass, a restart or another
 * node record nothing twice. The clock is the caller's (`now`), so tests drive it.
 */
export async function runExpiryMonitor(options: ExpiryMonitorOptions): Promise<ExpiryMonitorResult> {
  const thresholds = options.thresholds ?? DEFAULT_EXPIRY_THRESHOLDS;
  if (thresholds.length === 0) return { recorded: 0, seen: 0 };
  const { storage, now } = options;
  const items = await listExpiring(storage.db, now, Math.max(...thresholds), options.keySources);
  const due = items.flatMap((item) => {
    const threshold = crossedThreshold(new Date(item.notAfter).getTime() - now.getTime(), thresholds);
    return threshold === undefined
      ? []
      : [{ item, threshold, key: `expiring:${item.kind}:${item.id}:${threshold}` }];
  });
  const seen = await recordedDedupeKeys(
    storage.db,
    due.map((d) => d.key),
  );
  const pending = due.filter((d) => !seen.has(d.key));
  let recorded = 0;
  // A hundred events per transaction: one commit each, and a failure costs only its batch (the next pass retries).
  for (let i = 0; i < pending.length; i += 100) {
    recorded += await storage.transaction(async (tx) => {
      let count = 0;
      for (const { item, threshold, key } of pending.slice(i, i + 100)) {
        if (await recordPlatformEvent(tx, eventOf(item, threshold, now), now, { dedupeKey: key })) count++;
      }
      return count;
    });
  }
  return { recorded, seen: items.length };
}
