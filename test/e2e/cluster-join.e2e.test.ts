import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Agent, request } from 'undici';
import { Cluster } from '../support/cluster.ts';
import { engineTargets, POSTGRES_URL } from '../support/engines.ts';
import { PlatformProcess } from '../support/platform-process.ts';

const pgTarget = (await engineTargets()).find((t) => t.name === 'postgres')!;

describe('a second platform node joins with one command (issue 16)', {
  skip: pgTarget.skip,
  timeout: 120_000,
}, () => {
  const cluster = new Cluster();
  const spare: PlatformProcess[] = [];
  const secrets: string[] = [];

  async function spareNode(): Promise<PlatformProcess> {
    const node = await PlatformProcess.create();
    spare.push(node);
    return node;
  }

  /** POST /platform/v1/join as an attacker or a script would, trusting the platform CA. */
  async function redeem(token: string, url = cluster.nodes[0]!.url) {
    const agent = new Agent({ connect: { ca: cluster.ca } });
    try {
      const res = await request(`${url}/platform/v1/join`, {
        method: 'POST',
        dispatcher: agent,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: '{}',
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        body: JSON.parse(text) as Record<string, unknown>,
      };
    } finally {
      await agent.close();
    }
  }

  async function auditActions(): Promise<Array<{ action: string; details: unknown; actor: string }>> {
    const r = await cluster.adminOk<{ items: Array<{ action: string; details: unknown; actor: string }> }>(
      0,
      'GET',
      '/audit?limit=1000',
    );
    return r.items;
  }

  before(async () => {
    await cluster.start({ nodes: 2 });
    secrets.push(readFileSync(join(cluster.nodes[0]!.dir, 'kek'), 'utf8').trim());
  });

  after(async () => {
    for (const n of spare) n.cleanup();
    await cluster.stop();
  });

  test('ok/node 2 got the KEK (0600) and the shared settings, serves with its own TLS key, sees node 1’s data', async () => {
    const [one, two] = cluster.nodes as [PlatformProcess, PlatformProcess];
    const kek2 = join(two.dir, 'kek');
    assert.equal(statSync(kek2).mode & 0o777, 0o600);
    assert.equal(readFileSync(kek2, 'utf8').trim(), secrets[0]);
    const config = JSON.parse(readFileSync(join(two.dir, 'accredit.json'), 'utf8'));
    assert.equal(config.database.schema, cluster.schema);
    assert.equal(config.publicUrl, one.url, 'one issuer for every node');
    // Each node its own server key; both chain to the one platform CA.
    assert.notEqual(
      readFileSync(join(one.dir, 'tls', 'server.key.pem'), 'utf8'),
      readFileSync(join(two.dir, 'tls', 'server.key.pem'), 'utf8'),
    );
    // The same operator token works on node 2; what node 1 wrote node 2 reads and the other way round.
    const org = await cluster.adminOk<{ id: string }>(0, 'POST', '/organisations', { name: 'Shared Bank' });
    const seen = await cluster.adminOk<{ id: string }>(1, 'GET', `/organisations/${org.id}`);
    assert.equal(seen.id, org.id);
    const p = await cluster.newPartner('Issued On Two', 1);
    const token = await cluster.token(p, 0);
    assert.ok(token.split('.').length === 3);
  });

  test('ok/the join token is created and redeemed with audit entries; neither token nor bundle is logged', async () => {
    const actions = await auditActions();
    const created = actions.filter((a) => a.action === 'node.join_token.create');
    const joined = actions.filter((a) => a.action === 'node.join');
    assert.ok(created.length >= 1 && joined.length >= 1, JSON.stringify(actions.map((a) => a.action)));
    assert.deepEqual((joined[0]!.details as { node_name?: string }).node_name, 'node-2');
    const audit = JSON.stringify(actions);
    const t = await cluster.joinToken();
    const n = await spareNode();
    const r = await cluster.join(n, 'node-3', t);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!JSON.stringify(await auditActions()).includes(t.token));
    assert.ok(!audit.includes(secrets[0]!));
    for (const node of cluster.nodes) {
      assert.ok(!node.output.includes(t.token), 'the token is not logged');
      assert.ok(!node.output.includes(secrets[0]!), 'the KEK is not logged');
    }
    assert.ok(!r.stdout.includes(secrets[0]!) && !r.stderr.includes(secrets[0]!));
    // Only the hash is stored.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      const rows = await client.query(`SELECT * FROM ${cluster.schema}.node_join_tokens`);
      assert.ok(rows.rowCount! >= 2);
      assert.ok(!JSON.stringify(rows.rows).includes(t.token));
    } finally {
      await client.end();
    }
  });

  test('ok/the printed command is complete: URL, token and the CA fingerprint; tokens are listed and revoked', async () => {
    const r = await cluster.nodes[0]!.cli(['node', 'join-token', '--ttl', '5m']);
    assert.equal(r.code, 0, r.stderr);
    const id = /^id:?\s+(\S+)/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    const revoked = await cluster.nodes[0]!.cli(['node', 'revoke-join-token', id, '--json']);
    assert.equal(revoked.code, 0, revoked.stderr);
    const list = await cluster.nodes[0]!.cli(['node', 'join-tokens', '--json']);
    const items = JSON.parse(list.stdout) as Array<{ id: string; revoked_at: string | null; token?: string }>;
    assert.ok(items.find((i) => i.id === id)!.revoked_at);
    assert.ok(items.every((i) => i.token === undefined));
    assert.ok(!list.stdout.includes('acc_join_'));
    assert.match(
      r.stdout,
      /accredit join https:\/\/localhost:\d+ --token acc_join_[\w-]{43} --ca-sha256 [0-9a-f]{64}/,
    );
  });

  test('refused/a used token cannot be used again', async () => {
    const t = await cluster.joinToken();
    assert.equal((await redeem(t.token)).status, 200);
    const again = await redeem(t.token);
    assert.equal(again.status, 401);
    assert.equal(again.body.code, 'invalid_join_token');
    assert.equal(again.body.kek, undefined);
  });

  test('refused/two concurrent redemptions of one token: exactly one wins', async () => {
    const t = await cluster.joinToken();
    const results = await Promise.all([redeem(t.token), redeem(t.token), redeem(t.token)]);
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 401, 401]);
    const won = results.find((r) => r.status === 200)!;
    assert.equal(won.body.kek, secrets[0]);
    assert.equal(won.headers['cache-control'], 'no-store');
  });

  test('refused/an expired or revoked token', async () => {
    const t = await cluster.joinToken();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    try {
      await client.query(
        `UPDATE ${cluster.schema}.node_join_tokens SET expires_at = '2000-01-01T00:00:00.000Z' WHERE id = $1`,
        [t.id],
      );
    } finally {
      await client.end();
    }
    assert.equal((await redeem(t.token)).status, 401);
    const r = await cluster.joinToken();
    await cluster.adminOk(0, 'DELETE', `/nodes/join-tokens/${r.id}`);
    assert.equal((await cluster.admin(0, 'DELETE', `/nodes/join-tokens/${r.id}`)).status, 409, 'once');
    assert.equal((await redeem(r.token)).status, 401);
  });

  test('refused/a wrong CA fingerprint stops the join before anything is sent: the token stays unused', async () => {
    const t = await cluster.joinToken();
    const n = await spareNode();
    const wrong = 'ab'.repeat(32);
    const r = await cluster.join(n, 'node-x', { token: t.token, ca_sha256: wrong });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not present a CA with SHA-256 .* nothing was sent/);
    assert.throws(() => statSync(join(n.dir, 'kek')), 'no data directory written');
    const { body } = await cluster
      .adminOk<{ items: Array<{ id: string; used_at: string | null }> }>(0, 'GET', '/nodes/join-tokens')
      .then((b) => ({ body: b }));
    assert.equal(body.items.find((i) => i.id === t.id)!.used_at, null);
    // The pinned fingerprint of the right CA then works with the same token.
    const ok = await cluster.join(n, 'node-x', t);
    assert.equal(ok.code, 0, ok.stderr);
  });

  test('refused/a malformed fingerprint, a non-https URL, a directory already initialised', async () => {
    const n = await spareNode();
    const t = await cluster.joinToken();
    const bad = await cluster.join(n, 'n', { token: t.token, ca_sha256: 'xyz' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--ca-sha256/);
    const http = await n.cli([
      'join',
      cluster.nodes[0]!.url.replace('https', 'http'),
      '--token',
      t.token,
      '--ca-sha256',
      t.ca_sha256,
    ]);
    assert.equal(http.code, 1);
    // A database this node cannot reach: the join says so and keeps nothing (no KEK left behind).
    const unreachable = await n.cli([
      'join',
      cluster.nodes[0]!.url,
      '--token',
      t.token,
      '--ca-sha256',
      t.ca_sha256,
      '--database-url',
      'postgres://postgres@127.0.0.1:1/test',
    ]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot use the platform .* nothing was kept/);
    assert.throws(() => statSync(join(n.dir, 'kek')));
    assert.throws(() => statSync(join(n.dir, 'accredit.json')));
    const twice = await cluster.join(cluster.nodes[1]!, 'again', await cluster.joinToken());
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /already holds a platform/);
  });

  test('refused/join tokens need an operator; the join endpoint is only on the public listener', async () => {
    const anonymous = new Agent({ connect: { ca: cluster.ca } });
    try {
      const res = await request(`${cluster.nodes[0]!.url}/admin/v1/nodes/join-tokens`, {
        method: 'POST',
        dispatcher: anonymous,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(res.statusCode, 401);
      await res.body.text();
      const t = await cluster.joinToken();
      for (const url of [cluster.nodes[0]!.mtlsUrl, cluster.nodes[0]!.gatewayUrl]) {
        const r = await request(`${url}/platform/v1/join`, {
          method: 'POST',
          dispatcher: anonymous,
          headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
          body: '{}',
        }).catch((err: Error) => ({ statusCode: 0, body: { text: async () => err.message } }));
        const text = await r.body.text();
        assert.notEqual(r.statusCode, 200, `${url}: ${text}`);
        assert.ok(!text.includes(secrets[0]!));
      }
      // Still unused: those listeners never saw the route.
      assert.equal((await redeem(t.token)).status, 200);
    } finally {
      await anonymous.close();
    }
  });

  test('refused/bad input is a problem, a too-short TTL is refused', async () => {
    const r = await cluster.admin(0, 'POST', '/nodes/join-tokens', { ttl_seconds: 5 });
    assert.equal(r.status, 400);
    const cli = await cluster.nodes[0]!.cli(['node', 'join-token', '--ttl', '10s']);
    assert.equal(cli.code, 1);
    const junk = await redeem('not-a-token');
    assert.equal(junk.status, 401);
    assert.equal(junk.body.code, 'invalid_join_token');
    // The body is bounded (1 KiB) and checked: a problem, never a crash, and the token stays unused.
    const t = await cluster.joinToken();
    const agent = new Agent({ connect: { ca: cluster.ca } });
    try {
      for (const body of [
        JSON.stringify({ node_name: 'x'.repeat(2000) }),
        '{"node_name":"a b"}',
        '{"extra":1}',
      ]) {
        const res = await request(`${cluster.nodes[0]!.url}/platform/v1/join`, {
          method: 'POST',
          dispatcher: agent,
          headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/json' },
          body,
        });
        const problem = (await res.body.json()) as { code?: string };
        assert.ok([400, 413].includes(res.statusCode), `${res.statusCode} ${JSON.stringify(problem)}`);
        assert.equal(typeof problem.code, 'string');
      }
    } finally {
      await agent.close();
    }
    assert.equal((await redeem(t.token)).status, 200);
  });

  test('refused/repeated failed attempts from one address are rate-limited (429) before the token is looked at', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await redeem(`acc_join_guess${i}`)).status);
    assert.ok(statuses.includes(429), statuses.join(','));
    const t = await cluster.joinToken();
    assert.equal((await redeem(t.token)).status, 429, 'even a good token waits out the window');
  });
});
