// `npm run bench -- cluster`: two platform nodes on PostgreSQL (the second joined with `accredit join`), two
// standalone gateways following the nodes through a TCP balancer, partners calling through a second balancer.
// Measures, for token revocation, certificate revocation and application suspension, the time from the
// revoking call's answer to the first refused request through EACH gateway (issue 16: ≤ 50 ms wanted).
import type { Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { csrWithKey } from '../test/gateway/fixture.ts';
import {
  Cluster,
  gatewayCall,
  type Partner,
  type StandaloneGateway,
  tcpBalancer,
} from '../test/support/cluster.ts';
import { number, parseBenchArgs, progressOf, runBenchCommand } from './options.ts';

const HELP = `Usage: npm run bench -- cluster [--rounds N] [--json]

Two \`accredit serve\` nodes on PostgreSQL (ACCREDIT_TEST_POSTGRES_URL, default
postgres://postgres@127.0.0.1:5432/test, in a schema of their own, dropped afterwards), the second joined
with \`accredit join\`; two \`accredit gateway\` processes following the nodes through a small Node TCP
balancer, and partners calling through another. Each round revokes (alternately on node 1 and node 2) and
measures, per gateway, the time from the revoking call's answer to the first refused request.

  --rounds N   rounds per kind (token revocation, certificate revocation, application suspension; default 16)
  --json       machine-readable result
`;

interface Options {
  json: boolean;
  rounds: number;
}

interface Figures {
  n: number;
  median: number;
  p95: number;
  max: number;
  firstRequestRefused: number;
}

interface Result {
  rounds: number;
  topology: string;
  kinds: Record<string, { answerMs: Figures; gateways: Figures[] }>;
  throughBalancer: { requests: number; admitted: number };
}

function figures(values: number[], first: boolean[]): Figures {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? Number.NaN;
  const r = (x: number) => Math.round(x * 100) / 100;
  return {
    n: sorted.length,
    median: r(at(0.5)),
    p95: r(at(0.95)),
    max: r(sorted.at(-1) ?? Number.NaN),
    firstRequestRefused: first.filter(Boolean).length,
  };
}

async function run(options: Options): Promise<Result> {
  const progress = progressOf('cluster');
  const cluster = new Cluster();
  const balancers: Server[] = [];
  const agents: Agent[] = [];
  try {
    progress('node 1 (init) and node 2 (accredit join) on PostgreSQL');
    await cluster.start({ nodes: 2 });
    const feedLb = await tcpBalancer(cluster.nodes.map((n) => n.port));
    balancers.push(feedLb.server);
    progress('two standalone gateways following the nodes through a balancer');
    const gateways: StandaloneGateway[] = [
      await cluster.startGateway(`https://localhost:${feedLb.port}`),
      await cluster.startGateway(`https://localhost:${feedLb.port}`),
    ];
    const gwLb = await tcpBalancer(gateways.map((g) => Number(new URL(g.url).port)));
    balancers.push(gwLb.server);

    const partner: Partner = await cluster.newPartner('Bench Bank');
    const kinds: Result['kinds'] = {};
    const agentFor = (p: Partner) => {
      const a = cluster.partnerAgent(p);
      agents.push(a);
      return a;
    };

    // Through the partner-facing balancer: everything valid is admitted.
    const token0 = await cluster.token(partner);
    const lbAgent = agentFor(partner);
    let admitted = 0;
    const lbRequests = 20;
    for (let i = 0; i < lbRequests; i++) {
      await waitAdmitted(`https://localhost:${gwLb.port}`, lbAgent, token0).catch(() => {});
      if ((await gatewayCall(`https://localhost:${gwLb.port}`, lbAgent, token0)).status === 200) admitted++;
    }

    const measure = async (
      name: string,
      prepare: (round: number) => Promise<{ token: string; agents: Agent[] }>,
      revoke: (round: number, node: number) => Promise<unknown>,
    ) => {
      const answer: number[] = [];
      const perGateway = gateways.map(() => ({ ms: [] as number[], first: [] as boolean[] }));
      for (let round = 0; round < options.rounds; round++) {
        const { token, agents: perGw } = await prepare(round);
        for (const [i, g] of gateways.entries()) await waitAdmitted(g.url, perGw[i]!, token);
        const node = round % 2;
        const sent = performance.now();
        await revoke(round, node);
        const answered = performance.now();
        answer.push(answered - sent);
        await Promise.all(
          gateways.map(async (g, i) => {
            for (let attempt = 1; ; attempt++) {
              const r = await gatewayCall(g.url, perGw[i]!, token);
              if (r.status !== 200) {
                perGateway[i]!.ms.push(performance.now() - answered);
                perGateway[i]!.first.push(attempt === 1);
                return;
              }
              if (performance.now() - answered > 10_000) throw new Error(`${name}: ${g.url} never refused`);
            }
          }),
        );
        progress(
          `${name} ${round + 1}/${options.rounds} (on node ${node + 1}): ${perGateway.map((p) => `${p.ms.at(-1)!.toFixed(1)} ms`).join(', ')}`,
        );
      }
      kinds[name] = {
        answerMs: figures(answer, []),
        gateways: perGateway.map((p) => figures(p.ms, p.first)),
      };
    };

    const mtlsAgent = (p: Partner) =>
      new Agent({ connect: { ca: cluster.ca, cert: p.certPem, key: p.keyPem } });

    // Token revocation (RFC 7009 at a node's mTLS listener).
    const tokenAgents = gateways.map(() => agentFor(partner));
    let current = '';
    await measure(
      'token revocation',
      async (round) => {
        current = await cluster.token(partner, round % 2);
        return { token: current, agents: tokenAgents };
      },
      async (_round, node) => {
        const a = mtlsAgent(partner);
        try {
          const res = await request(`${cluster.nodes[node]!.mtlsUrl}/token/revocation`, {
            method: 'POST',
            dispatcher: a,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: `token=${current}&client_id=${encodeURIComponent(partner.clientId)}`,
          });
          await res.body.text();
        } finally {
          await a.close();
        }
      },
    );

    // Certificate revocation (admin API): a fresh certificate and token each round.
    let certPartner: Partner = partner;
    await measure(
      'certificate revocation',
      async (round) => {
        const { csrPem, keyPem } = await csrWithKey();
        const cert = await cluster.adminOk<{ serial: string; certificate_pem: string }>(
          round % 2,
          'POST',
          `/applications/${partner.clientId}/certificates`,
          { csr: csrPem },
        );
        certPartner = { ...partner, serial: cert.serial, certPem: cert.certificate_pem, keyPem };
        return {
          token: await cluster.token(certPartner, round % 2),
          agents: gateways.map(() => agentFor(certPartner)),
        };
      },
      (_round, node) =>
        cluster.adminOk(node, 'POST', `/certificates/${certPartner.serial}/revoke`, {
          reason: 'keyCompromise',
        }),
    );

    // Application suspension (admin API), re-activated before the next round.
    const suspendAgents = gateways.map(() => agentFor(partner));
    let suspended = false;
    await measure(
      'application suspension',
      async (round) => {
        if (suspended)
          await cluster.adminOk(round % 2, 'POST', `/applications/${partner.clientId}/activate`, {});
        suspended = false;
        return { token: await cluster.token(partner, round % 2), agents: suspendAgents };
      },
      async (_round, node) => {
        await cluster.adminOk(node, 'POST', `/applications/${partner.clientId}/suspend`, {});
        suspended = true;
      },
    );

    return {
      rounds: options.rounds,
      topology:
        '2 platform nodes (PostgreSQL, node 2 joined) → TCP balancer → 2 standalone gateways; partners → TCP balancer → gateways',
      kinds,
      throughBalancer: { requests: lbRequests, admitted },
    };
  } finally {
    for (const a of agents) await a.close().catch(() => {});
    for (const b of balancers) b.close();
    await cluster.stop();
  }
}

async function waitAdmitted(url: string, agent: Agent, token: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await gatewayCall(url, agent, token)).status === 200) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${url}: a valid request is still refused`);
}

function format(r: Result): string {
  const lines = [`Cluster (${r.topology}), ${r.rounds} rounds per kind; from the revoking call's answer:`];
  for (const [name, k] of Object.entries(r.kinds)) {
    lines.push(`  ${name} (call answered: median ${k.answerMs.median} ms, p95 ${k.answerMs.p95} ms)`);
    for (const [i, g] of k.gateways.entries()) {
      lines.push(
        `    gateway ${i + 1}: median ${g.median} ms, p95 ${g.p95} ms, max ${g.max} ms; refused on the first request ${g.firstRequestRefused}/${g.n}`,
      );
    }
  }
  lines.push(
    `  through the partner balancer: ${r.throughBalancer.admitted}/${r.throughBalancer.requests} admitted`,
  );
  return `${lines.join('\n')}\n`;
}

export function main(argv: string[]): Promise<number> {
  return runBenchCommand<Options, Result>(argv, {
    name: 'cluster',
    help: HELP,
    parse(args) {
      const values = parseBenchArgs(args, { rounds: { type: 'string' } });
      if (values.help) return 'help';
      return { json: values.json, rounds: number('rounds', values.rounds, 16, 1, true) };
    },
    run,
    format,
  });
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
