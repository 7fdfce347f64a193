import { AppError } from '../../shared/app-error.ts';
import type { RotationPolicy } from './rotation-policy.ts';

const DAY_MS = 86_400_000;

/** How renewal behaves platform-wide (`renewal.*` configuration). */
export interface RenewalSettings {
  /** The renewal window: the last `windowFraction` of a certificate's lifetime (default 1/3). */
  windowFraction: number;
  /** A renewed certificate is revoked as superseded this long after the renewal at the latest (never past its notAfter). */
  graceMs: number;
  /** …or this long after its successor's first token request, so requests in flight with it still finish. */
  drainMs: number;
}

export const DEFAULT_RENEWAL_SETTINGS: RenewalSettings = {
  windowFraction: 1 / 3,
  graceMs: 7 * DAY_MS,
  drainMs: 60_000,
};

/** What the rules read of the certificate being renewed. */
export interface CurrentCertificate {
  serial: string;
  status: 'active' | 'revoked';
  not_before: string;
  not_after: string;
  renewal_count: number;
  renewal_approved_at: string | null;
  superseded_by: string | null;
}

/**
 * How many successors one certificate may get while none of them is used: each replaced one is revoked and
 * listed on the CRL until it expires, so a partner must not be able to grow the CRL at will.
 */
export const MAX_UNUSED_SUCCESSORS = 3;

/** What the rules read of a successor already issued for it, if any. */
export interface SuccessorCertificate {
  serial: string;
  status: 'active' | 'revoked';
  first_used_at: string | null;
}

export interface RenewalCheck {
  current: CurrentCertificate;
  successor: SuccessorCertificate | undefined;
  policy: RotationPolicy;
  settings: RenewalSettings;
  /** The requested key is the current certificate's (RFC 7030 §4.2.2 rekey wants a new one). */
  sameKey: boolean;
  /** The requested key is the successor's: a retry of the same request (its answer was lost). */
  sameKeyAsSuccessor: boolean;
  /** Certificates issued so far as renewals of the current one (replaced ones included). */
  successorsIssued: number;
  /** An operator renews: the window and the review limit do not apply, and the count starts again. */
  byOperator: boolean;
  now: Date;
}

export interface RenewalDecision {
  /** renewal_count of the new certificate. */
  renewalCount: number;
  /** A successor issued earlier and never used (e.g. its key was lost): revoked as superseded by this one. */
  replacesUnusedSuccessor: string | undefined;
  /** The same request again while its successor is unused: that successor is the answer, nothing is issued. */
  reuse: string | undefined;
  /** When the current certificate is revoked as superseded at the latest. */
  supersedeAt: Date;
}

/** When the renewal window of a certificate opens: the last `windowFraction` of its lifetime. */
export function renewalWindowOpensAt(
  cert: Pick<CurrentCertificate, 'not_before' | 'not_after'>,
  windowFraction: number,
): Date {
  const notBefore = new Date(cert.not_before).getTime();
  const notAfter = new Date(cert.not_after).getTime();
  return new Date(notAfter - Math.round((notAfter - notBefore) * windowFraction));
}

/**
 * The renewal rules, in order: the current certificate is active and within its validity, the successor (if
 * any) was never used, the window is open, the key is new, and the review limit is not reached. Every
 * refusal is an AppError with a stable code; the message says what to do.
 */
export function checkRenewal(check: RenewalCheck): RenewalDecision {
  const { current, successor, policy, settings, now } = check;
  if (current.status !== 'active') {
    throw new AppError('certificate_revoked', 403, `certificate ${current.serial} is revoked`);
  }
  if (new Date(current.not_after) <= now) {
    throw new AppError(
      'certificate_expired',
      403,
      `certificate ${current.serial} has expired; ask an operator for a new one`,
    );
  }
  if (new Date(current.not_before) > now) {
    throw new AppError('certificate_not_yet_valid', 403, `certificate ${current.serial} is not yet valid`);
  }
  let replacesUnusedSuccessor: string | undefined;
  if (current.superseded_by !== null && successor && successor.status === 'active') {
    if (successor.first_used_at !== null) {
      throw new AppError(
        'already_renewed',
        409,
        `certificate ${current.serial} was renewed by ${successor.serial}, which is in use; renew that one`,
      );
    }
    // A client retrying the same CSR (its answer lost) gets the same certificate, not one more.
    if (check.sameKeyAsSuccessor) {
      return {
        renewalCount: current.renewal_count,
        replacesUnusedSuccessor: undefined,
        reuse: successor.serial,
        supersedeAt: new Date(now),
      };
    }
    if (check.successorsIssued >= MAX_UNUSED_SUCCESSORS) {
      throw new AppError(
        'too_many_renewals',
        409,
        `certificate ${current.serial} was renewed ${check.successorsIssued} times without the new certificate being used; use ${successor.serial} or ask an operator`,
      );
    }
    replacesUnusedSuccessor = successor.serial;
  }
  if (!check.byOperator) {
    const opensAt = renewalWindowOpensAt(current, settings.windowFraction);
    if (now < opensAt) {
      throw new AppError(
        'outside_renewal_window',
        403,
        `certificate ${current.serial} can be renewed from ${opensAt.toISOString()}`,
        { opens_at: opensAt.toISOString() },
      );
    }
  }
  // RFC 7030 §4.2.2: rekey — the renewed certificate certifies a new key.
  if (check.sameKey) {
    throw new AppError('same_key', 400, 'the request must carry a new key, not the current certificate’s');
  }
  const limit = policy.renewalsBeforeReview;
  const approved = current.renewal_approved_at !== null;
  if (!check.byOperator && !approved && limit !== null && current.renewal_count >= limit) {
    throw new AppError(
      'review_required',
      403,
      `${current.renewal_count} renewal(s) since the last review: an operator must approve certificate ${current.serial} before it is renewed`,
    );
  }
  const renewalCount = check.byOperator || approved ? (check.byOperator ? 0 : 1) : current.renewal_count + 1;
  const latest = Math.min(now.getTime() + settings.graceMs, new Date(current.not_after).getTime());
  return { renewalCount, replacesUnusedSuccessor, reuse: undefined, supersedeAt: new Date(latest) };
}

/** When a renewed certificate is due to be revoked as superseded: grace, or its successor's first use plus drain. */
export function supersedeDueAt(
  supersedeAt: string,
  successorFirstUsedAt: string | null,
  drainMs: number,
): Date {
  const grace = new Date(supersedeAt).getTime();
  if (successorFirstUsedAt === null) return new Date(grace);
  return new Date(Math.min(grace, new Date(successorFirstUsedAt).getTime() + drainMs));
}
