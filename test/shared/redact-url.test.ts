import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { redactPath, redactUrl } from '../../src/shared/redact-url.ts';

const token = () => randomBytes(32).toString('base64url');
const JWS =
  'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.eyJzdWIiOiJjbF8xIn0.' +
  'MEUCIQDx7aQ2Yk1cbJ3cW1wZ2hX4s0b3xq9zVdQ6gCkz0Q1xXwIgR8nQx1Yp3e3k4mQm2Jc8gkVq0x9mR3kF0bXb6yHc5o';
const JWE_SHORT = 'eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4R0NNIn0..aaaa.bbbb.cccc';

describe('redactUrl', () => {
  const operator = `acc_op_${token()}`;
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ['ok/an ordinary path is untouched', '/admin/v1/organisations', '/admin/v1/organisations'],
    [
      'ok/a UUID is an id, not a credential',
      `/admin/v1/organisations/${'0b6f3c8e-2d7a-4f4b-9e1c-5a6d7e8f9a0b'}`,
      '/admin/v1/organisations/0b6f3c8e-2d7a-4f4b-9e1c-5a6d7e8f9a0b',
    ],
    [
      'ok/a cl_ client id',
      '/admin/v1/applications/cl_AbCdEfGhIjKlMnOpQrStUv',
      '/admin/v1/applications/cl_AbCdEfGhIjKlMnOpQrStUv',
    ],
    [
      'ok/a 20-octet certificate serial',
      `/admin/v1/certificates/${'4f'.repeat(20)}/revoke`,
      `/admin/v1/certificates/${'4f'.repeat(20)}/revoke`,
    ],
    ['ok/an account id', '/v1/accounts/acc_Ab-dE_GhIjKlMnOp', '/v1/accounts/acc_Ab-dE_GhIjKlMnOp'],
    [
      'ok/ordinary query parameters stay',
      '/admin/v1/audit?limit=10&after=42',
      '/admin/v1/audit?limit=10&after=42',
    ],
    [
      'ok/an encoded entity identifier',
      '/admin/v1/federation/subordinates/https%3A%2F%2Frp.example.com%2Fparty',
      '/admin/v1/federation/subordinates/https%3A%2F%2Frp.example.com%2Fparty',
    ],
    [
      'fail/access_token in the query (RFC 6750 §2.3)',
      `/admin/v1/organisations?access_token=${operator}`,
      '/admin/v1/organisations?access_token=[redacted]',
    ],
    [
      'fail/every credential parameter, case and separator variants',
      '/cb?code=abc&State=s&Client-Secret=x&apiKey=k&X-Amz-Signature=ff&id_token=t&password=p&limit=5',
      '/cb?code=[redacted]&State=s&Client-Secret=[redacted]&apiKey=[redacted]&X-Amz-Signature=[redacted]&id_token=[redacted]&password=[redacted]&limit=5',
    ],
    ['fail/a percent-encoded parameter name', '/x?access%5Ftoken=abc', '/x?access%5Ftoken=[redacted]'],
    ['fail/a JWT under an innocent name', `/x?q=${JWS}`, '/x?q=[redacted]'],
    ['fail/a long token under an innocent name', `/x?q=${operator}&n=1`, '/x?q=[redacted]&n=1'],
    ['fail/a bare token as a query key', `/x?${operator}`, '/x?[redacted]'],
    ['fail/a JWS in the path', `/v1/accounts/${JWS}`, '/v1/accounts/[redacted]'],
    ['fail/a short JWE in the path', `/${JWE_SHORT}/x`, '/[redacted]/x'],
    [
      'fail/a 256-bit token in the path',
      `/v1/accounts/${token()}/transactions`,
      '/v1/accounts/[redacted]/transactions',
    ],
    ['fail/a prefixed operator token in the path', `/admin/v1/${operator}`, '/admin/v1/[redacted]'],
    ['fail/a hex SHA-256 in the path', `/x/${'ab'.repeat(32)}`, '/x/[redacted]'],
    ['fail/path and query together', `/${JWS}?token=a`, '/[redacted]?token=[redacted]'],
  ];
  for (const [name, url, expected] of cases) {
    test(name, () => assert.equal(redactUrl(url), expected));
  }

  test('ok/a thousand random ids never trip the heuristic', () => {
    for (let i = 0; i < 1000; i++) {
      const path = `/v1/accounts/${randomUUID()}/x/cl_${randomBytes(16).toString('base64url')}`;
      assert.equal(redactPath(path), path);
    }
  });

  test('fail/random 256-bit tokens are always caught', () => {
    for (let i = 0; i < 1000; i++) assert.equal(redactPath(`/a/${token()}`), '/a/[redacted]');
  });
});
