import type { Agent } from 'node:https';
import { httpsGet } from './https-get.ts';

/** RFC 8414 §3: the issuer and jwks_uri of the authorization server at the platform URL. */
export async function discoverAuthorizationServer(
  platformUrl: string,
  agent: Agent,
): Promise<{ issuer: string; jwksUri: string }> {
  const url = new URL('/.well-known/openid-configuration', platformUrl);
  let answer: { status: number; body: string };
  try {
    answer = await httpsGet(url, { agent, timeoutMs: 10_000, maxBytes: 1_000_000 });
  } catch (err) {
    throw new Error(`cannot fetch ${url}: ${(err as Error).message}`);
  }
  try {
    const doc = JSON.parse(answer.body) as { issuer?: unknown; jwks_uri?: unknown };
    if (answer.status !== 200 || typeof doc.issuer !== 'string' || typeof doc.jwks_uri !== 'string') {
      throw new Error(`status ${answer.status}, no issuer and jwks_uri`);
    }
    return { issuer: doc.issuer, jwksUri: doc.jwks_uri };
  } catch (err) {
    throw new Error(`unusable discovery document at ${url}: ${(err as Error).message}`);
  }
}
