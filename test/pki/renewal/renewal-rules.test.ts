import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  checkRenewal,
  DEFAULT_RENEWAL_SETTINGS,
  effectiveRotationPolicy,
  policyAlgorithmsOf,
  type RotationPolicy,
  renewalWindowOpensAt,
  supersedeDueAt,
  validateRotationPolicySettings,
} from '../../../src/pki/index.ts';

const DAY = 86_400_000;
const NOT_BEFORE = new Date('2026-01-01T00:00:00.000Z');
const NOT_AFTER = new Date(NOT_BEFORE.getTime() + 90 * DAY);
const POLICY: RotationPolicy = { lifetimeDays: 90, keyAlgorithms: ['ES256'], renewalsBeforeReview: null };

const current = {
  serial: 'aa01',
  status: 'active' as const,
  not_before: NOT_BEFORE.toISOString(),
  not_after: NOT_AFTER.toISOString(),
  renewal_count: 0,
  renewal_approved_at: null,
  superseded_by: null,
};
const inWindow = new Date(NOT_AFTER.getTime() - 10 * DAY);
const base = {
  current,
  successor: undefined,
  policy: POLICY,
  settings: DEFAULT_RENEWAL_SETTINGS,
  sameKey: false,
  sameKeyAsSuccessor: false,
  successorsIssued: 0,
  byOperator: false,
  now: inWindow,
};

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'accepted';
}

describe('renewal window', () => {
  test('ok/default: the last third of the lifetime', () => {
    assert.equal(
      renewalWindowOpensAt(current, 1 / 3).toISOString(),
      new Date(NOT_AFTER.getTime() - 30 * DAY).toISOString(),
    );
  });

  const cases: Array<[string, Date, string]> = [
    [
      'fail/before the window (day 59 of 90)',
      new Date(NOT_BEFORE.getTime() + 59 * DAY),
      'outside_renewal_window',
    ],
    ['ok/at the window opening (day 60)', new Date(NOT_BEFORE.getTime() + 60 * DAY), 'accepted'],
    ['ok/last day', new Date(NOT_AFTER.getTime() - 1000), 'accepted'],
    ['fail/expired', NOT_AFTER, 'certificate_expired'],
    ['fail/not yet valid', new Date(NOT_BEFORE.getTime() - 1000), 'certificate_not_yet_valid'],
  ];
  for (const [name, now, expected] of cases) {
    test(name, () =>
      assert.equal(
        refusal(() => checkRenewal({ ...base, now })),
        expected,
      ),
    );
  }

  test('ok/configured window (half the lifetime)', () => {
    const now = new Date(NOT_BEFORE.getTime() + 46 * DAY);
    assert.equal(
      refusal(() => checkRenewal({ ...base, now })),
      'outside_renewal_window',
    );
    const settings = { ...DEFAULT_RENEWAL_SETTINGS, windowFraction: 0.5 };
    assert.equal(
      refusal(() => checkRenewal({ ...base, settings, now })),
      'accepted',
    );
  });

  test('ok/an operator renews outside the window', () => {
    const now = new Date(NOT_BEFORE.getTime() + DAY);
    assert.equal(checkRenewal({ ...base, now, byOperator: true }).renewalCount, 0);
  });
});

describe('renewal refusals', () => {
  test('fail/revoked certificate', () => {
    assert.equal(
      refusal(() => checkRenewal({ ...base, current: { ...current, status: 'revoked' } })),
      'certificate_revoked',
    );
  });
  // RFC 7030 §4.2.2: rekey certifies a new key.
  test('fail/same key', () =>
    assert.equal(
      refusal(() => checkRenewal({ ...base, sameKey: true })),
      'same_key',
    ));
  test('fail/already renewed by a successor in use', () => {
    const renewed = { ...current, superseded_by: 'bb02' };
    const successor = { serial: 'bb02', status: 'active' as const, first_used_at: inWindow.toISOString() };
    assert.equal(
      refusal(() => checkRenewal({ ...base, current: renewed, successor })),
      'already_renewed',
    );
  });
  test('ok/an unused successor is replaced', () => {
    const renewed = { ...current, superseded_by: 'bb02' };
    const successor = { serial: 'bb02', status: 'active' as const, first_used_at: null };
    const decision = checkRenewal({ ...base, current: renewed, successor, successorsIssued: 1 });
    assert.equal(decision.replacesUnusedSuccessor, 'bb02');
    assert.equal(decision.reuse, undefined);
  });
  test('ok/the same request again (its answer lost): the unused successor is the answer', () => {
    const renewed = { ...current, superseded_by: 'bb02' };
    const successor = { serial: 'bb02', status: 'active' as const, first_used_at: null };
    const decision = checkRenewal({
      ...base,
      current: renewed,
      successor,
      successorsIssued: 3,
      sameKeyAsSuccessor: true,
    });
    assert.equal(decision.reuse, 'bb02');
    assert.equal(decision.replacesUnusedSuccessor, undefined);
  });
  test('fail/too many unused successors: the CRL does not grow at a partner’s will', () => {
    const renewed = { ...current, superseded_by: 'bb04' };
    const successor = { serial: 'bb04', status: 'active' as const, first_used_at: null };
    assert.equal(
      refusal(() => checkRenewal({ ...base, current: renewed, successor, successorsIssued: 3 })),
      'too_many_renewals',
    );
  });
});

describe('renewals before review', () => {
  const policy = { ...POLICY, renewalsBeforeReview: 2 };
  test('ok/counts up below the limit', () => {
    assert.equal(
      checkRenewal({ ...base, policy, current: { ...current, renewal_count: 1 } }).renewalCount,
      2,
    );
  });
  test('fail/review_required at the limit', () => {
    assert.equal(
      refusal(() => checkRenewal({ ...base, policy, current: { ...current, renewal_count: 2 } })),
      'review_required',
    );
  });
  test('fail/limit 0: every renewal is reviewed', () => {
    assert.equal(
      refusal(() => checkRenewal({ ...base, policy: { ...POLICY, renewalsBeforeReview: 0 } })),
      'review_required',
    );
  });
  test('ok/approved by an operator: the count starts again', () => {
    const approved = { ...current, renewal_count: 2, renewal_approved_at: inWindow.toISOString() };
    assert.equal(checkRenewal({ ...base, policy, current: approved }).renewalCount, 1);
  });
});

describe('supersede timing (injected clock)', () => {
  test('ok/grace: 7 days after renewal by default', () => {
    const { supersedeAt } = checkRenewal(base);
    assert.equal(supersedeAt.getTime(), inWindow.getTime() + 7 * DAY);
  });
  test('ok/grace never beyond the old notAfter', () => {
    const now = new Date(NOT_AFTER.getTime() - DAY);
    assert.equal(checkRenewal({ ...base, now }).supersedeAt.getTime(), NOT_AFTER.getTime());
  });
  test('ok/first use plus drain comes before the grace', () => {
    const grace = new Date(inWindow.getTime() + 7 * DAY).toISOString();
    const used = new Date(inWindow.getTime() + 3_600_000);
    assert.equal(supersedeDueAt(grace, used.toISOString(), 60_000).getTime(), used.getTime() + 60_000);
    assert.equal(supersedeDueAt(grace, null, 60_000).toISOString(), grace);
  });
  test('ok/grace wins when the first use comes late', () => {
    const grace = new Date(inWindow.getTime() + DAY).toISOString();
    const used = new Date(inWindow.getTime() + DAY - 1000).toISOString();
    assert.equal(supersedeDueAt(grace, used, 60_000).toISOString(), grace);
  });
});

describe('rotation policy', () => {
  const platform: RotationPolicy = {
    lifetimeDays: 90,
    keyAlgorithms: ['ES256', 'ES384', 'RSA-2048', 'Ed25519'],
    renewalsBeforeReview: null,
  };
  test('ok/application over organisation over platform, field by field', () => {
    const org = { lifetime_days: 30, key_algorithms: ['ES384' as const], renewals_before_review: 4 };
    const app = { lifetime_days: 7, key_algorithms: null, renewals_before_review: null };
    assert.deepEqual(effectiveRotationPolicy(platform, org, app), {
      lifetimeDays: 7,
      keyAlgorithms: ['ES384'],
      renewalsBeforeReview: 4,
    });
    assert.deepEqual(effectiveRotationPolicy(platform, undefined, undefined), platform);
  });

  test('ok/key algorithms a key satisfies', () => {
    assert.deepEqual(policyAlgorithmsOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey), [
      'ES256',
    ]);
    assert.deepEqual(policyAlgorithmsOf(generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey), [
      'ES384',
    ]);
    assert.deepEqual(policyAlgorithmsOf(generateKeyPairSync('ed25519').publicKey), ['Ed25519']);
    assert.deepEqual(policyAlgorithmsOf(generateKeyPairSync('rsa', { modulusLength: 3072 }).publicKey), [
      'RSA-2048',
      'RSA-3072',
    ]);
  });

  const bad: Array<[string, Record<string, unknown>]> = [
    ['fail/lifetime 0', { lifetime_days: 0 }],
    ['fail/lifetime beyond 825 days', { lifetime_days: 826 }],
    ['fail/lifetime not an integer', { lifetime_days: 1.5 }],
    ['fail/unknown algorithm', { key_algorithms: ['RS1'] }],
    ['fail/empty algorithm list', { key_algorithms: [] }],
    ['fail/negative review limit', { renewals_before_review: -1 }],
  ];
  for (const [name, input] of bad) {
    test(name, () =>
      assert.equal(
        refusal(() => validateRotationPolicySettings(input)),
        'invalid_rotation_policy',
      ),
    );
  }
  test('ok/valid settings, duplicates removed', () => {
    assert.deepEqual(
      validateRotationPolicySettings({ lifetime_days: 30, key_algorithms: ['ES256', 'ES256'] }),
      {
        lifetime_days: 30,
        key_algorithms: ['ES256'],
        renewals_before_review: null,
      },
    );
  });
});
