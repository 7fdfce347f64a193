import type { FastifyInstance } from 'fastify';
import { problem, sendProblem } from '../http/problem.ts';
import { findOperator } from '../operator-tokens.ts';
import type { AdminDeps } from './deps.ts';

/** Every /admin/v1 route needs an operator bearer token (RFC 6750 §3 challenge on failure). */
export function registerOperatorAuth(app: FastifyInstance, deps: AdminDeps): void {
  app.decorateRequest('actor', '');
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
    const operator = match?.[1] ? await findOperator(deps.storage.db, match[1]) : undefined;
    if (!operator) {
      reply.header(
        'www-authenticate',
        match ? 'Bearer realm="accredit-admin", error="invalid_token"' : 'Bearer realm="accredit-admin"',
      );
      return sendProblem(reply, problem(401, 'unauthorized', 'an operator bearer token is required'));
    }
    request.actor = `operator:${operator.name}`;
  });
}
