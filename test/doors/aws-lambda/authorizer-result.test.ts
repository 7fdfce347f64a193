import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ANONYMOUS_PRINCIPAL,
  type AuthorizerResult,
  authorizerResult,
  type IamPolicyResult,
  stageWildcard,
  UNAUTHORIZED,
} from '../../../src/doors/aws-lambda/index.ts';
import type { Decision } from '../../../src/gateway/decision/index.ts';

const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/v1/accounts';
const allow: Decision = {
  allow: true,
  status: 200,
  reason: 'allowed',
  identity: {
    clientId: 'client-1',
    orgId: 'org-1',
    scopes: ['accounts:read', 'payments:write'],
    roles: ['partner_reader'],
    jti: 'jti-1',
    certX5tS256: 'x5t',
    certSubject: 'CN=client-1',
    route: '/v1/accounts',
  },
  headers: {},
};
const deny = (status: 400 | 401 | 403 | 404 | 503, reason: string): Decision => ({
  allow: false,
  status,
  reason,
  detail: 'why',
  challenge: status === 401 || status === 403 ? `Bearer realm="accredit", error="${reason}"` : undefined,
});
const opts = (
  kind: 'http' | 'rest',
  mode: 'simple' | 'iam' = 'iam',
  policyResource: 'exact' | 'wildcard' = 'exact',
) => ({
  kind,
  mode,
  policyResource,
  resource: ARN,
  requestId: 'req-1',
});

function primitivesOnly(result: AuthorizerResult): void {
  for (const [key, value] of Object.entries(result.context))
    assert.ok(['string', 'number', 'boolean'].includes(typeof value), `${key}: ${typeof value}`);
}

describe('decision → API Gateway authorizer result', () => {
  test('ok/allow, IAM (REST and HTTP API): principal = client_id, Allow on the exact ARN, identity context', () => {
    for (const kind of ['rest', 'http'] as const) {
      const result = authorizerResult(allow, opts(kind)) as IamPolicyResult;
      assert.deepEqual(result, {
        principalId: 'client-1',
        policyDocument: {
          Version: '2012-10-17',
          Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: ARN }],
        },
        context: {
          client_id: 'client-1',
          org_id: 'org-1',
          scopes: 'accounts:read payments:write',
          roles: 'partner_reader',
          cert_x5t_s256: 'x5t',
          jti: 'jti-1',
          route: '/v1/accounts',
          request_id: 'req-1',
        },
      });
      primitivesOnly(result);
    }
  });

  test('ok/allow, HTTP API simple response: isAuthorized true with the same context', () => {
    const result = authorizerResult(allow, opts('http', 'simple'));
    assert.equal((result as { isAuthorized: boolean }).isAuthorized, true);
    assert.equal(result.context.client_id, 'client-1');
    primitivesOnly(result);
  });

  test('ok/a REST API always gets a policy, even when the simple mode is configured', () => {
    assert.ok('policyDocument' in authorizerResult(allow, opts('rest', 'simple')));
  });

  test('ok/public route without a client: anonymous principal, no undefined context values', () => {
    const result = authorizerResult(
      {
        ...allow,
        reason: 'public_route',
        identity: {
          ...allow.identity,
          clientId: undefined,
          orgId: undefined,
          jti: undefined,
          scopes: [],
          roles: [],
        },
      },
      opts('rest'),
    ) as IamPolicyResult;
    assert.equal(result.principalId, ANONYMOUS_PRINCIPAL);
    assert.ok(!('client_id' in result.context) && !('jti' in result.context));
    primitivesOnly(result);
  });

  test('ok/wildcard only when configured: this API stage, never "*"', () => {
    const result = authorizerResult(allow, opts('rest', 'iam', 'wildcard')) as IamPolicyResult;
    assert.equal(
      result.policyDocument.Statement[0]!.Resource,
      'arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/*',
    );
    const denied = authorizerResult(
      deny(403, 'insufficient_scope'),
      opts('rest', 'iam', 'wildcard'),
    ) as IamPolicyResult;
    assert.equal(denied.policyDocument.Statement[0]!.Resource, ARN, 'a Deny names the exact ARN');
    assert.throws(() => stageWildcard('*'));
    assert.throws(() => stageWildcard('arn:aws:execute-api:us-east-1:1:api'));
  });

  test('fail/REST 401: throws exactly Error("Unauthorized") (API Gateway answers 401)', () => {
    for (const reason of ['token_missing', 'token_signature_invalid', 'certificate_untrusted'])
      assert.throws(
        () => authorizerResult(deny(401, reason), opts('rest')),
        (err: Error) => err.message === UNAUTHORIZED,
      );
  });

  test('fail/REST 400, 403, 404, 503: a Deny policy on the exact ARN, reason and status in the context', () => {
    for (const [status, reason] of [
      [400, 'token_in_query'],
      [403, 'insufficient_scope'],
      [404, 'route_not_found'],
      [503, 'feed_stale'],
    ] as const) {
      const result = authorizerResult(deny(status, reason), opts('rest')) as IamPolicyResult;
      assert.equal(result.principalId, ANONYMOUS_PRINCIPAL);
      assert.deepEqual(result.policyDocument.Statement, [
        { Action: 'execute-api:Invoke', Effect: 'Deny', Resource: ARN },
      ]);
      assert.equal(result.context.reason, reason);
      assert.equal(result.context.status, status);
      primitivesOnly(result);
    }
  });

  test('fail/HTTP API, every denial (401 included): isAuthorized false (simple) or a Deny policy (iam)', () => {
    for (const status of [400, 401, 403, 404, 503] as const) {
      const simple = authorizerResult(deny(status, 'x'), opts('http', 'simple'));
      assert.equal((simple as { isAuthorized: boolean }).isAuthorized, false);
      assert.equal(simple.context.status, status);
      const iam = authorizerResult(deny(status, 'x'), opts('http', 'iam')) as IamPolicyResult;
      assert.equal(iam.policyDocument.Statement[0]!.Effect, 'Deny');
    }
  });

  test('ok/the challenge travels in a denial’s context for gateway responses', () => {
    const result = authorizerResult(deny(403, 'insufficient_scope'), opts('rest'));
    assert.equal(result.context.challenge, 'Bearer realm="accredit", error="insufficient_scope"');
  });
});
