import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type StandaloneGateway, startStandaloneGateway } from '../../../src/gateway/index.ts';
import { call, capturingLogger } from '../fixture.ts';
import { AUDIENCE, type DoorEnv, doorEnv, ISSUER, SECRET } from './door-fixture.ts';

/** `accredit gateway --decision-port`: the decision doors next to a standalone gateway, over its core. */

let env: DoorEnv;
let standalone: StandaloneGateway;
before(async () => {
  env = await doorEnv();
  standalone = await startStandaloneGateway({
    // Nothing listens there: the feed never delivers a snapshot, so every decision is feed_stale.
    platformUrl: 'https://127.0.0.1:1',
    ca: env.ca.chainPem,
    credential: 'unused-enforcement-credential',
    host: '127.0.0.1',
    port: 0,
    publicUrl: AUDIENCE,
    tls: env.tls,
    upstream: env.upstreamUrl,
    audience: AUDIENCE,
    issuer: ISSUER,
    jwksUri: env.jwksUrl,
    staleAfterMs: 1000,
    logger: capturingLogger().logger,
    decision: { port: 0, secret: SECRET },
  });
});
after(async () => {
  await standalone?.close();
  await env?.close();
});

test('fail/a standalone gateway without its first snapshot refuses through the decision door too (503)', async () => {
  const url = standalone.decision?.url;
  assert.ok(url);
  const headers = { 'x-original-method': 'GET', 'x-original-uri': '/v1/status' };
  assert.equal((await call(env.edge, url, '/auth_request', { headers })).status, 401);
  const res = await call(env.edge, url, '/auth_request', {
    headers: { ...headers, 'x-accredit-decision-secret': SECRET },
  });
  assert.equal(res.status, 503);
  assert.equal(res.json.code, 'feed_stale');
});
