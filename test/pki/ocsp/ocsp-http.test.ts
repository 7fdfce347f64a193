import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as pkijs from 'pkijs';
import {
  answerOcspHttp,
  decodeGetRequest,
  MAX_OCSP_REQUEST_BYTES,
  type OcspAnswer,
  OcspRequestError,
} from '../../../src/pki/ocsp/index.ts';

const NOW = new Date('2026-03-01T10:00:00.000Z');
// Bytes whose base64 holds '+', '/' and '=' ("++//+w=="), the characters clients encode differently.
const REQUEST = Buffer.from([0xfb, 0xef, 0xff, 0xfb]);
const B64 = REQUEST.toString('base64');

const status = (der: Buffer) => pkijs.OCSPResponse.fromBER(der).responseStatus.valueBlock.valueDec;

function recorder(answer: Partial<OcspAnswer> = {}) {
  const seen: Buffer[] = [];
  const respond = async (der: Uint8Array): Promise<OcspAnswer> => {
    seen.push(Buffer.from(der));
    return { der: Buffer.from('signed'), status: 'successful', ...answer };
  };
  return { seen, respond };
}

const base = { contentType: undefined, body: undefined, ifNoneMatch: undefined };

describe('decodeGetRequest (RFC 6960 A.1)', () => {
  assert.ok(B64.includes('+') && B64.includes('/') && B64.includes('='));
  const ok: Array<[string, string]> = [
    ['ok/raw base64 with / and +', B64],
    ['ok/fully percent-encoded', encodeURIComponent(B64)],
    ['ok/only / encoded', B64.replace(/\//g, '%2F')],
    ['ok/lowercase percent-encoding', B64.replace(/\//g, '%2f').replace(/\+/g, '%2b').replace(/=/g, '%3d')],
  ];
  for (const [name, encoded] of ok) {
    test(name, () => assert.deepEqual(decodeGetRequest(encoded), REQUEST));
  }
  const bad: Array<[string, string]> = [
    ['fail/empty', ''],
    ['fail/bad percent-encoding', '%zz'],
    ['fail/not base64', 'abc$'],
    ['fail/base64url alphabet', B64.replace(/\+/g, '-').replace(/\//g, '_')],
    ['fail/missing padding', B64.replace(/=+$/, '')],
    ['fail/too long', 'A'.repeat(MAX_OCSP_REQUEST_BYTES * 5)],
  ];
  for (const [name, encoded] of bad) {
    test(name, () => {
      assert.throws(
        () => decodeGetRequest(encoded),
        (err) => err instanceof OcspRequestError && err.status === 'malformedRequest',
      );
    });
  }
});

describe('answerOcspHttp', () => {
  test('ok/GET: the decoded request is answered, application/ocsp-response', async () => {
    const r = recorder();
    const answer = await answerOcspHttp(
      r.respond,
      { ...base, method: 'GET', suffix: encodeURIComponent(B64) },
      NOW,
    );
    assert.equal(answer.status, 200);
    assert.equal(answer.headers['content-type'], 'application/ocsp-response');
    assert.deepEqual(r.seen, [REQUEST]);
    assert.equal(answer.headers['cache-control'], 'no-store', 'nothing cacheable without cacheable facts');
  });

  test('ok/POST application/ocsp-request (parameters allowed)', async () => {
    const r = recorder();
    const answer = await answerOcspHttp(
      r.respond,
      {
        ...base,
        method: 'POST',
        suffix: '',
        contentType: 'Application/OCSP-Request; charset=binary',
        body: REQUEST,
      },
      NOW,
    );
    assert.equal(answer.status, 200);
    assert.deepEqual(r.seen, [REQUEST]);
  });

  test('ok/RFC 5019 §6.2 caching headers for a response without nonce; If-None-Match gives 304', async () => {
    const cacheable = {
      thisUpdate: NOW,
      nextUpdate: new Date(NOW.getTime() + 3_600_000),
      etag: '"abc"',
    };
    const r = recorder({ cacheable });
    const request = { ...base, method: 'GET', suffix: B64 };
    const answer = await answerOcspHttp(r.respond, request, NOW);
    assert.equal(answer.headers['cache-control'], 'max-age=60, public, no-transform, must-revalidate');
    assert.equal(answer.headers['last-modified'], NOW.toUTCString());
    assert.equal(answer.headers.expires, cacheable.nextUpdate.toUTCString());
    assert.equal(answer.headers.etag, '"abc"');
    const again = await answerOcspHttp(r.respond, { ...request, ifNoneMatch: 'W/"x", "abc"' }, NOW);
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    // max-age never runs past nextUpdate.
    const late = await answerOcspHttp(r.respond, request, new Date(cacheable.nextUpdate.getTime() - 10_000));
    assert.equal(late.headers['cache-control'], 'max-age=10, public, no-transform, must-revalidate');
  });

  const failures: Array<[string, Parameters<typeof answerOcspHttp>[1], number]> = [
    ['fail/GET without a request', { ...base, method: 'GET', suffix: '' }, 200],
    ['fail/GET with garbage in the path', { ...base, method: 'GET', suffix: '%%%' }, 200],
    ['fail/POST without content type', { ...base, method: 'POST', suffix: '', body: REQUEST }, 415],
    [
      'fail/POST as form data',
      {
        ...base,
        method: 'POST',
        suffix: '',
        contentType: 'application/x-www-form-urlencoded',
        body: REQUEST,
      },
      415,
    ],
    [
      'fail/POST body over the limit',
      { ...base, method: 'POST', suffix: '', contentType: 'application/ocsp-request', body: undefined },
      413,
    ],
    [
      'fail/POST below the responder path',
      { ...base, method: 'POST', suffix: 'x', contentType: 'application/ocsp-request', body: REQUEST },
      404,
    ],
    [
      'fail/PUT',
      { ...base, method: 'PUT', suffix: '', contentType: 'application/ocsp-request', body: REQUEST },
      405,
    ],
  ];
  for (const [name, request, httpStatus] of failures) {
    test(`${name}: OCSP malformedRequest, nothing asked of the responder`, async () => {
      const r = recorder();
      const answer = await answerOcspHttp(r.respond, request, NOW);
      assert.equal(answer.status, httpStatus);
      assert.equal(answer.headers['content-type'], 'application/ocsp-response');
      assert.equal(status(answer.body), 1);
      assert.equal(r.seen.length, 0);
    });
  }
});
