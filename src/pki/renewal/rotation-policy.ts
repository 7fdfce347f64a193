import type { KeyObject } from 'node:crypto';
import type { Kysely } from 'kysely';
import { recordAuditEvent } from '../../audit/index.ts';
import { AppError } from '../../shared/app-error.ts';
import type { Database, Tx } from '../../storage/index.ts';

/**
 * Key algorithms a rotation policy may allow. `RSA-n` allows RSA keys of at least n bits (the CSR lint caps
 * them at 8192); EC curves and Ed25519 are exact.
 */
export const POLICY_KEY_ALGORITHMS = [
  'ES256',
  'ES384',
  'RSA-2048',
  'RSA-3072',
  'RSA-4096',
  'Ed25519',
] as const;
export type PolicyKeyAlgorithm = (typeof POLICY_KEY_ALGORITHMS)[number];

export const ROTATION_POLICY_SCOPES = ['organisation', 'application'] as const;
export type RotationPolicyScope = (typeof ROTATION_POLICY_SCOPES)[number];

/** The policy in force: every field resolved (application over organisation over platform defaults). */
export interface RotationPolicy {
  lifetimeDays: number;
  keyAlgorithms: PolicyKeyAlgorithm[];
  /** Renewals allowed after an operator's issuance or approval before the next needs review; null: no limit. */
  renewalsBeforeReview: number | null;
}

/** One stored policy: null fields inherit. */
export interface RotationPolicySettings {
  lifetime_days: number | null;
  key_algorithms: PolicyKeyAlgorithm[] | null;
  renewals_before_review: number | null;
}

export interface StoredRotationPolicy extends RotationPolicySettings {
  scope: RotationPolicyScope;
  subject_id: string;
  updated_at: string;
  updated_by: string;
}

export const MAX_LIFETIME_DAYS = 825;

/** The platform's defaults: the configured lifetime, every supported key, no review limit. */
export function platformRotationPolicy(lifetimeDays: number): RotationPolicy {
  return { lifetimeDays, keyAlgorithms: [...POLICY_KEY_ALGORITHMS], renewalsBeforeReview: null };
}

function isPolicyKeyAlgorithm(s: unknown): s is PolicyKeyAlgorithm {
  return typeof s === 'string' && (POLICY_KEY_ALGORITHMS as readonly string[]).includes(s);
}

/** Checks what an operator sends before it is stored; a bad field is refused, never clamped. */
export function validateRotationPolicySettings(input: {
  lifetime_days?: unknown;
  key_algorithms?: unknown;
  renewals_before_review?: unknown;
}): RotationPolicySettings {
  const { lifetime_days = null, key_algorithms = null, renewals_before_review = null } = input;
  const bad = (field: string, why: string) =>
    new AppError('invalid_rotation_policy', 400, `${field}: ${why}`);
  if (
    lifetime_days !== null &&
    (!Number.isInteger(lifetime_days) ||
      (lifetime_days as number) < 1 ||
      (lifetime_days as number) > MAX_LIFETIME_DAYS)
  ) {
    throw bad('lifetime_days', `an integer from 1 to ${MAX_LIFETIME_DAYS}`);
  }
  if (key_algorithms !== null) {
    if (
      !Array.isArray(key_algorithms) ||
      key_algorithms.length === 0 ||
      !key_algorithms.every(isPolicyKeyAlgorithm)
    ) {
      throw bad('key_algorithms', `a non-empty list of ${POLICY_KEY_ALGORITHMS.join(', ')}`);
    }
  }
  if (
    renewals_before_review !== null &&
    (!Number.isInteger(renewals_before_review) ||
      (renewals_before_review as number) < 0 ||
      (renewals_before_review as number) > 10_000)
  ) {
    throw bad('renewals_before_review', 'an integer from 0 to 10000, or null for no limit');
  }
  return {
    lifetime_days: lifetime_days as number | null,
    key_algorithms: key_algorithms === null ? null : [...new Set(key_algorithms as PolicyKeyAlgorithm[])],
    renewals_before_review: renewals_before_review as number | null,
  };
}

/** Application over organisation over platform: each field from the most specific policy that sets it. */
export function effectiveRotationPolicy(
  platform: RotationPolicy,
  organisation: RotationPolicySettings | undefined,
  application: RotationPolicySettings | undefined,
): RotationPolicy {
  const pick = <K extends keyof RotationPolicySettings>(key: K) =>
    application?.[key] ?? organisation?.[key] ?? null;
  return {
    lifetimeDays: pick('lifetime_days') ?? platform.lifetimeDays,
    keyAlgorithms: pick('key_algorithms') ?? platform.keyAlgorithms,
    renewalsBeforeReview: pick('renewals_before_review') ?? platform.renewalsBeforeReview,
  };
}

/** Which policy algorithm names a key satisfies (an RSA 3072 key satisfies RSA-2048 and RSA-3072). */
export function policyAlgorithmsOf(key: KeyObject): PolicyKeyAlgorithm[] {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      if (details.namedCurve === 'prime256v1') return ['ES256'];
      if (details.namedCurve === 'secp384r1') return ['ES384'];
      return [];
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      return (['RSA-2048', 'RSA-3072', 'RSA-4096'] as const).filter((a) => bits >= Number(a.slice(4)));
    }
    case 'ed25519':
      return ['Ed25519'];
    default:
      return [];
  }
}

/** The policy's key rule: the request's key must be one of the allowed algorithms. */
export function enforceKeyAlgorithm(policy: RotationPolicy, key: KeyObject, keyDescription: string): void {
  const allowed = policyAlgorithmsOf(key).some((a) => policy.keyAlgorithms.includes(a));
  if (!allowed) {
    throw new AppError(
      'key_algorithm_not_allowed',
      400,
      `${keyDescription} is not allowed by the rotation policy; allowed: ${policy.keyAlgorithms.join(', ')}`,
    );
  }
}

function rowToStored(row: Database['rotation_policies']): StoredRotationPolicy {
  return {
    scope: row.scope,
    subject_id: row.subject_id,
    lifetime_days: row.lifetime_days,
    key_algorithms:
      row.key_algorithms === null ? null : (JSON.parse(row.key_algorithms) as PolicyKeyAlgorithm[]),
    renewals_before_review: row.renewals_before_review,
    updated_at: row.updated_at,
    updated_by: row.updated_by,
  };
}

/** The stored rotation policies, bound to one database handle or transaction. */
export function rotationPolicyStore(db: Kysely<Database>) {
  return {
    async get(scope: RotationPolicyScope, subjectId: string): Promise<StoredRotationPolicy | undefined> {
      const row = await db
        .selectFrom('rotation_policies')
        .selectAll()
        .where('scope', '=', scope)
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return row ? rowToStored(row) : undefined;
    },

    async put(
      scope: RotationPolicyScope,
      subjectId: string,
      settings: RotationPolicySettings,
      meta: { actor: string; now: Date },
    ): Promise<StoredRotationPolicy> {
      const values = {
        lifetime_days: settings.lifetime_days,
        key_algorithms: settings.key_algorithms === null ? null : JSON.stringify(settings.key_algorithms),
        renewals_before_review: settings.renewals_before_review,
        updated_at: meta.now.toISOString(),
        updated_by: meta.actor,
      };
      await db
        .insertInto('rotation_policies')
        .values({ scope, subject_id: subjectId, ...values })
        .onConflict((oc) => oc.columns(['scope', 'subject_id']).doUpdateSet(values))
        .execute();
      return {
        scope,
        subject_id: subjectId,
        ...settings,
        updated_at: values.updated_at,
        updated_by: meta.actor,
      };
    },

    async remove(scope: RotationPolicyScope, subjectId: string): Promise<boolean> {
      const result = await db
        .deleteFrom('rotation_policies')
        .where('scope', '=', scope)
        .where('subject_id', '=', subjectId)
        .executeTakeFirst();
      return result.numDeletedRows > 0n;
    },

    /** The policy in force for an application of an organisation. */
    async effective(platform: RotationPolicy, orgId: string, clientId?: string): Promise<RotationPolicy> {
      const rows = await db
        .selectFrom('rotation_policies')
        .selectAll()
        .where((eb) =>
          eb.or([
            eb.and([eb('scope', '=', 'organisation'), eb('subject_id', '=', orgId)]),
            eb.and([eb('scope', '=', 'application'), eb('subject_id', '=', clientId ?? '')]),
          ]),
        )
        .execute();
      const org = rows.find((r) => r.scope === 'organisation');
      const app = rows.find((r) => r.scope === 'application');
      return effectiveRotationPolicy(
        platform,
        org ? rowToStored(org) : undefined,
        app ? rowToStored(app) : undefined,
      );
    },
  };
}

/** Stores an organisation's or application's policy (replacing the previous one), audited. */
export async function setRotationPolicy(
  tx: Tx,
  scope: RotationPolicyScope,
  subjectId: string,
  input: Parameters<typeof validateRotationPolicySettings>[0],
  meta: { actor: string; now: Date },
): Promise<StoredRotationPolicy> {
  const settings = validateRotationPolicySettings(input);
  const stored = await rotationPolicyStore(tx.db).put(scope, subjectId, settings, meta);
  await recordAuditEvent(
    tx,
    {
      actor: meta.actor,
      action: 'rotation_policy.set',
      targetType: scope,
      targetId: subjectId,
      details: { ...settings },
    },
    meta.now,
  );
  return stored;
}

/** Removes a policy (the next level's applies again), audited; false when there was none. */
export async function removeRotationPolicy(
  tx: Tx,
  scope: RotationPolicyScope,
  subjectId: string,
  meta: { actor: string; now: Date },
): Promise<boolean> {
  const removed = await rotationPolicyStore(tx.db).remove(scope, subjectId);
  if (removed) {
    await recordAuditEvent(
      tx,
      {
        actor: meta.actor,
        action: 'rotation_policy.remove',
        targetType: scope,
        targetId: subjectId,
        details: {},
      },
      meta.now,
    );
  }
  return removed;
}
