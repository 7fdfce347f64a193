// The published catalog over real TLS on both engines: headers, ETag/304, HEAD, negotiation, and a catalog
// change that shows on the very next request while nothing else makes it re-read.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createHttpsServer } from '../../../src/platform/http/create-server.ts';
import { registerPartnerCatalogRoutes } from '../../../src/platform/partner-catalog/register-partner-catalog-routes.ts';
import type { Storage } from '../../../src/storage/index.ts';
import { serverTlsFrom } from '../../gateway/fixture.ts';
import { installCa } from '../../support/ca-fixture.ts';
import { engineTargets, openFresh } from '../../support/engines.ts';
import { CONTEXT, HOSTILE, operation, sampleCatalog } from './catalog-fixture.ts';
import { writeCatalogRows } from './write-catalog-rows.ts';

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
}

for (const target of await engineTargets()) {
  describe(`partner catalog routes (${target.name})`, { skip: target.skip, timeout: 60_000 }, () => {
    let storage: Storage;
    let app: ReturnType<typeof createHttpsServer>;
    let agent: Agent;
    let origin: string;

    const get = async (
      path: string,
      headers: Record<string, string> = {},
      method: 'GET' | 'HEAD' = 'GET',
    ) => {
      const res = await request(`${origin}${path}`, { method, headers, dispatcher: agent });
      const text = await res.body.text();
      const flat = Object.fromEntries(Object.entries(res.headers).map(([k, v]) => [k, String(v)]));
      return { status: res.statusCode, headers: flat, text } satisfies Answer;
    };

    before(async () => {
      storage = await openFresh(target);
      await storage.feed.start();
      const ca = await installCa(storage);
      const tls = await serverTlsFrom(ca);
      app = createHttpsServer({ tls, logger: pino({ level: 'silent' }) });
      registerPartnerCatalogRoutes(app, { storage, context: CONTEXT });
      await app.listen({ host: '127.0.0.1', port: 0 });
      origin = `https://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      agent = new Agent({ connect: { ca: ca.chainPem } });
      await writeCatalogRows(storage, sampleCatalog(), { publish: true });
    });

    after(async () => {
      await agent?.close();
      await app?.close();
      await storage?.close();
      await target.cleanup();
    });

    test('ok/GET /catalog: the HTML page with a strict CSP, nosniff, an ETag and a public max-age', async () => {
      const res = await get('/catalog');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
      assert.match(
        res.headers['content-security-policy'] ?? '',
        /^default-src 'none'; style-src 'sha256-[^']+'/,
      );
      assert.match(res.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.equal(res.headers['cache-control'], 'public, max-age=60');
      assert.equal(res.headers.vary, 'Accept');
      assert.match(res.headers.etag ?? '', /^"[A-Za-z0-9_-]+-html"$/);
      assert.match(res.text, /<h1>Bank API: API access catalog<\/h1>/);
      assert.ok(!/<script/i.test(res.text));
    });

    test('ok/GET /catalog with Accept: application/json, and GET /catalog.json: the partner view', async () => {
      const negotiated = await get('/catalog', { accept: 'application/json' });
      const direct = await get('/catalog.json');
      for (const res of [negotiated, direct]) {
        assert.equal(res.status, 200, res.text);
        assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.match(res.headers.etag ?? '', /-json"$/);
      }
      assert.equal(negotiated.text, direct.text);
      assert.equal(negotiated.headers.vary, 'Accept');
      const catalog = JSON.parse(direct.text);
      assert.equal(catalog.token_endpoint, 'https://mtls.example.test/token');
      const transfer = catalog.operations.find(
        (o: { path: string }) => o.path === '/v1/orgs/{org_id}/transfers',
      );
      assert.deepEqual(transfer.scopes, [
        ['accounts:read', 'payments:submit'],
        ['accounts:write', 'payments:submit'],
      ]);
      assert.deepEqual(transfer.roles_granting[1].roles, ['writer']);
      assert.ok(!direct.text.includes('op-internal-'), 'no internal ids');
      assert.ok(!direct.text.includes('internal-bank-spec'), 'no import sources');
    });

    test('ok/GET /catalog/openapi.json validates as OpenAPI 3.1', async () => {
      const res = await get('/catalog/openapi.json');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
      assert.match(res.headers.etag ?? '', /-openapi"$/);
      const document = JSON.parse(res.text);
      await SwaggerParser.validate(structuredClone(document));
      assert.deepEqual(Object.keys(document.paths).sort(), [
        '/status',
        '/v1/accounts',
        '/v1/accounts/{id}',
        '/v1/evil/{id}',
        '/v1/orgs/{org_id}/transfers',
        '/v1/reports/{rest}',
      ]);
    });

    test('ok/If-None-Match with the current ETag → 304 without a body, the same ETag and caching headers', async () => {
      for (const path of ['/catalog', '/catalog.json', '/catalog/openapi.json']) {
        const first = await get(path);
        const again = await get(path, { 'if-none-match': first.headers.etag ?? '' });
        assert.equal(again.status, 304, path);
        assert.equal(again.text, '');
        assert.equal(again.headers.etag, first.headers.etag);
        assert.equal(again.headers['cache-control'], 'public, max-age=60');
      }
    });

    test('fail/If-None-Match with another tag, or the HTML tag for JSON → 200 with the body', async () => {
      const html = await get('/catalog');
      const stale = await get('/catalog', { 'if-none-match': '"old-html"' });
      assert.equal(stale.status, 200);
      const json = await get('/catalog', {
        accept: 'application/json',
        'if-none-match': html.headers.etag ?? '',
      });
      assert.equal(json.status, 200, 'one representation’s tag does not validate the other');
      assert.ok(json.text.startsWith('{'));
    });

    test('ok/HEAD answers the headers of GET without a body', async () => {
      for (const path of ['/catalog', '/catalog.json', '/catalog/openapi.json']) {
        const full = await get(path);
        const head = await get(path, {}, 'HEAD');
        assert.equal(head.status, 200, path);
        assert.equal(head.text, '');
        assert.equal(head.headers.etag, full.headers.etag);
        assert.equal(head.headers['content-type'], full.headers['content-type']);
      }
    });

    test('fail/escaping survives the wire: hostile names and descriptions are text in the page', async () => {
      const res = await get('/catalog');
      assert.ok(res.text.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
      assert.ok(!res.text.includes(HOSTILE));
    });

    test('ok/a catalog change shows on the next request; a row written without one waits for the next change', async () => {
      const before = await get('/catalog.json');
      // Written behind the platform's back (no catalog.changed): the cached rendering still answers.
      await writeCatalogRows(
        storage,
        {
          resources: [],
          scopes: [{ name: 'ledger:read', description: 'Read the ledger', version: null, status: 'active' }],
          roles: [],
          operations: [],
        },
        { publish: false },
      );
      const unchanged = await get('/catalog.json');
      assert.equal(unchanged.headers.etag, before.headers.etag, 'no re-read per request');
      assert.ok(!unchanged.text.includes('ledger:read'));

      await writeCatalogRows(
        storage,
        {
          resources: [],
          scopes: [],
          roles: [
            {
              name: 'ledger_reader',
              description: 'Reads the ledger',
              status: 'active',
              scopes: ['ledger:read'],
            },
          ],
          operations: [
            operation({
              id: 'op-ledger',
              method: 'GET',
              path_pattern: '/v1/ledger',
              description: 'The ledger',
              required_scopes: [['ledger:read']],
            }),
          ],
        },
        { publish: true },
      );
      const after = await get('/catalog.json');
      assert.notEqual(after.headers.etag, before.headers.etag);
      const ledger = JSON.parse(after.text).operations.find((o: { path: string }) => o.path === '/v1/ledger');
      assert.deepEqual(ledger.roles_granting[0].roles, ['ledger_reader']);
      const stale = await get('/catalog.json', { 'if-none-match': before.headers.etag ?? '' });
      assert.equal(stale.status, 200, 'the old ETag no longer validates');
      const page = await get('/catalog');
      assert.match(page.text, /<code>\/v1\/ledger<\/code>/);
    });
  });
}
