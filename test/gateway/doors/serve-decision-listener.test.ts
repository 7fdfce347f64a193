import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError, initPlatform, startPlatform } from '../../../src/platform/index.ts';
import { freePort } from '../../support/platform-process.ts';
import { call, capturingLogger, clientAgent } from '../fixture.ts';

const root = mkdtempSync(join(tmpdir(), 'accredit-decision-listener-'));
const SECRET = 'operator-chosen-decision-secret-0123456789';

describe('accredit serve: the decision listener', { timeout: 120_000 }, () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  test('ok/off until callers are configured; then it answers authenticated edges only', async () => {
    const dir = join(root, 'data');
    const env: NodeJS.ProcessEnv = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
      ACCREDIT_DECISION_PORT: String(await freePort()),
    };
    await initPlatform({ dataDir: dir, env });
    const quiet = await startPlatform({ dataDir: dir, env, logger: capturingLogger().logger });
    assert.equal(quiet.urls.decision, undefined);
    const ca = quiet.ca.chainPem;
    await quiet.stop();

    const secretFile = join(dir, 'decision-secret');
    writeFileSync(secretFile, `${SECRET}\n`);
    chmodSync(secretFile, 0o644);
    await assert.rejects(
      startPlatform({
        dataDir: dir,
        env: { ...env, ACCREDIT_DECISION_SECRET_FILE: 'decision-secret' },
        logger: capturingLogger().logger,
      }),
      (err: unknown) => err instanceof ConfigError && /too open/.test(err.message),
    );
    chmodSync(secretFile, 0o600);
    const platform = await startPlatform({
      dataDir: dir,
      env: { ...env, ACCREDIT_DECISION_SECRET_FILE: 'decision-secret' },
      logger: capturingLogger().logger,
    });
    const agent = clientAgent(ca);
    try {
      const url = platform.urls.decision;
      assert.ok(url);
      const headers = { 'x-original-method': 'GET', 'x-original-uri': '/v1/accounts' };
      const anonymous = await call(agent, url, '/auth_request', { headers });
      assert.equal(anonymous.status, 401);
      const edge = await call(agent, url, '/auth_request', {
        headers: { ...headers, 'x-accredit-decision-secret': SECRET },
      });
      // An authenticated edge, a request without a client certificate: the core's refusal, not the listener's.
      assert.equal(edge.status, 403, edge.text);
      assert.equal(edge.json.code, 'client_certificate_required');
    } finally {
      await agent.close();
      await platform.stop();
    }
  });
});
