import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createEventSigningKeys } from '../../src/platform/event-signing-keys.ts';
import { initPlatform, startPlatform } from '../../src/platform/index.ts';
import { loadKek } from '../../src/platform/kek.ts';
import { capturingLogger, clientAgent } from '../gateway/fixture.ts';
import { freePort } from '../support/platform-process.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-event-keys-'));

describe('platform: event signing keys', { timeout: 60_000 }, () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a started platform has an event key, publishes only its public half, and it verifies', async () => {
    const dir = join(root, 'data');
    const env = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
    };
    await initPlatform({ dataDir: dir, env });
    const platform = await startPlatform({ dataDir: dir, env, logger: capturingLogger().logger });
    const agent = clientAgent(platform.ca.chainPem);
    try {
      const res = await fetch(`${platform.urls.public}/events/jwks`, { dispatcher: agent } as RequestInit);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/jwk-set+json');
      const jwks = (await res.json()) as { keys: Array<Record<string, unknown>> };
      assert.equal(jwks.keys.length, 1);
      assert.equal(jwks.keys[0]!.d, undefined, 'no private member is published');
      const keys = createEventSigningKeys(platform.storage.db, loadKek(dir, { create: false }, env));
      const signer = await keys.signer();
      const jws = await signer.sign({ iss: platform.urls.public, jti: 'e1' }, 'secevent+jwt');
      const { protectedHeader, payload } = await jwtVerify(jws, createLocalJWKSet(jwks as never));
      assert.equal(protectedHeader.typ, 'secevent+jwt');
      assert.equal(protectedHeader.kid, signer.kid);
      assert.equal(payload.jti, 'e1');
    } finally {
      await agent.close();
      await platform.stop();
    }
  });
});
