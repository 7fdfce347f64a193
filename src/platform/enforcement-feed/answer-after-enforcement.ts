import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { FeedHub } from './feed-hub.ts';

// Longest a revoking call waits for standalone gateways to confirm; a gateway slower than this is not waited
// for (it learns the change a moment later, and fails closed by its staleness bound if it never does).
export const ENFORCEMENT_WAIT_MS = 250;

/**
 * Admin API calls that changed access-affecting state answer only once every acknowledging enforcement point
 * has applied the change, so "answered" means "refused at the standalone gateway" (issue 10).
 */
export function registerAnswerAfterEnforcement(app: FastifyInstance, hub: FeedHub): void {
  const seen = new WeakMap<FastifyRequest, number>();
  app.addHook('onRequest', async (request) => {
    seen.set(request, hub.lastSeq());
  });
  app.addHook('onSend', async (request) => {
    const before = seen.get(request);
    if (before !== undefined && hub.lastSeq() > before) await hub.settle(hub.lastSeq(), ENFORCEMENT_WAIT_MS);
  });
}

/** The same for a raw handler (the authorization server's revocation endpoint): its response is held until then. */
export function answerAfterEnforcement(
  hub: FeedHub,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const before = hub.lastSeq();
    const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
    res.end = ((...args: unknown[]) => {
      if (hub.lastSeq() <= before) return end(...args);
      hub.settle(hub.lastSeq(), ENFORCEMENT_WAIT_MS).then(() => end(...args));
      return res;
    }) as ServerResponse['end'];
    handler(req, res);
  };
}
