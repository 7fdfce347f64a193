// Issue 15 monitoring tests: partner clients with a certificate and an access token, calling through the
// platform's own gateway so that real decisions reach the decision taps.
import type { Agent } from 'undici';
import { type CallResult, call, clientAgent, csrWithKey } from '../../gateway/fixture.ts';
import { createPartner } from '../../support/ca-fixture.ts';
import type { ConsolePlatform } from './console-platform.ts';

export interface GatewayClient {
  orgId: string;
  clientId: string;
  accessToken: string;
  serial: string;
  agent: Agent;
  /** A request through the gateway over mTLS; with its access token unless `token: false`. */
  get(path: string, options?: { token?: boolean; headers?: Record<string, string> }): Promise<CallResult>;
  close(): Promise<void>;
}

/** An organisation with one `partner_reader` application, a certificate and (unless told) an access token. */
export async function createClientWithCert(
  cp: ConsolePlatform,
  orgName: string,
  options: { token?: boolean } = {},
): Promise<GatewayClient> {
  const platform = cp.platform;
  const partner = await createPartner(platform.storage, orgName);
  const { csrPem, keyPem } = await csrWithKey();
  const view = await platform.storage.transaction((tx) =>
    platform.ca.issue(
      tx,
      { clientId: partner.clientId, csrPem },
      { actor: 'operator:test', now: new Date() },
    ),
  );
  const agent = clientAgent(platform.ca.chainPem, {
    certPem: view.certificate_pem,
    keyPem,
    x5tS256: view.x5t_s256,
  });
  let accessToken = '';
  if (options.token !== false) {
    const tokenRes = await agent.request({
      origin: platform.urls.mtls,
      path: '/token',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: partner.clientId,
        scope: 'accounts:read',
      }).toString(),
    });
    const body = (await tokenRes.body.json()) as { access_token?: string };
    if (tokenRes.statusCode !== 200 || !body.access_token) {
      throw new Error(`token request failed: ${tokenRes.statusCode} ${JSON.stringify(body)}`);
    }
    accessToken = body.access_token;
  }
  return {
    orgId: partner.orgId,
    clientId: partner.clientId,
    accessToken,
    serial: view.serial,
    agent,
    get(path, opts = {}) {
      return call(agent, platform.urls.gateway, path, {
        ...(opts.token === false ? {} : { token: accessToken }),
        ...(opts.headers ? { headers: opts.headers } : {}),
      });
    },
    close: () => agent.close(),
  };
}
