import type { IncomingMessage, ServerResponse } from 'node:http';
import { inject } from 'light-my-request';

const DISCOVERY_PATH = '/.well-known/openid-configuration';

/**
 * The discovery document exactly as oidc-provider serves it on the public listener, read in process (no
 * socket): what the Entity Configuration derives from, so no copy of the AS metadata can drift from it.
 * oidc-provider builds endpoint URLs from the request, so the request is the one a client sends to the
 * issuer: its host, over TLS.
 */
export async function readDiscoveryMetadata(
  handle: (req: IncomingMessage, res: ServerResponse) => void,
  issuer: string,
): Promise<Record<string, unknown>> {
  const asIssuer = (req: IncomingMessage, res: ServerResponse) => {
    (req.socket as { encrypted?: boolean }).encrypted = true;
    handle(req, res);
  };
  const response = await inject(asIssuer, {
    method: 'GET',
    url: DISCOVERY_PATH,
    headers: { host: new URL(issuer).host, accept: 'application/json' },
  });
  if (response.statusCode !== 200) {
    throw new Error(
      `the authorization server's discovery document could not be read (HTTP ${response.statusCode})`,
    );
  }
  return response.json() as Record<string, unknown>;
}
