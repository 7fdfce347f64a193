import { readFileSync } from 'node:fs';
import { Agent, fetch as undiciFetch } from 'undici';

/** A fetch that presents a client certificate (for openid-client's customFetch) and the agent to close after. */
export function mtlsFetch(caBundlePath: string, certPem: string, keyPath: string) {
  const agent = new Agent({
    connect: { ca: readFileSync(caBundlePath, 'utf8'), cert: certPem, key: readFileSync(keyPath) },
  });
  const fetch = (url: string, init?: RequestInit) =>
    undiciFetch(url, { ...init, dispatcher: agent } as Parameters<
      typeof undiciFetch
    >[1]) as unknown as Promise<Response>;
  return { agent, fetch };
}
