import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent } from 'undici';
import {
  createFetchFunction,
  createGuardedFetcher,
  FetchError,
  type GuardedFetcherOptions,
} from '../../src/shared/guarded-fetch/index.ts';
import { type CountingServer, startCountingServer } from '../support/counting-server.ts';
import { fakeDns } from '../support/partner-fetcher.ts';

const DNS = {
  'keys.partner.example': ['93.184.216.34', '2606:2800:220:1::1'],
  'inside.partner.example': ['10.20.30.40'],
  'split.partner.example': ['93.184.216.34', '169.254.169.254'],
  'rebound.partner.example': ['127.0.0.1'],
};

// Registration-time check: the same address policy as at connect time, applied to a partner's URL before it is
// stored (a jwks_uri at DCR, in federation RP metadata, at the admin API).
describe('assertFetchable: the URLs a partner may make the platform fetch', () => {
  const cases: Array<{ name: string; url: string; options?: GuardedFetcherOptions; code?: string }> = [
    { name: 'ok/a public IPv4 literal', url: 'https://93.184.216.34/jwks' },
    { name: 'ok/a public IPv6 literal', url: 'https://[2606:2800:220:1::1]/jwks' },
    { name: 'ok/a name resolving to public addresses only', url: 'https://keys.partner.example/jwks' },
    {
      name: 'ok/a name that does not resolve (yet): guarded at connect time',
      url: 'https://nowhere.example/',
    },
    {
      name: 'ok/loopback with allowLoopback (development)',
      url: 'https://127.0.0.1:8443/jwks',
      options: { allowLoopback: true },
    },
    {
      name: 'ok/localhost with allowLoopback',
      url: 'https://localhost:8443/jwks',
      options: { allowLoopback: true },
    },
    {
      name: 'ok/a private address with allowPrivateNetworks',
      url: 'https://10.0.0.1/jwks',
      options: { allowPrivateNetworks: true },
    },
    { name: 'fail/IPv4 loopback', url: 'https://127.0.0.1:8443/jwks', code: 'loopback_refused' },
    { name: 'fail/IPv4 loopback in decimal', url: 'https://2130706433/jwks', code: 'loopback_refused' },
    { name: 'fail/IPv6 loopback', url: 'https://[::1]/jwks', code: 'loopback_refused' },
    { name: 'fail/IPv4-mapped loopback', url: 'https://[::ffff:127.0.0.1]/jwks', code: 'loopback_refused' },
    { name: 'fail/localhost', url: 'https://localhost/jwks', code: 'loopback_refused' },
    {
      name: 'fail/a name under localhost (RFC 6761 §6.3)',
      url: 'https://a.localhost./',
      code: 'loopback_refused',
    },
    {
      name: 'fail/cloud metadata service 169.254.169.254',
      url: 'https://169.254.169.254/latest/meta-data/',
      code: 'private_address_refused',
    },
    {
      name: 'fail/IPv4-mapped metadata service',
      url: 'https://[::ffff:169.254.169.254]/',
      code: 'private_address_refused',
    },
    { name: 'fail/RFC 1918 10/8', url: 'https://10.0.0.1/', code: 'private_address_refused' },
    { name: 'fail/RFC 1918 172.16/12', url: 'https://172.16.0.1/', code: 'private_address_refused' },
    { name: 'fail/RFC 1918 192.168/16', url: 'https://192.168.1.1/', code: 'private_address_refused' },
    { name: 'fail/CGNAT 100.64/10', url: 'https://100.64.0.1/', code: 'private_address_refused' },
    { name: 'fail/IPv6 unique local', url: 'https://[fd00:ec2::254]/', code: 'private_address_refused' },
    { name: 'fail/IPv6 link-local', url: 'https://[fe80::1]/', code: 'private_address_refused' },
    { name: 'fail/unspecified 0.0.0.0', url: 'https://0.0.0.0/', code: 'reserved_address_refused' },
    {
      name: 'fail/a name resolving to a private address',
      url: 'https://inside.partner.example/jwks',
      code: 'private_address_refused',
    },
    {
      name: 'fail/a name with one public and one link-local address',
      url: 'https://split.partner.example/jwks',
      code: 'private_address_refused',
    },
    {
      name: 'fail/allowLoopback does not open private networks',
      url: 'https://10.0.0.1/',
      options: { allowLoopback: true },
      code: 'private_address_refused',
    },
    { name: 'fail/http', url: 'http://keys.partner.example/jwks', code: 'https_required' },
    { name: 'fail/credentials in the URL', url: 'https://u:p@keys.partner.example/', code: 'invalid_url' },
    { name: 'fail/not a URL', url: 'keys.partner.example/jwks', code: 'invalid_url' },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const fetcher = createGuardedFetcher({ resolveHost: fakeDns(DNS), ...c.options });
      try {
        const outcome = await fetcher.assertFetchable(c.url).then(
          () => 'accepted',
          (err: unknown) => (err instanceof FetchError ? err.code : `unexpected ${String(err)}`),
        );
        assert.equal(outcome, c.code ?? 'accepted');
      } finally {
        await fetcher.close();
      }
    });
  }
});

// What oidc-provider gets as its `fetch` option: a client's jwks_uri is fetched only through the guarded
// connector, whatever dispatcher the library passes, and a refused address is never even connected to.
describe('createFetchFunction: oidc-provider fetches through the guarded fetcher', () => {
  let server: CountingServer;
  const JWKS = JSON.stringify({ keys: [] });

  before(async () => {
    server = await startCountingServer((req, res) => {
      if (req.url === '/html') {
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end('<html></html>');
      }
      if (req.url === '/big') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(`{"keys":[],"pad":"${'a'.repeat(8 * 1024)}"}`);
      }
      res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=120' });
      res.end(JWKS);
    });
  });
  after(() => server.close());

  async function attempt(
    url: string,
    options: GuardedFetcherOptions,
    init: RequestInit & { dispatcher?: unknown } = {},
  ): Promise<{ outcome: string; connections: number }> {
    const fetcher = createGuardedFetcher({ ca: server.caPem, resolveHost: fakeDns(DNS), ...options });
    const before = server.connections();
    try {
      const outcome = await createFetchFunction(fetcher)(url, init).then(
        async (res) => `${res.status} ${res.headers.get('cache-control')} ${await res.text()}`,
        (err: unknown) => (err instanceof FetchError ? err.code : `${(err as Error).name}`),
      );
      return { outcome, connections: server.connections() - before };
    } finally {
      await fetcher.close();
    }
  }

  test('ok/allowLoopback (development): the JWK Set is fetched, its caching headers kept', async () => {
    const r = await attempt(`${server.url}/jwks`, { allowLoopback: true });
    assert.equal(r.outcome, `200 max-age=120 ${JWKS}`);
    assert.ok(r.connections >= 1, 'the server was reached');
  });

  test('fail/the caller’s own deadline is honoured alongside the fetcher’s → timeout', async () => {
    const r = await attempt(`${server.url}/jwks`, { allowLoopback: true }, { signal: AbortSignal.abort() });
    assert.equal(r.outcome, 'timeout');
  });

  const refusals: Array<{
    name: string;
    url: () => string;
    options?: GuardedFetcherOptions;
    init?: RequestInit & { dispatcher?: unknown };
    code: string;
  }> = [
    { name: 'a loopback literal', url: () => `${server.url}/jwks`, code: 'loopback_refused' },
    {
      name: 'an IPv4-mapped loopback literal',
      url: () => `https://[::ffff:127.0.0.1]:${server.port}/jwks`,
      code: 'loopback_refused',
    },
    {
      name: 'localhost',
      url: () => `https://localhost:${server.port}/jwks`,
      options: { resolveHost: async () => ['127.0.0.1'] },
      code: 'loopback_refused',
    },
    {
      // DNS rebinding: the name was public when registered and resolves to loopback when dialled.
      name: 'a name that resolves to loopback at connect time',
      url: () => `https://rebound.partner.example:${server.port}/jwks`,
      code: 'loopback_refused',
    },
    {
      name: 'a loopback literal, even with a dispatcher of the caller’s that would connect anywhere',
      url: () => `${server.url}/jwks`,
      init: { dispatcher: new Agent({ connect: { rejectUnauthorized: false } }) },
      code: 'loopback_refused',
    },
    {
      name: 'http, even with allowLoopback',
      url: () => `http://127.0.0.1:${server.port}/jwks`,
      options: { allowLoopback: true },
      code: 'https_required',
    },
    {
      name: 'a method other than GET',
      url: () => `${server.url}/jwks`,
      options: { allowLoopback: true },
      init: { method: 'POST' },
      code: 'TypeError',
    },
  ];
  for (const c of refusals) {
    test(`fail/${c.name}: refused without a connection`, async () => {
      const r = await attempt(c.url(), c.options ?? {}, c.init);
      assert.equal(r.outcome, c.code);
      assert.equal(r.connections, 0, 'no TCP connection reached the server');
    });
  }

  test('fail/a body beyond maxResponseBytes → response_too_large', async () => {
    const r = await attempt(`${server.url}/big`, { allowLoopback: true, maxResponseBytes: 4096 });
    assert.equal(r.outcome, 'response_too_large');
  });

  test('fail/not JSON → unexpected_content_type', async () => {
    const r = await attempt(`${server.url}/html`, { allowLoopback: true });
    assert.equal(r.outcome, 'unexpected_content_type');
  });
});
