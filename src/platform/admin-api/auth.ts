import type { FastifyInstance } from 'fastify';
import { CSRF_HEADER, csrfMatches, UNSAFE_METHODS } from '../../console/index.ts';
import { problem, sendProblem } from '../http/problem.ts';
import { findOperator } from '../operator-tokens.ts';
import type { AdminDeps } from './deps.ts';

/**
 * Every /admin/v1 route needs an operator: a bearer operator token (RFC 6750 §3 challenge on failure), or a
 * console session of an account with an operator role. A session's unsafe requests need the CSRF header and
 * an administrator; an auditor reads everything and changes nothing.
 */
export function registerOperatorAuth(app: FastifyInstance, deps: AdminDeps): void {
  app.decorateRequest('actor', '');
  app.decorateRequest('consoleCaller', undefined);
  app.addHook('onRequest', async (request, reply) => {
    const header = request.headers.authorization;
    if (header === undefined && deps.callers && request.headers.cookie) {
      const caller = await deps.callers.resolve(request.headers.cookie);
      if (caller?.operator) {
        if (request.headers['sec-fetch-site'] === 'cross-site') {
          return sendProblem(reply, problem(403, 'cross_site_request', 'cross-site requests are refused'));
        }
        if (UNSAFE_METHODS.has(request.method)) {
          if (!csrfMatches(caller.secret, request.headers[CSRF_HEADER])) {
            return sendProblem(
              reply,
              problem(403, 'csrf_token_invalid', `the ${CSRF_HEADER} header is missing or wrong`),
            );
          }
          if (caller.operator !== 'administrator') {
            return sendProblem(reply, problem(403, 'read_only', 'auditors may read but not change anything'));
          }
        }
        request.actor = `account:${caller.account.username}`;
        request.consoleCaller = caller;
        return;
      }
    }
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header ?? '');
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
