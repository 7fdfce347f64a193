// `npm run bench -- <command> [options]`: dispatches to one benchmark. Benchmarks measure, never assert.
const COMMANDS: Record<
  string,
  { summary: string; load(): Promise<{ main(argv: string[]): Promise<number> }> }
> = {
  gateway: {
    summary: 'gateway vs a bare undici reverse proxy: requests/s, p50/p99, server CPU per request',
    load: () => import('./gateway.ts'),
  },
  dpop: {
    summary:
      'gateway cost per request with a DPoP-bound token (fresh proof each) vs a certificate-bound one, same run',
    load: () => import('./dpop.ts'),
  },
  federation: {
    summary:
      'trust chain resolution (cold, warm, validateChain) vs its signatures alone: ops/s, p50/p99, CPU per op',
    load: () => import('./federation.ts'),
  },
  doors: {
    summary:
      'each door (auth_request, ext_authz, AuthZEN, Lambda) vs the own gateway: p50/p99, CPU per decision',
    load: () => import('./doors.ts'),
  },
  webhooks: {
    summary:
      'platform events to delivered webhooks (queue; claim, sign, POST, settle) vs the bare POSTs: rate, CPU each',
    load: () => import('./webhooks.ts'),
  },
  expiry: {
    summary:
      'expiry monitor passes over N expiring certificates, and the mail outbox draining into an SMTP sink',
    load: () => import('./expiry.ts'),
  },
  'replay-cache': {
    summary:
      'DPoP jti replay cache claims on memory, SQLite, PostgreSQL and Redis: latency, claims/s with 32 in flight, CPU',
    load: () => import('./replay-cache.ts'),
  },
  'rate-limit': {
    summary:
      'rate-limit counter takes on memory, SQLite, PostgreSQL and Redis; the decision core with and without limits',
    load: () => import('./rate-limit.ts'),
  },
  ocsp: {
    summary:
      'OCSP responses/s (cached, nonce) vs a bare sign-and-respond baseline: responses/s, CPU per response',
    load: () => import('./ocsp.ts'),
  },
  'connection-flood': {
    summary:
      "a partner's p50/p99 on kept-alive mTLS alone and while another address floods the gateway with idle connections",
    load: () => import('./connection-flood.ts'),
  },
  token: {
    summary:
      'token endpoint (client credentials, tls_client_auth) vs a bare sign-and-respond: tokens/s, keep-alive and fresh TLS',
    load: () => import('./token.ts'),
  },
  cluster: {
    summary:
      'two platform nodes on PostgreSQL, two standalone gateways behind a balancer: revocation to refusal at each gateway',
    load: () => import('./cluster.ts'),
  },
  'admin-isolation': {
    summary:
      'gateway p50/p99 alone and while an operator walks a 100,000-application listing and runs a bulk import',
    load: () => import('./admin-isolation.ts'),
  },
  'shared-signals': {
    summary: 'a certificate revocation to an SSF receiver: push and long-poll latency from the revoke call',
    load: () => import('./shared-signals.ts'),
  },
  soak: {
    summary:
      'accredit serve at 80 % of its measured maximum for 10 minutes: the memory curve (RSS, heap), rate, p99, errors',
    load: () => import('./soak.ts'),
  },
};

function help(json: boolean): string {
  if (json) {
    const commands = Object.entries(COMMANDS).map(([name, c]) => ({ name, summary: c.summary }));
    return `${JSON.stringify({ usage: 'npm run bench -- <command> [options]', commands }, null, 2)}\n`;
  }
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const list = Object.entries(COMMANDS)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join('\n');
  return `Usage: npm run bench -- <command> [options]
       node bench/run.ts <command> [options]

Commands:
${list}

Every command takes --help and --json; progress goes to stderr.
`;
}

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h' || name === 'help' || name === '--json') {
  const json = process.argv.includes('--json');
  process.stdout.write(help(json));
  process.exitCode = name === undefined ? 2 : 0;
} else {
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`bench: unknown command "${name}"\n\n${help(false)}`);
    process.exitCode = 2;
  } else {
    process.exitCode = await (await command.load()).main(rest);
  }
}
