import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { evaluatePolicy } from './harness.ts';

const ARN = 'arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/GET/v1/accounts';
const policy = (...statements: Array<Record<string, unknown>>) => ({
  principalId: 'c',
  policyDocument: { Version: '2012-10-17', Statement: statements },
});
const allow = (Resource: unknown, Action: unknown = 'execute-api:Invoke') => ({
  Effect: 'Allow',
  Action,
  Resource,
});

// The harness stands in for API Gateway's policy evaluation; it must not be laxer than API Gateway.
describe('the harness evaluates IAM policies as API Gateway does', () => {
  test('ok/an Allow on the exact ARN, on a matching wildcard, or among several resources admits', () => {
    assert.equal(evaluatePolicy(policy(allow(ARN)), ARN, true), 'allow');
    assert.equal(
      evaluatePolicy(policy(allow('arn:aws:execute-api:us-east-1:123456789012:abcdef123/test/*')), ARN, true),
      'allow',
    );
    assert.equal(evaluatePolicy(policy(allow(['arn:x', ARN])), ARN, true), 'allow');
  });

  test('fail/an explicit Deny wins; an Allow on another ARN or action does not admit', () => {
    assert.equal(
      evaluatePolicy(
        policy(allow(ARN), { Effect: 'Deny', Action: 'execute-api:Invoke', Resource: ARN }),
        ARN,
        true,
      ),
      'deny',
    );
    assert.equal(evaluatePolicy(policy(allow(ARN.replace('GET', 'POST'))), ARN, true), 'deny');
    assert.equal(evaluatePolicy(policy(allow(ARN, 's3:GetObject')), ARN, true), 'deny');
    assert.equal(evaluatePolicy(policy(), ARN, true), 'deny');
  });

  test('fail/malformed policies are configuration errors, never an Allow', () => {
    assert.equal(evaluatePolicy({ policyDocument: policy(allow(ARN)).policyDocument }, ARN, true), 'invalid');
    assert.equal(
      evaluatePolicy(
        { principalId: 'c', policyDocument: { Version: '2008-10-17', Statement: [allow(ARN)] } },
        ARN,
        true,
      ),
      'invalid',
    );
    assert.equal(
      evaluatePolicy(policy({ Effect: 'Maybe', Action: 'execute-api:Invoke', Resource: ARN }), ARN, true),
      'invalid',
    );
    assert.equal(evaluatePolicy(null, ARN, false), 'invalid');
  });
});
