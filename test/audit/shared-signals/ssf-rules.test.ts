import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type PlatformEvent,
  PollError,
  readPollRequest,
  readStreamRequest,
  SSF_EVENT_TYPES,
  SUPPORTED_EVENT_TYPES,
  type SubjectIdentifier,
  signalOfEvent,
  subjectCovers,
  subjectProblem,
  type TransmitterSupplied,
} from '../../../src/audit/index.ts';
import { AppError } from '../../../src/shared/app-error.ts';

const ctx = { issuer: 'https://accredit.example', x509Issuer: 'CN=Issuing CA,O=Accredit' };
const event = (over: Partial<PlatformEvent>): PlatformEvent => ({
  seq: 1,
  id: 'evt-1',
  occurredAt: '2026-12-02T04:00:00.000Z',
  type: 'organisation.suspended',
  orgId: 'org-1',
  clientId: null,
  subject: { kind: 'organisation', id: 'org-1' },
  data: {},
  ...over,
});
const client = {
  format: 'complex',
  application: { format: 'iss_sub', iss: ctx.issuer, sub: 'cl_1' },
  tenant: { format: 'opaque', id: 'org-1' },
};
const org = { format: 'complex', tenant: { format: 'opaque', id: 'org-1' } };
const at = 1_796_184_000;

describe('shared signals: platform events → CAEP / RISC', () => {
  const cert = (type: PlatformEvent['type'], data: Record<string, unknown>) =>
    event({
      type,
      clientId: 'cl_1',
      subject: { kind: 'certificate', id: '4A01', x5t_s256: 'thumb' },
      data: { serial: '4A01', ...data },
    });
  const cases: Array<[string, PlatformEvent, string | undefined, unknown, Record<string, unknown>?]> = [
    [
      'ok/certificate.issued → credential-change create (CAEP §3.3)',
      cert('certificate.issued', {}),
      SSF_EVENT_TYPES.credentialChange,
      client,
      {
        event_timestamp: at,
        credential_type: 'x509',
        change_type: 'create',
        x509_issuer: ctx.x509Issuer,
        x509_serial: '4A01',
        'x5t#S256': 'thumb',
      },
    ],
    [
      'ok/certificate.renewed → credential-change update',
      cert('certificate.renewed', { renews: '3B' }),
      SSF_EVENT_TYPES.credentialChange,
      client,
      {
        event_timestamp: at,
        credential_type: 'x509',
        change_type: 'update',
        x509_issuer: ctx.x509Issuer,
        x509_serial: '4A01',
        'x5t#S256': 'thumb',
      },
    ],
    [
      'ok/certificate.revoked → credential-change revoke, admin-initiated, with the reason',
      cert('certificate.revoked', { reason: 'keyCompromise' }),
      SSF_EVENT_TYPES.credentialChange,
      client,
      {
        event_timestamp: at,
        credential_type: 'x509',
        change_type: 'revoke',
        x509_issuer: ctx.x509Issuer,
        x509_serial: '4A01',
        'x5t#S256': 'thumb',
        initiating_entity: 'admin',
        reason_admin: { en: 'revoked: keyCompromise' },
      },
    ],
    [
      'ok/token.revoked → session-revoked, the jti as the session (CAEP §3.1)',
      event({ type: 'token.revoked', clientId: 'cl_1', subject: { kind: 'token', id: 'jti-9' } }),
      SSF_EVENT_TYPES.sessionRevoked,
      { ...client, session: { format: 'opaque', id: 'jti-9' } },
      { event_timestamp: at },
    ],
    [
      'ok/organisation.suspended → account-disabled (RISC §2.3)',
      event({}),
      SSF_EVENT_TYPES.accountDisabled,
      org,
    ],
    [
      'ok/organisation.activated → account-enabled',
      event({ type: 'organisation.activated' }),
      SSF_EVENT_TYPES.accountEnabled,
      org,
    ],
    [
      'ok/organisation.offboarded → account-purged',
      event({ type: 'organisation.offboarded' }),
      SSF_EVENT_TYPES.accountPurged,
      org,
    ],
    [
      'ok/application.suspended → account-disabled of the client',
      event({
        type: 'application.suspended',
        clientId: 'cl_1',
        subject: { kind: 'application', id: 'cl_1' },
      }),
      SSF_EVENT_TYPES.accountDisabled,
      client,
    ],
    [
      'ok/application.activated again → account-enabled',
      event({ type: 'application.activated', clientId: 'cl_1', data: { status: 'active' } }),
      SSF_EVENT_TYPES.accountEnabled,
      client,
    ],
    [
      'ok/application.deleted → account-purged',
      event({ type: 'application.deleted', clientId: 'cl_1' }),
      SSF_EVENT_TYPES.accountPurged,
      client,
    ],
    [
      'ok/a new registration is no re-enabling: nothing',
      event({
        type: 'application.activated',
        clientId: 'cl_1',
        data: { status: 'active', registration_type: 'manual' },
      }),
      undefined,
      undefined,
    ],
    ['ok/Trust Marks have no SSF word: nothing', event({ type: 'trust_mark.issued' }), undefined, undefined],
    [
      'ok/expiry warnings: nothing',
      event({ type: 'certificate.expiring', clientId: 'cl_1' }),
      undefined,
      undefined,
    ],
    [
      'ok/a certificate without a client (CA certificate): nothing',
      event({ type: 'certificate.revoked', clientId: null }),
      undefined,
      undefined,
    ],
  ];
  for (const [name, input, type, subId, payload] of cases) {
    test(name, () => {
      const signal = signalOfEvent(input, ctx);
      assert.equal(signal?.type, type);
      if (!signal) return;
      assert.deepEqual(signal.subId, subId);
      assert.deepEqual(signal.payload, payload ?? { event_timestamp: at });
    });
  }
});

describe('shared signals: stream requests (SSF 1.0 §8.1.1)', () => {
  const ours: TransmitterSupplied = {
    iss: 'https://accredit.example',
    aud: 'soc',
    events_supported: SUPPORTED_EVENT_TYPES,
    events_delivered: [],
    min_verification_interval: 10,
  };
  test('ok/an empty create: poll, every supported event', () => {
    const s = readStreamRequest({}, 'create', ours);
    assert.equal(s.delivery.method, 'urn:ietf:rfc:8936');
    assert.deepEqual(s.eventsRequested, SUPPORTED_EVENT_TYPES);
  });
  test('ok/push with the receiver’s endpoint and credential', () => {
    const s = readStreamRequest(
      {
        delivery: {
          method: 'urn:ietf:rfc:8935',
          endpoint_url: 'https://r.example/ev',
          authorization_header: 'Bearer x',
        },
        aud: ['a', 'b'],
      },
      'create',
      ours,
    );
    assert.deepEqual(s.delivery, {
      method: 'urn:ietf:rfc:8935',
      endpointUrl: 'https://r.example/ev',
      authorizationHeader: 'Bearer x',
    });
    assert.deepEqual(s.aud, ['a', 'b']);
  });
  test('ok/update keeps what it does not name', () => {
    const current = readStreamRequest(
      { description: 'd', events_requested: [SSF_EVENT_TYPES.sessionRevoked] },
      'create',
      ours,
    );
    const next = readStreamRequest(
      { stream_id: 's1', description: 'e' },
      'update',
      { ...ours, stream_id: 's1' },
      current,
    );
    assert.deepEqual(next.eventsRequested, [SSF_EVENT_TYPES.sessionRevoked]);
    assert.equal(next.description, 'e');
  });
  const bad: Array<[string, unknown, 'create' | 'update' | 'replace', string]> = [
    ['fail/not an object', [], 'create', 'body'],
    ['fail/unknown member', { x: 1 }, 'create', 'x'],
    ['fail/unknown delivery method', { delivery: { method: 'urn:x' } }, 'create', 'delivery.method'],
    [
      'fail/push without endpoint_url',
      { delivery: { method: 'urn:ietf:rfc:8935' } },
      'create',
      'delivery.endpoint_url',
    ],
    [
      'fail/push over http (RFC 8935 §4)',
      { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://r.example/' } },
      'create',
      'delivery.endpoint_url',
    ],
    [
      'fail/endpoint with credentials',
      { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'https://u:p@r.example/' } },
      'create',
      'delivery.endpoint_url',
    ],
    [
      'fail/authorization_header with a newline',
      {
        delivery: {
          method: 'urn:ietf:rfc:8935',
          endpoint_url: 'https://r.example/',
          authorization_header: 'a\nb',
        },
      },
      'create',
      'delivery.authorization_header',
    ],
    [
      'fail/authorization_header for poll',
      { delivery: { method: 'urn:ietf:rfc:8936', authorization_header: 'x' } },
      'create',
      'delivery.authorization_header',
    ],
    [
      'fail/unknown delivery parameter',
      { delivery: { method: 'urn:ietf:rfc:8936', url: 'x' } },
      'create',
      'delivery.url',
    ],
    ['fail/events_requested not an array', { events_requested: 'x' }, 'create', 'events_requested'],
    ['fail/events_requested with a number', { events_requested: [1] }, 'create', 'events_requested'],
    ['fail/iss is the transmitter’s', { iss: 'https://evil.example' }, 'create', 'iss'],
    ['fail/events_supported is the transmitter’s', { events_supported: ['x'] }, 'create', 'events_supported'],
    [
      'fail/min_verification_interval is the transmitter’s',
      { min_verification_interval: 1 },
      'create',
      'min_verification_interval',
    ],
    ['fail/aud cannot be updated (§8.1.1)', { aud: 'other' }, 'update', 'aud'],
    ['fail/description too long', { description: 'x'.repeat(300) }, 'create', 'description'],
    ['fail/empty aud list', { aud: [] }, 'create', 'aud'],
  ];
  for (const [name, body, mode, field] of bad) {
    test(name, () => {
      assert.throws(
        () =>
          readStreamRequest(
            body,
            mode,
            ours,
            mode === 'create' ? undefined : readStreamRequest({}, 'create', ours),
          ),
        (err: unknown) => err instanceof AppError && err.status === 400 && err.details?.field === field,
      );
    });
  }
});

describe('shared signals: subject identifiers (RFC 9493, SSF 1.0 §3)', () => {
  const ok: unknown[] = [
    { format: 'opaque', id: 'x' },
    { format: 'email', email: 'soc@partner.example' },
    { format: 'iss_sub', iss: 'https://i.example', sub: 'cl_1' },
    { format: 'complex', tenant: { format: 'opaque', id: 'org' } },
  ];
  for (const subject of ok)
    test(`ok/${JSON.stringify(subject)}`, () => assert.equal(subjectProblem(subject), undefined));
  const bad: Array<[string, unknown]> = [
    ['fail/not an object', 'x'],
    ['fail/no format', { id: 'x' }],
    ['fail/unknown format', { format: 'nickname', id: 'x' }],
    ['fail/missing member', { format: 'iss_sub', iss: 'https://i.example' }],
    ['fail/extra member', { format: 'opaque', id: 'x', admin: true }],
    ['fail/empty complex', { format: 'complex' }],
    ['fail/unknown complex member', { format: 'complex', planet: { format: 'opaque', id: 'x' } }],
    [
      'fail/nested complex',
      { format: 'complex', user: { format: 'complex', tenant: { format: 'opaque', id: 'x' } } },
    ],
  ];
  for (const [name, subject] of bad) test(name, () => assert.ok(subjectProblem(subject)));

  const subId: SubjectIdentifier = {
    format: 'complex',
    application: { format: 'iss_sub', iss: 'https://i.example', sub: 'cl_1' },
    tenant: { format: 'opaque', id: 'org-1' },
  };
  const covers: Array<[string, SubjectIdentifier, boolean]> = [
    [
      'ok/the same subject, members in another order',
      { tenant: subId.tenant, application: subId.application, format: 'complex' },
      true,
    ],
    [
      'ok/a complex filter naming the tenant only',
      { format: 'complex', tenant: { format: 'opaque', id: 'org-1' } },
      true,
    ],
    [
      'ok/a simple filter equal to one member',
      { format: 'iss_sub', iss: 'https://i.example', sub: 'cl_1' },
      true,
    ],
    ['fail/another tenant', { format: 'complex', tenant: { format: 'opaque', id: 'org-2' } }, false],
    [
      'fail/a member under another name',
      { format: 'complex', user: { format: 'opaque', id: 'org-1' } },
      false,
    ],
    ['fail/another client', { format: 'iss_sub', iss: 'https://i.example', sub: 'cl_2' }, false],
  ];
  for (const [name, filter, expected] of covers)
    test(name, () => assert.equal(subjectCovers(filter, subId), expected));
});

describe('shared signals: poll requests (RFC 8936 §2.4)', () => {
  test('ok/defaults: long poll, the transmitter’s bound', () => {
    assert.deepEqual(readPollRequest(undefined, 100), {
      maxEvents: 100,
      returnImmediately: false,
      ack: [],
      setErrs: {},
    });
  });
  test('ok/maxEvents above the bound is bounded; acks and errors kept', () => {
    const r = readPollRequest(
      {
        maxEvents: 5000,
        returnImmediately: true,
        ack: ['a'],
        setErrs: { b: { err: 'invalid_key', description: 'd' } },
      },
      100,
    );
    assert.equal(r.maxEvents, 100);
    assert.deepEqual(r.ack, ['a']);
    assert.deepEqual(r.setErrs, { b: { err: 'invalid_key', description: 'd' } });
  });
  const bad: Array<[string, unknown]> = [
    ['fail/not an object', [1]],
    ['fail/negative maxEvents', { maxEvents: -1 }],
    ['fail/fractional maxEvents', { maxEvents: 1.5 }],
    ['fail/returnImmediately not a boolean', { returnImmediately: 'yes' }],
    ['fail/ack not an array', { ack: 'a' }],
    ['fail/ack of numbers', { ack: [1] }],
    ['fail/setErrs without err', { setErrs: { a: { description: 'x' } } }],
  ];
  for (const [name, body] of bad) {
    test(name, () =>
      assert.throws(
        () => readPollRequest(body, 100),
        (e: unknown) => e instanceof PollError && e.err === 'invalid_request',
      ),
    );
  }
});
