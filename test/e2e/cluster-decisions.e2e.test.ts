// Issue 16: the console's decision log and traffic charts are shared by the platform nodes. Two `accredit
// serve` processes on one PostgreSQL schema (node 2 joined with `accredit join`): a decision made by node 2's
// gateway is in node 1's list, stats and live stream; a restarted node still shows the charts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { Cluster, type Partner } from '../support/cluster.ts';
import { engineTargets } from '../support/engines.ts';

const pgTarget = (await engineTargets()).find((t) => t.name === 'postgres')!;

interface Item {
  id: number;
  decision: 'allow' | 'deny';
  client_id: string | null;
  org_id: string | null;
  door: string;
}

async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

describe('the decision log is shared by the platform nodes (issue 16)', {
  skip: pgTarget.skip,
  timeout: 180_000,
}, () => {
  const cluster = new Cluster();
  let partner: Partner;
  let token: string;

  /** A call through node `node`'s own gateway with the partner's certificate (and its token unless told). */
  async function callGateway(node: number, withToken = true): Promise<number> {
    const agent = cluster.partnerAgent(partner);
    try {
      const res = await request(`${cluster.nodes[node]!.gatewayUrl}/v1/accounts`, {
        dispatcher: agent,
        headers: withToken ? { authorization: `Bearer ${token}` } : {},
      });
      await res.body.text();
      return res.statusCode;
    } finally {
      await agent.close();
    }
  }

  before(async () => {
    await cluster.start({ nodes: 2 });
    partner = await cluster.newPartner('Shared Log Bank');
    token = await cluster.token(partner, 1);
  });
  after(async () => {
    await cluster.stop();
  });

  test('ok/a decision through node 2 is in node 1’s stream, list and stats', async () => {
    // Node 1's stream, open before the traffic, filtered to the partner's organisation.
    const controller = new AbortController();
    const stream = await request(
      `${cluster.nodes[0]!.url}/admin/v1/decisions/stream?org_id=${partner.orgId}`,
      {
        dispatcher: cluster.adminAgent,
        headers: { authorization: `Bearer ${cluster.operator}`, accept: 'text/event-stream' },
        signal: controller.signal,
      },
    );
    assert.equal(stream.statusCode, 200);
    let text = '';
    const received = (async () => {
      try {
        for await (const chunk of stream.body) {
          text += String(chunk);
          if (/event: decision\n/.test(text)) break;
        }
      } catch {
        // Aborted below when nothing came.
      }
    })();
    const timeout = setTimeout(() => controller.abort(), 15_000);

    assert.notEqual(await callGateway(1), 401, 'a token-bearing call is not refused for want of a token');
    assert.equal(await callGateway(1, false), 401);
    await received;
    clearTimeout(timeout);
    stream.body.destroy();
    const event = /id: (\d+)\nevent: decision\ndata: (.*)\n/.exec(text);
    assert.ok(event, `no decision on node 1's stream:\n${text}`);
    const item = JSON.parse(event[2] as string) as Item;
    assert.equal(item.org_id, partner.orgId);
    assert.equal(item.client_id, partner.clientId);

    const list = await eventually(
      () =>
        cluster.adminOk<{ items: Item[] }>(
          0,
          'GET',
          `/decisions?client_id=${encodeURIComponent(partner.clientId)}`,
        ),
      (l) => l.items.length >= 1,
    );
    assert.ok(list.items.some((i) => i.decision === 'allow' && i.door === 'gateway'));

    const stats = await eventually(
      () =>
        cluster.adminOk<{
          organisations: Array<{ org_id: string | null; requests: number; lines_dropped: number }>;
        }>(0, 'GET', '/decisions/stats?minutes=10'),
      (s) => (s.organisations.find((o) => o.org_id === partner.orgId)?.requests ?? 0) >= 1,
    );
    const org = stats.organisations.find((o) => o.org_id === partner.orgId);
    assert.ok(org && org.requests >= 1, JSON.stringify(stats));
    assert.equal(org.lines_dropped, 0);
  });

  test('ok/a restarted node still shows the charts and the log', async () => {
    const before = await cluster.adminOk<{
      organisations: Array<{ org_id: string | null; requests: number }>;
    }>(1, 'GET', '/decisions/stats?minutes=10');
    const requests = before.organisations.find((o) => o.org_id === partner.orgId)?.requests ?? 0;
    assert.ok(requests >= 1);
    // Both nodes stop (each flushes what it holds), then node 2 comes back alone.
    await cluster.nodes[0]!.stop();
    await cluster.nodes[1]!.stop();
    // A fresh output, so that start() waits for this run's "serving" line.
    cluster.nodes[1]!.output = '';
    await cluster.nodes[1]!.start();
    const afterRestart = await cluster.adminOk<{
      organisations: Array<{ org_id: string | null; requests: number }>;
    }>(1, 'GET', '/decisions/stats?minutes=10');
    assert.equal(afterRestart.organisations.find((o) => o.org_id === partner.orgId)?.requests, requests);
    const list = await cluster.adminOk<{ items: Item[] }>(
      1,
      'GET',
      `/decisions?org_id=${encodeURIComponent(partner.orgId)}`,
    );
    assert.ok(list.items.length >= 1);
  });
});
