// A verification thread of the token verifier pool (verify-pool.ts): RFC 9068 §4 validation with jose, the same
// options as the in-thread verifier, against the JWKS document the owning thread last sent. It answers each batch
// with the payloads, or jose's error facts (code, claim, reason) for the owning thread to map to a reason.
import { parentPort } from 'node:worker_threads';
import { createLocalJWKSet, type JSONWebKeySet, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { PoolRequest, PoolResponse, VerifyOutcome } from './verify-pool-protocol.ts';

let getKey: JWTVerifyGetKey | undefined;
let options: (Parameters<typeof jwtVerify>[2] & object) | undefined;

async function verifyOne(token: string, nowMs: number): Promise<VerifyOutcome> {
  if (!getKey || !options) return { error: { code: 'ERR_POOL_NOT_READY' } };
  try {
    const { payload } = await jwtVerify(token, getKey, { ...options, currentDate: new Date(nowMs) });
    return { payload };
  } catch (err) {
    const { code, claim, reason } = err as { code?: unknown; claim?: unknown; reason?: unknown };
    return {
      error: {
        code: typeof code === 'string' ? code : 'ERR_UNKNOWN',
        ...(typeof claim === 'string' ? { claim } : {}),
        ...(typeof reason === 'string' ? { reason } : {}),
      },
    };
  }
}

parentPort?.on('message', (message: PoolRequest) => {
  if (message.kind === 'configure') {
    options = message.options;
    return;
  }
  if (message.kind === 'jwks') {
    try {
      getKey = createLocalJWKSet(message.jwks as JSONWebKeySet);
    } catch {
      getKey = undefined;
    }
    return;
  }
  const { batch, tokens, nowMs } = message;
  Promise.all(tokens.map((token, i) => verifyOne(token, nowMs[i] as number))).then((outcomes) => {
    const response: PoolResponse = { batch, outcomes };
    parentPort?.postMessage(response);
  });
});
