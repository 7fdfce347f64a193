import {
  type AuthorityActionMeta,
  getSubordinate,
  removeSubordinate,
  revokeTrustMark,
  type SubordinatePatch,
  type SubordinateView,
  type TrustMarkView,
  updateSubordinate,
} from '../../federation/index.ts';
import type { Tx } from '../../storage/index.ts';
import { endFederationRegistration, endFederationRegistrationsVia } from './register-federation-client.ts';

type Meta = AuthorityActionMeta & { reason?: string | undefined };

/**
 * Changes what the platform says about a subordinate. Registrations rest on what the subordinate was: another
 * organisation or other keys end them now (§12.3), in the same transaction, rather than at their next
 * re-evaluation; the clients register again under the new terms.
 */
export async function updateSubordinateEndingRegistrations(
  tx: Tx,
  entityId: string,
  patch: SubordinatePatch,
  meta: AuthorityActionMeta,
): Promise<SubordinateView> {
  const before = await getSubordinate(tx.db, entityId);
  const updated = await updateSubordinate(tx, entityId, patch, meta);
  if (
    before.org_id !== updated.org_id ||
    JSON.stringify(before.jwks) !== JSON.stringify(updated.jwks) ||
    before.is_intermediate !== updated.is_intermediate
  ) {
    await endFederationRegistrationsVia(tx, entityId, meta);
  }
  return updated;
}

/**
 * Removes a subordinate and ends, in the same transaction, every federation registration resting on it
 * (OpenID Federation 1.0 §12.3): the gateway refuses those clients from the very next request.
 */
export async function removeSubordinateEndingRegistrations(
  tx: Tx,
  entityId: string,
  meta: Meta,
): Promise<SubordinateView> {
  const removed = await removeSubordinate(tx, entityId, meta);
  await endFederationRegistrationsVia(tx, entityId, { actor: meta.actor, now: meta.now });
  return removed;
}

/**
 * Revokes a Trust Mark. It may have been what granted a client its roles: that client's registration ends at
 * once and it registers again with the marks it still holds (§12.3).
 */
export async function revokeTrustMarkEndingRegistration(
  tx: Tx,
  id: string,
  meta: Meta,
): Promise<TrustMarkView> {
  const revoked = await revokeTrustMark(tx, id, meta);
  await endFederationRegistration(tx, revoked.sub, `trust mark ${id} was revoked`, {
    actor: meta.actor,
    now: meta.now,
  });
  return revoked;
}
