import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  eventKind,
  httpApiFacts,
  restApiFacts,
  UnreadableEvent,
} from '../../../src/doors/aws-lambda/index.ts';
import { selfSignedCredential } from '../../gateway/fixture.ts';
import { arnOf, httpApiEvent, restApiEvent } from './events.ts';

let certPem: string;
let x5t: string;
before(async () => {
  const credential = await selfSignedCredential('lambda-partner');
  certPem = credential.certPem;
  x5t = credential.x5tS256;
});

describe('API Gateway events → request facts', () => {
  test('ok/event kinds: HTTP API 2.0 and REST REQUEST; TOKEN events and strays are neither', () => {
    assert.equal(eventKind(httpApiEvent({ method: 'GET', path: '/v1/accounts' })), 'http');
    assert.equal(eventKind(restApiEvent({ method: 'GET', path: '/v1/accounts' })), 'rest');
    const token = { type: 'TOKEN', authorizationToken: 'x', methodArn: arnOf('test', 'GET', '/') };
    for (const stray of [
      token,
      {},
      null,
      'GET /',
      { ...httpApiEvent({ method: 'GET', path: '/' }), version: '1.0' },
    ])
      assert.equal(eventKind(stray), undefined);
  });

  test('ok/HTTP API 2.0: method, rawPath + rawQueryString as received, headers, certificate, routeArn', () => {
    const read = httpApiFacts(
      httpApiEvent({
        method: 'get',
        path: '/v1/accounts/a%2Fb',
        query: 'x=1&y=%20',
        headers: { Authorization: 'Bearer abc', DPoP: 'proof' },
        clientCertPem: certPem,
        requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      }),
    );
    assert.equal(read.kind, 'http');
    assert.equal(read.resource, arnOf('$default', 'get', '/v1/accounts/a%2Fb'));
    assert.equal(read.facts.method, 'GET');
    assert.equal(read.facts.target, '/v1/accounts/a%2Fb?x=1&y=%20');
    assert.equal(read.facts.authorization, 'Bearer abc');
    assert.equal(read.facts.dpop, 'proof');
    assert.equal(read.facts.requestId, 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef');
    assert.equal(read.facts.certificate?.source, 'aws-apigw');
    assert.deepEqual(read.facts.certificate?.chain, []);
    assert.equal(
      Buffer.from(read.facts.certificate!.leaf.fingerprint256.replaceAll(':', ''), 'hex').toString(
        'base64url',
      ),
      x5t,
    );
  });

  test('ok/no certificate, no query, no headers: all undefined, target is the path', () => {
    const event = httpApiEvent({ method: 'POST', path: '/v1/payments' });
    delete (event as { headers?: unknown }).headers;
    const read = httpApiFacts(event);
    assert.equal(read.facts.target, '/v1/payments');
    assert.equal(read.facts.authorization, undefined);
    assert.equal(read.facts.certificate, undefined);
  });

  test('ok/REST: header names in any case, repeated Authorization joined (and so refused by the core), decoded path encoded again', () => {
    const read = restApiFacts(
      restApiEvent({
        method: 'GET',
        path: '/v1/accounts/a%20b/x:y@z',
        query: 'q=a%26b&q=2',
        headers: { AUTHORIZATION: ['Bearer one', 'Bearer two'], dpop: 'p' },
        clientCertPem: certPem,
      }),
    );
    assert.equal(read.kind, 'rest');
    assert.equal(read.resource, arnOf('test', 'GET', '/v1/accounts/a b/x:y@z'));
    assert.equal(read.facts.target, '/v1/accounts/a%20b/x:y@z?q=a%26b&q=2');
    assert.equal(read.facts.authorization, 'Bearer one, Bearer two');
    assert.equal(read.facts.dpop, 'p');
    assert.equal(read.facts.certificate?.source, 'aws-apigw');
  });

  test('ok/REST without multiValue forms: the single-value headers and query are read', () => {
    const event = restApiEvent({
      method: 'GET',
      path: '/v1/accounts',
      query: 'a=1',
      headers: { authorization: 'Bearer t' },
    });
    event.multiValueHeaders = null;
    event.multiValueQueryStringParameters = null;
    const read = restApiFacts(event);
    assert.equal(read.facts.authorization, 'Bearer t');
    assert.equal(read.facts.target, '/v1/accounts?a=1');
  });

  test('ok/a configured API mapping prefix is removed; other paths are left alone', () => {
    const strip = { stripPrefix: '/payments' };
    assert.equal(
      httpApiFacts(httpApiEvent({ method: 'GET', path: '/payments/v1/x' }), strip).facts.target,
      '/v1/x',
    );
    assert.equal(httpApiFacts(httpApiEvent({ method: 'GET', path: '/payments' }), strip).facts.target, '/');
    assert.equal(
      restApiFacts(restApiEvent({ method: 'GET', path: '/paymentsx/v1' }), strip).facts.target,
      '/paymentsx/v1',
    );
  });

  test('ok/an unusable API Gateway request id is replaced by a random one', () => {
    const read = httpApiFacts(httpApiEvent({ method: 'GET', path: '/', requestId: 'bad id\n' }));
    assert.match(read.facts.requestId, /^[0-9a-f-]{36}$/);
  });

  test('fail/a clientCertPem that does not parse is refused, never read as "no certificate"', () => {
    const garbage = [
      'not a pem',
      '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----',
      `${'-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'.repeat(11)}`,
    ];
    for (const pem of garbage) {
      assert.throws(
        () => httpApiFacts(httpApiEvent({ method: 'GET', path: '/', clientCertPem: pem })),
        (err: unknown) => err instanceof UnreadableEvent && err.reason === 'certificate_untrusted',
      );
      assert.throws(
        () => restApiFacts(restApiEvent({ method: 'GET', path: '/', clientCertPem: pem })),
        UnreadableEvent,
      );
    }
  });

  test('ok/a PEM with the leaf and an intermediate: the rest is the chain', () => {
    const read = httpApiFacts(
      httpApiEvent({ method: 'GET', path: '/', clientCertPem: `${certPem}\n${certPem}` }),
    );
    assert.equal(read.facts.certificate?.chain.length, 1);
  });
});
