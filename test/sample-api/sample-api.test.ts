import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { GATEWAY_SECRET_HEADER } from '../../src/gateway/index.ts';
import { createSampleApi, type SampleApiHandle, startSampleApi } from '../../src/sample-api/index.ts';

let api: SampleApiHandle;
before(async () => {
  api = await startSampleApi({ maxBodyBytes: 1024, clock: () => new Date('2026-06-01T12:00:00.000Z') });
});
after(() => api.close());

/** What the gateway sends: its secret and the caller's identity. */
const as = (orgId: string) => ({
  [GATEWAY_SECRET_HEADER]: api.gatewaySecret,
  'x-accredit-client-id': `cl_${orgId}`,
  'x-accredit-org-id': orgId,
});

async function send(
  method: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  body?: string,
): Promise<{ status: number; json: Record<string, unknown>; text: string; type: string }> {
  const res = await request(`${api.url}${path}`, { method: method as 'GET', headers, body });
  const text = await res.body.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // CSV
  }
  return { status: res.statusCode, json, text, type: String(res.headers['content-type']) };
}

const postJson = (path: string, orgId: string, body: unknown) =>
  send('POST', path, { ...as(orgId), 'content-type': 'application/json' }, JSON.stringify(body));

async function accountIds(orgId: string): Promise<string[]> {
  const res = await send('GET', '/v1/accounts', as(orgId));
  return (res.json.accounts as Array<{ id: string }>).map((a) => a.id);
}

describe('sample API', () => {
  test('ok/listens on loopback only', () => {
    assert.match(api.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('ok/health needs the gateway secret but no identity', async () => {
    const res = await send('GET', '/health', { [GATEWAY_SECRET_HEADER]: api.gatewaySecret });
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ok' });
  });

  test('fail/missing identity headers', async () => {
    const secret = { [GATEWAY_SECRET_HEADER]: api.gatewaySecret };
    assert.equal((await send('GET', '/v1/accounts', secret)).status, 401);
    assert.equal(
      (await send('GET', '/v1/accounts', { ...secret, 'x-accredit-client-id': 'cl_1' })).status,
      401,
    );
  });

  test('ok/two deterministic accounts per org', async () => {
    const first = await accountIds('org_a');
    assert.equal(first.length, 2);
    assert.deepEqual(await accountIds('org_a'), first);
    const other = await accountIds('org_b');
    assert.equal(other.filter((id) => first.includes(id)).length, 0);
    for (const id of first) assert.match(id, /^acc_[A-Za-z0-9_-]{16}$/);
  });

  test("fail/BOLA: another org's account is a 404", async () => {
    const [theirs] = await accountIds('org_b');
    const [ours] = await accountIds('org_a');
    assert.equal((await send('GET', `/v1/accounts/${theirs}`, as('org_a'))).status, 404);
    const res = await send('GET', `/v1/accounts/${ours}`, as('org_a'));
    assert.equal(res.status, 200);
    assert.equal(res.json.id, ours);
    assert.equal((await send('GET', '/v1/accounts/acc_nothing', as('org_a'))).status, 404);
  });

  test('ok/create an account', async () => {
    const res = await postJson('/v1/accounts', 'org_c', { name: 'Escrow' });
    assert.equal(res.status, 201);
    assert.equal(res.json.name, 'Escrow');
    assert.equal((await accountIds('org_c')).length, 3);
    assert.equal((await send('GET', `/v1/accounts/${res.json.id}`, as('org_c'))).status, 200);
  });

  test('ok/payment from an own account; fail/from another org’s account', async () => {
    const [ours] = await accountIds('org_a');
    const [theirs] = await accountIds('org_b');
    const paid = await postJson('/v1/payments', 'org_a', {
      from_account: ours,
      amount: '12.50',
      currency: 'EUR',
    });
    assert.equal(paid.status, 201);
    assert.equal(paid.json.status, 'accepted');
    assert.equal(paid.json.created_at, '2026-06-01T12:00:00.000Z');
    const stolen = await postJson('/v1/payments', 'org_a', {
      from_account: theirs,
      amount: '12.50',
      currency: 'EUR',
    });
    assert.equal(stolen.status, 404);
  });

  const invalid: Array<[string, () => ReturnType<typeof send>, number]> = [
    [
      'fail/payment without amount',
      () => postJson('/v1/payments', 'org_a', { from_account: 'x', currency: 'EUR' }),
      400,
    ],
    [
      'fail/payment of zero',
      () => postJson('/v1/payments', 'org_a', { from_account: 'x', amount: '0.00', currency: 'EUR' }),
      400,
    ],
    [
      'fail/payment with a bad currency',
      () => postJson('/v1/payments', 'org_a', { from_account: 'x', amount: '1', currency: 'euro' }),
      400,
    ],
    ['fail/account without a name', () => postJson('/v1/accounts', 'org_a', {}), 400],
    [
      'fail/not JSON',
      () => send('POST', '/v1/accounts', { ...as('org_a'), 'content-type': 'application/json' }, '{'),
      400,
    ],
    [
      'fail/not application/json',
      () => send('POST', '/v1/accounts', { ...as('org_a'), 'content-type': 'text/plain' }, '{}'),
      415,
    ],
    [
      'fail/body over the cap',
      () => postJson('/v1/accounts', 'org_a', { name: 'x', padding: 'y'.repeat(2000) }),
      413,
    ],
    ['fail/unknown path', () => send('GET', '/v1/unknown', as('org_a')), 404],
    ['fail/wrong method', () => send('DELETE', '/v1/accounts', as('org_a')), 405],
    ['fail/bad report name', () => send('GET', '/v1/reports/..%2Fetc', as('org_a')), 404],
  ];
  for (const [name, run, status] of invalid) {
    test(name, async () => {
      const res = await run();
      assert.equal(res.status, status, res.text);
      assert.match(res.type, /^application\/problem\+json/);
    });
  }

  test('ok/report is a small CSV of the caller’s accounts', async () => {
    const res = await send('GET', '/v1/reports/monthly.csv', as('org_a'));
    assert.equal(res.status, 200);
    assert.match(res.type, /^text\/csv/);
    const lines = res.text.trim().split('\n');
    assert.equal(lines[0], 'account_id,name,currency,balance');
    assert.equal(lines.length, 3);
  });
});

describe('sample API: only the gateway may call it', () => {
  // A local process forging the identity headers the gateway would assert (issue 9 item 9).
  const forged = { 'x-accredit-client-id': 'cl_victim', 'x-accredit-org-id': 'org_victim' };
  const flipped = () => {
    const last = api.gatewaySecret.at(-1) === 'A' ? 'B' : 'A';
    return `${api.gatewaySecret.slice(0, -1)}${last}`;
  };
  const refused: Array<[string, () => ReturnType<typeof send>]> = [
    ['fail/forged identity without the gateway secret', () => send('GET', '/v1/accounts', forged)],
    [
      'fail/forged identity with a wrong secret',
      () => send('GET', '/v1/accounts', { ...forged, [GATEWAY_SECRET_HEADER]: 'w'.repeat(43) }),
    ],
    [
      'fail/the secret with its last character changed',
      () => send('GET', '/v1/accounts', { ...forged, [GATEWAY_SECRET_HEADER]: flipped() }),
    ],
    [
      'fail/the secret with a suffix',
      () => send('GET', '/v1/accounts', { ...forged, [GATEWAY_SECRET_HEADER]: `${api.gatewaySecret}x` }),
    ],
    [
      'fail/the secret sent twice',
      () =>
        send('GET', '/v1/accounts', {
          ...forged,
          [GATEWAY_SECRET_HEADER]: [api.gatewaySecret, api.gatewaySecret],
        }),
    ],
    ['fail/an empty secret', () => send('GET', '/v1/accounts', { ...forged, [GATEWAY_SECRET_HEADER]: '' })],
    ['fail/health without the secret', () => send('GET', '/health')],
    [
      'fail/a forged account creation without the secret',
      () =>
        send(
          'POST',
          '/v1/accounts',
          { ...forged, 'content-type': 'application/json' },
          JSON.stringify({ name: 'Mule' }),
        ),
    ],
  ];
  for (const [name, run] of refused) {
    test(name, async () => {
      const res = await run();
      assert.equal(res.status, 401, res.text);
      assert.match(res.type, /^application\/problem\+json/);
      assert.equal(res.json.code, 'not_from_gateway');
      assert.doesNotMatch(res.text, /victim|acc_/);
    });
  }

  test('ok/the right secret: the identity headers are read', async () => {
    const res = await send('GET', '/v1/accounts', { ...forged, [GATEWAY_SECRET_HEADER]: api.gatewaySecret });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.org_id, 'org_victim');
    // The refused POST above created nothing.
    assert.equal((res.json.accounts as unknown[]).length, 2);
  });

  test('ok/a fresh 256-bit secret per start unless one is given', async () => {
    const other = await startSampleApi();
    const given = await startSampleApi({ gatewaySecret: 'g'.repeat(32) });
    try {
      assert.match(api.gatewaySecret, /^[A-Za-z0-9_-]{43}$/);
      assert.notEqual(other.gatewaySecret, api.gatewaySecret);
      assert.equal(given.gatewaySecret, 'g'.repeat(32));
      const res = await request(`${other.url}/health`, {
        headers: { [GATEWAY_SECRET_HEADER]: api.gatewaySecret },
      });
      await res.body.dump();
      assert.equal(res.statusCode, 401, "another instance's secret is refused");
    } finally {
      await other.close();
      await given.close();
    }
  });

  for (const secret of ['', 's'.repeat(31), `${'s'.repeat(32)}\n`, `${'s'.repeat(16)} ${'s'.repeat(16)}`]) {
    test(`fail/createSampleApi refuses the secret ${JSON.stringify(secret)}`, () => {
      assert.throws(() => createSampleApi({ gatewaySecret: secret }), /gatewaySecret/);
    });
  }
});
