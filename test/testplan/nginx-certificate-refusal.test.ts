import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Answer, describe, nginxRefusedCertificate } from '../../src/testplan/http.ts';

const http = (status: number, body: unknown): Answer => ({
  kind: 'http',
  status,
  code: undefined,
  challenge: undefined,
  body,
});
// nginx 1.22's own pages (ngx_http_special_response.c) for 495 and 496, sent to the client as 400.
const page = (title: string) =>
  `<html>\r\n<head><title>400 ${title}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>${title}</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n`;

test('ok/nginx’s 400 certificate pages are the edge refusing the certificate', () => {
  const untrusted = http(400, page('The SSL certificate error'));
  assert.equal(nginxRefusedCertificate(untrusted), 'The SSL certificate error');
  assert.equal(describe(untrusted), '400 nginx: The SSL certificate error');
  const none = http(400, page('No required SSL certificate was sent'));
  assert.equal(nginxRefusedCertificate(none), 'No required SSL certificate was sent');
});

test('fail/any other 400 is not a certificate refusal', () => {
  assert.equal(nginxRefusedCertificate(http(400, page('Request Header Or Cookie Too Large'))), undefined);
  assert.equal(nginxRefusedCertificate(http(400, { code: 'invalid_request' })), undefined);
  assert.equal(nginxRefusedCertificate(http(403, page('The SSL certificate error'))), undefined);
  assert.equal(nginxRefusedCertificate({ kind: 'transport', code: 'ECONNRESET', message: '' }), undefined);
});
