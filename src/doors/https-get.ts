import { Agent, request } from 'node:https';

export interface HttpsAnswer {
  status: number;
  body: string;
}

export interface HttpsGetOptions {
  agent: Agent;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Bodies beyond this are refused (a snapshot of a large directory is a few MiB). */
  maxBytes: number;
}

function once(url: URL, options: HttpsGetOptions): Promise<HttpsAnswer & { reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: options.agent, headers: options.headers ?? {}, timeout: options.timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > options.maxBytes) req.destroy(new Error('answer too large'));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => {
      (err as Error & { reused?: boolean }).reused = req.reusedSocket;
      reject(err);
    });
    req.end();
  });
}

/**
 * One GET over a kept-alive connection. A Lambda environment is frozen between invocations, and the platform
 * may close an idle connection meanwhile: a request that fails on a reused socket is sent once more on a new one
 * (the Node.js documentation's pattern for `reusedSocket`); GET is idempotent.
 */
export async function httpsGet(url: URL, options: HttpsGetOptions): Promise<HttpsAnswer> {
  try {
    const { status, body } = await once(url, options);
    return { status, body };
  } catch (err) {
    if (!(err as { reused?: boolean }).reused) throw err;
    const { status, body } = await once(url, options);
    return { status, body };
  }
}

/** A kept-alive agent trusting only `ca` (the platform's bundle). */
export function platformAgent(ca: string): Agent {
  return new Agent({ keepAlive: true, maxSockets: 4, ca });
}
