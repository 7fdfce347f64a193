// Issue 15: the application's environment (sandbox | production) travels with the enforcement snapshot and
// the change feed into the gateway's memory, and is forwarded upstream only as the gateway asserts it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upstreamRequestHeaders } from '../../src/gateway/forward-headers.ts';
import { createMemoryLivenessState, FEED_CHANGE_KINDS } from '../../src/gateway/index.ts';

const at = new Date().toISOString();

test('ok/the snapshot and app.registered carry the environment; app.status keeps it', () => {
  const liveness = createMemoryLivenessState();
  liveness.replace({
    seq: 0,
    organisations: [{ id: 'org-1', status: 'active' }],
    applications: [
      {
        clientId: 'cl-1',
        orgId: 'org-1',
        status: 'active',
        authMethod: 'tls_client_auth',
        selfSignedX5t: [],
        certificateApps: [],
        environment: 'sandbox',
      },
    ],
    certificates: [],
    revokedTokens: [],
    routes: [],
  });
  assert.equal(liveness.client('cl-1')?.environment, 'sandbox');
  liveness.apply({
    seq: 1,
    at,
    kind: FEED_CHANGE_KINDS.appStatus,
    entityId: 'cl-1',
    payload: { status: 'suspended', org_id: 'org-1' },
  });
  assert.equal(liveness.client('cl-1')?.environment, 'sandbox');
  liveness.apply({
    seq: 2,
    at,
    kind: FEED_CHANGE_KINDS.appRegistered,
    entityId: 'cl-2',
    payload: { org_id: 'org-1', status: 'active', auth_method: 'tls_client_auth', environment: 'production' },
  });
  assert.equal(liveness.client('cl-2')?.environment, 'production');
  // An older platform's change without it: unknown, so nothing is forwarded.
  liveness.apply({
    seq: 3,
    at,
    kind: FEED_CHANGE_KINDS.appRegistered,
    entityId: 'cl-3',
    payload: { org_id: 'org-1', status: 'active', auth_method: 'tls_client_auth' },
  });
  assert.equal(liveness.client('cl-3')?.environment, undefined);
  liveness.close();
});

test('fail/an x-accredit-environment the client sends is stripped; the gateway’s own is forwarded', () => {
  const out = upstreamRequestHeaders(
    { 'x-accredit-environment': 'production', x_accredit_environment: 'production' },
    { 'x-accredit-environment': 'sandbox', 'x-request-id': 'rid' },
    { address: '127.0.0.1' },
  );
  assert.equal(out['x-accredit-environment'], 'sandbox');
  assert.equal(out.x_accredit_environment, undefined);
  const none = upstreamRequestHeaders(
    { 'x-accredit-environment': 'production' },
    { 'x-request-id': 'rid' },
    { address: '127.0.0.1' },
  );
  assert.equal(none['x-accredit-environment'], undefined);
});
