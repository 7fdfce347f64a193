import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import {
  type AddressClass,
  classifyAddress,
  createFederationFetcher,
  type FederationFetcherOptions,
  FetchError,
} from '../../src/federation/fetch/index.ts';
import { MEDIA_TYPES } from '../../src/federation/index.ts';
import { startTopology, type Topology } from './support/topology.ts';

const JWT = MEDIA_TYPES.entityStatement;

function reply(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
}

describe('classifyAddress', () => {
  const table: Array<[string, AddressClass]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['169.254.169.254', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fe80::1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['0.0.0.0', 'reserved'],
    ['::', 'reserved'],
    ['::127.0.0.1', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['not-an-ip', 'reserved'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700::1111', 'public'],
    ['[2606:4700::1111]', 'public'],
  ];
  for (const [address, expected] of table) {
    it(`${expected === 'public' ? 'ok' : 'fail'}/${address} is ${expected}`, () => {
      assert.equal(classifyAddress(address), expected);
    });
  }
});

describe('createFederationFetcher', () => {
  let topology: Topology;
  let server: { url: string; close(): Promise<void> };
  const slowResponses: ServerResponse[] = [];

  before(async () => {
    topology = await startTopology();
    server = await topology.startServer((req, res, body) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      switch (url.pathname) {
        case '/ok':
          return reply(res, 200, `${JWT}; charset=utf-8`, 'a.b.c');
        case '/form':
          return reply(res, 200, MEDIA_TYPES.trustMarkStatusResponse, `${req.method} ${body}`);
        case '/json':
          return reply(res, 200, 'application/json', '{}');
        case '/missing':
          return reply(res, 404, 'application/json', JSON.stringify({ error: 'not_found' }));
        case '/big':
          return reply(res, 200, JWT, Buffer.alloc(300 * 1024, 97));
        case '/big-chunked': {
          res.writeHead(200, { 'content-type': JWT });
          for (let i = 0; i < 40; i++) res.write(Buffer.alloc(8 * 1024, 97));
          return void res.end();
        }
        case '/hop1':
          res.writeHead(302, { location: '/hop2' });
          return void res.end();
        case '/hop2':
          res.writeHead(302, { location: '/ok' });
          return void res.end();
        case '/to-http':
          res.writeHead(302, { location: 'http://127.0.0.1:1/ok' });
          return void res.end();
        case '/slow':
          slowResponses.push(res);
          return;
        default:
          return reply(res, 404, 'application/json', '{"error":"not_found"}');
      }
    });
  });

  after(async () => {
    for (const res of slowResponses) res.destroy();
    await server.close();
    await topology.close();
  });

  async function withFetcher<T>(
    options: FederationFetcherOptions,
    fn: (f: ReturnType<typeof createFederationFetcher>) => Promise<T>,
  ): Promise<T> {
    const fetcher = createFederationFetcher({ allowLoopback: true, ca: topology.caPem, ...options });
    try {
      return await fn(fetcher);
    } finally {
      await fetcher.close();
    }
  }

  async function expectRefusal(
    options: FederationFetcherOptions,
    url: string,
    code: string,
    accept: string = JWT,
  ): Promise<FetchError> {
    return withFetcher(options, async (fetcher) => {
      const err = await fetcher.fetch({ url, accept }).then(
        () => assert.fail(`expected ${code}`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof FetchError, `expected FetchError, got ${String(err)}`);
      assert.equal(err.code, code, err.message);
      return err;
    });
  }

  it('ok/GET answers the body when the media type matches (parameters ignored)', async () => {
    await withFetcher({}, async (fetcher) => {
      const res = await fetcher.fetch({ url: `${server.url}/ok`, accept: JWT });
      assert.equal(res.status, 200);
      assert.equal(res.contentType, JWT);
      assert.equal(res.body, 'a.b.c');
    });
  });

  it('ok/form parameters are POSTed urlencoded (§8.4.1)', async () => {
    await withFetcher({}, async (fetcher) => {
      const res = await fetcher.fetch({
        url: `${server.url}/form`,
        accept: MEDIA_TYPES.trustMarkStatusResponse,
        form: { trust_mark: 'x.y.z' },
      });
      assert.equal(res.body, 'POST trust_mark=x.y.z');
    });
  });

  it('ok/redirects followed within the limit', async () => {
    await withFetcher({ maxRedirects: 2 }, async (fetcher) => {
      const res = await fetcher.fetch({ url: `${server.url}/hop1`, accept: JWT });
      assert.equal(res.body, 'a.b.c');
      assert.equal(res.url, `${server.url}/ok`);
    });
  });

  it('ok/a host name is resolved by the guard and dialled by address; TLS checks the name', async () => {
    const port = new URL(server.url).port;
    await withFetcher({ resolveHost: async () => ['127.0.0.1'] }, async (fetcher) => {
      const res = await fetcher.fetch({ url: `https://localhost:${port}/ok`, accept: JWT });
      assert.equal(res.body, 'a.b.c');
    });
  });

  const port = () => new URL(server.url).port;
  const failures: Array<{
    name: string;
    options?: FederationFetcherOptions;
    url: () => string;
    code: string;
    accept?: string;
  }> = [
    { name: 'http: scheme', url: () => `http://127.0.0.1:${port()}/ok`, code: 'https_required' },
    { name: 'not a URL', url: () => 'openid-federation', code: 'invalid_url' },
    {
      name: 'credentials in the URL',
      url: () => `https://user:pw@127.0.0.1:${port()}/ok`,
      code: 'invalid_url',
    },
    {
      name: 'loopback without allowLoopback',
      options: { allowLoopback: false },
      url: () => `${server.url}/ok`,
      code: 'loopback_refused',
    },
    {
      name: 'IPv4-mapped loopback without allowLoopback',
      options: { allowLoopback: false },
      url: () => `https://[::ffff:127.0.0.1]:${port()}/ok`,
      code: 'loopback_refused',
    },
    {
      name: 'a name resolving to loopback (DNS rebinding) without allowLoopback',
      options: { allowLoopback: false, resolveHost: async () => ['127.0.0.1'] },
      url: () => `https://rebind.example:${port()}/ok`,
      code: 'loopback_refused',
    },
    { name: 'private address literal', url: () => 'https://10.0.0.1/ok', code: 'private_address_refused' },
    {
      name: 'cloud metadata address',
      url: () => 'https://169.254.169.254/latest/meta-data',
      code: 'private_address_refused',
    },
    {
      name: 'a name resolving only to private addresses',
      options: { resolveHost: async () => ['192.168.0.10', 'fd00::1'] },
      url: () => 'https://internal.example/ok',
      code: 'private_address_refused',
    },
    { name: 'unspecified address', url: () => 'https://0.0.0.0/ok', code: 'reserved_address_refused' },
    {
      name: 'name that does not resolve',
      options: {
        resolveHost: async () => {
          throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
        },
      },
      url: () => 'https://nx.example/ok',
      code: 'dns_failure',
    },
    {
      name: 'resolution that never answers',
      options: { connectTimeoutMs: 150, resolveHost: () => new Promise(() => {}) },
      url: () => 'https://hang.example/ok',
      code: 'connect_timeout',
    },
    { name: 'oversize body (content-length)', url: () => `${server.url}/big`, code: 'response_too_large' },
    { name: 'oversize body (chunked)', url: () => `${server.url}/big-chunked`, code: 'response_too_large' },
    {
      name: 'redirect with the default limit 0',
      url: () => `${server.url}/hop1`,
      code: 'too_many_redirects',
    },
    {
      name: 'redirects beyond the limit',
      options: { maxRedirects: 1 },
      url: () => `${server.url}/hop1`,
      code: 'too_many_redirects',
    },
    {
      name: 'redirect hop to http: is re-checked',
      options: { maxRedirects: 3 },
      url: () => `${server.url}/to-http`,
      code: 'https_required',
    },
    {
      name: 'no answer within the timeout',
      options: { timeoutMs: 200 },
      url: () => `${server.url}/slow`,
      code: 'timeout',
    },
    { name: 'wrong content type', url: () => `${server.url}/json`, code: 'unexpected_content_type' },
    {
      name: 'untrusted server certificate',
      options: { ca: [] },
      url: () => `${server.url}/ok`,
      code: 'tls_error',
    },
  ];
  for (const c of failures) {
    it(`fail/${c.name} → ${c.code}`, async () => {
      await expectRefusal(c.options ?? {}, c.url(), c.code, c.accept);
    });
  }

  it('fail/an error response carries the status and the §8.9 error code', async () => {
    const err = await expectRefusal({}, `${server.url}/missing`, 'http_status');
    assert.equal(err.status, 404);
    assert.equal(err.errorCode, 'not_found');
  });

  it('fail/a POST is never redirected', async () => {
    await withFetcher({ maxRedirects: 3 }, async (fetcher) => {
      await assert.rejects(
        fetcher.fetch({ url: `${server.url}/hop2`, accept: JWT, form: { trust_mark: 'x' } }),
        (err: unknown) => err instanceof FetchError && err.code === 'too_many_redirects',
      );
    });
  });

  it('fail/bad options throw at construction', () => {
    assert.throws(() => createFederationFetcher({ timeoutMs: 0 }), /timeoutMs/);
    assert.throws(() => createFederationFetcher({ maxRedirects: -1 }), /maxRedirects/);
  });
});
