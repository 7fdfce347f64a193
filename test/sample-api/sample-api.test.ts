import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { type SampleApiHandle, startSampleApi } from '../../src/sample-api/index.ts';

let api: SampleApiHandle;
before(async () => {
  api = await startSampleApi({ maxBodyBytes: 1024, clock: () => new Date('2026-06-01T12:00:00.000Z') });
});
after(() => api.close());

const as = (orgId: string) => ({ 'x-accredit-client-id': `cl_${orgId}`, 'x-accredit-org-id': orgId });

async function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
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

  test('ok/health needs no identity', async () => {
    const res = await send('GET', '/health');
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'ok' });
  });

  test('fail/missing identity headers', async () => {
    assert.equal((await send('GET', '/v1/accounts')).status, 401);
    assert.equal((await send('GET', '/v1/accounts', { 'x-accredit-client-id': 'cl_1' })).status, 401);
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
      'fail/a body nested deeper than 64 levels',
      () =>
        send(
          'POST',
          '/v1/accounts',
          { ...as('org_a'), 'content-type': 'application/json' },
          `{"name":"x","n":${'['.repeat(400)}${']'.repeat(400)}}`,
        ),
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
