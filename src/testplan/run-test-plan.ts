import { performance } from 'node:perf_hooks';
import type { Agent } from 'undici';
import { AdminApi } from './admin.ts';
import { craftExpiredToken, readClaims } from './crafted-token.ts';
import { type Credential, keyAndCsr, serialOf, thumbprintOf, untrustedCredential } from './credentials.ts';
import { tlsHandshake } from './handshake.ts';
import {
  type Answer,
  describe,
  errorCode,
  joinUrl,
  nginxRefusedCertificate,
  partnerAgent,
  refusedHandshake,
  send,
} from './http.ts';
import { clientCredentials, discoverEndpoints, type Endpoints, revokeToken } from './oauth.ts';
import type { CaseResult, CaseStatus, Operation, Progress, TestPlanOptions } from './types.ts';

interface Outcome {
  status: CaseStatus;
  got: string;
  delayMs?: number;
}

const pass = (got: string): Outcome => ({ status: 'pass', got });
const fail = (got: string): Outcome => ({ status: 'fail', got });
const skip = (got: string): Outcome => ({ status: 'skip', got });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const isStatus = (a: Answer, ...statuses: number[]) => a.kind === 'http' && statuses.includes(a.status);
/**
 * A door refuses with 401/403, or (a certificate it will not take) by ending the TLS handshake or, nginx,
 * with its own 400 certificate error page.
 */
const refused = (a: Answer) =>
  isStatus(a, 401, 403) || refusedHandshake(a) || nginxRefusedCertificate(a) !== undefined;
const bodyFor = (method: string) => (['POST', 'PUT', 'PATCH'].includes(method) ? '{}' : undefined);

/**
 * The cases the go-live gate (issue 15) needs passed: the mTLS handshake, token issuance, the token bound to
 * the certificate (an unbound presentation refused), the allowed call, the forbidden call refused and an
 * untrusted certificate refused. A run passes the gate only if each of these passed and no case failed.
 */
export const GO_LIVE_REQUIRED_CASES: readonly string[] = [
  'mtls-handshake',
  'token-issued',
  'unbound-token',
  'allowed-call',
  'insufficient-scope',
  'untrusted-certificate',
];

/** The second certificate of the same client, issued through the admin API for the binding case. */
interface Second extends Credential {
  serial: string;
  agent: Agent;
}

/**
 * The partner-onboarding test plan, case after case, against one door: only network calls, as the partner
 * would make them. Destructive cases run last, token → certificate → application, since each ends what the
 * next would need.
 */
export async function runTestPlan(o: TestPlanOptions, progress: Progress): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const agents: Agent[] = [];
  const agentFor = (credential?: Credential, connectionPerRequest = false) => {
    const agent = partnerAgent(o.ca, credential, connectionPerRequest);
    agents.push(agent);
    return agent;
  };
  const main: Credential = { certPem: o.certPem, keyPem: o.keyPem };
  const mainAgent = agentFor(main);
  const admin = o.admin ? new AdminApi(o.admin.url, o.admin.token, agentFor()) : undefined;
  const thumbprint = thumbprintOf(o.certPem);

  let endpoints: Endpoints | undefined;
  let endpointsError: string | undefined;
  let token: string | undefined;
  let second: Second | undefined;
  let secondError: string | undefined;

  async function step(id: string, title: string, expected: string, body: () => Promise<Outcome>) {
    progress.started(id, title);
    const started = performance.now();
    let outcome: Outcome;
    try {
      outcome = await body();
    } catch (err) {
      const e = errorCode(err);
      outcome = fail(
        `error: ${(err as Error).message ?? e.message}${e.code !== 'error' ? ` (${e.code})` : ''}`,
      );
    }
    const result: CaseResult = {
      id,
      title,
      status: outcome.status,
      expected,
      got: outcome.got,
      ms: Math.round(performance.now() - started),
      ...(outcome.delayMs === undefined ? {} : { delayMs: Math.round(outcome.delayMs) }),
    };
    results.push(result);
    progress.finished(result);
  }

  const url = (path: string) => joinUrl(o.api, path);
  const call = (agent: Agent, op: Operation, bearer: string | undefined) =>
    send(
      agent,
      url(op.path),
      op.method,
      {
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
        ...(bodyFor(op.method) ? { 'content-type': 'application/json' } : {}),
      },
      bodyFor(op.method),
    );
  const needToken = () => (token === undefined ? skip('needs the access token of token-issued') : undefined);

  /** A fresh token for `agent`'s certificate (the revocation cases each spend one). */
  async function freshToken(agent: Agent): Promise<string> {
    if (!endpoints) throw new Error(`no token endpoint: ${endpointsError}`);
    const t = await clientCredentials(endpoints.token, o.clientId, o.scope, agent);
    if (!t.accessToken) throw new Error(`token request answered ${describe(t.answer)}`);
    return t.accessToken;
  }

  /** Setup of a case: the allowed call is admitted (polled up to the bound, for a change still on its way). */
  async function admitted(agent: Agent, bearer: string): Promise<Answer> {
    const until = performance.now() + o.revocationBoundMs;
    for (;;) {
      const a = await call(agent, o.allowed, bearer);
      if (isStatus(a, 200) || performance.now() > until) return a;
      await sleep(50);
    }
  }

  /** After the revoking call answered: the allowed call, repeated until refused or the bound has passed. */
  async function refusedWithin(
    revoke: () => Promise<unknown>,
    agent: Agent,
    bearer: string,
  ): Promise<Outcome> {
    const before = await admitted(agent, bearer);
    if (!isStatus(before, 200)) return fail(`not admitted before revoking: ${describe(before)}`);
    await revoke();
    const answered = performance.now();
    for (let attempt = 1; ; attempt++) {
      const a = await call(agent, o.allowed, bearer);
      const delay = performance.now() - answered;
      if (refused(a)) {
        return {
          status: 'pass',
          got: `${describe(a)} after ${Math.round(delay)} ms (request ${attempt})`,
          delayMs: delay,
        };
      }
      if (delay > o.revocationBoundMs) {
        return {
          status: 'fail',
          got: `still ${describe(a)} ${Math.round(delay)} ms after the answer (${attempt} requests)`,
          delayMs: delay,
        };
      }
      await sleep(25);
    }
  }

  try {
    await step(
      'mtls-handshake',
      'mTLS handshake with the client certificate',
      `TLS ≥ 1.2 to the door and the token endpoint; GET ${o.healthPath} → 200`,
      async () => {
        try {
          endpoints = o.tokenEndpoint
            ? { token: o.tokenEndpoint, revocation: o.revocationEndpoint }
            : await discoverEndpoints(o.issuer!, mainAgent);
          if (o.revocationEndpoint) endpoints.revocation = o.revocationEndpoint;
        } catch (err) {
          endpointsError = (err as Error).message;
          return fail(endpointsError);
        }
        const door = await tlsHandshake(o.api, main, o.ca);
        const as = await tlsHandshake(endpoints.token, main, o.ca);
        const health = await send(mainAgent, url(o.healthPath), 'GET');
        const got = `door ${door}, token endpoint ${as}; GET ${o.healthPath} → ${describe(health)}`;
        return isStatus(health, 200) ? pass(got) : fail(got);
      },
    );

    await step(
      'token-issued',
      'Token issued: client credentials over mTLS, bound to the certificate',
      `200 with an access token whose cnf.x5t#S256 is ${thumbprint}`,
      async () => {
        if (!endpoints) return skip(`no token endpoint: ${endpointsError}`);
        const t = await clientCredentials(endpoints.token, o.clientId, o.scope, mainAgent);
        if (!t.accessToken) return fail(describe(t.answer));
        const claims = readClaims(t.accessToken);
        if (!claims) return fail('200, but the access token is not a JWT: its binding cannot be read');
        const cnf = (claims.cnf as Record<string, unknown> | undefined)?.['x5t#S256'];
        token = t.accessToken;
        const scope = typeof claims.scope === 'string' ? claims.scope : '(none)';
        const got = `200, cnf.x5t#S256 ${String(cnf ?? '(none)')}, scope ${scope}`;
        if (cnf !== thumbprint) {
          token = undefined;
          return fail(got);
        }
        return pass(got);
      },
    );

    await step(
      'allowed-call',
      `Allowed call ${o.allowed.method} ${o.allowed.path} with the bound token`,
      '200',
      async () => {
        const missing = needToken();
        if (missing) return missing;
        const a = await call(mainAgent, o.allowed, token);
        return isStatus(a, 200) ? pass(describe(a)) : fail(describe(a));
      },
    );

    await step('missing-token', 'Missing token refused', '401', async () => {
      const a = await call(mainAgent, o.allowed, undefined);
      return isStatus(a, 401) ? pass(describe(a)) : fail(describe(a));
    });

    await step('garbage-token', 'Garbage token refused', '401', async () => {
      const a = await call(mainAgent, o.allowed, 'not-a-token.garbage.x');
      return isStatus(a, 401) ? pass(describe(a)) : fail(describe(a));
    });

    await step(
      'expired-token',
      'Expired token refused (crafted: the real claims with exp an hour ago, signed by a key the issuer never had)',
      '401',
      async () => {
        const missing = needToken();
        if (missing) return missing;
        const a = await call(mainAgent, o.allowed, await craftExpiredToken(token!));
        return isStatus(a, 401) ? pass(describe(a)) : fail(describe(a));
      },
    );

    if (admin) {
      // Additive: a further certificate of the same client, revoked again when the plan ends.
      try {
        const { keyPem, csrPem } = await keyAndCsr();
        const issued = await admin.issueCertificate(o.clientId, csrPem);
        const credential = { certPem: issued.certificate_pem, keyPem };
        second = { ...credential, serial: issued.serial, agent: agentFor(credential) };
      } catch (err) {
        secondError = (err as Error).message;
      }
    }

    let untrusted = o.untrusted;
    const untrustedNote = o.untrusted?.generated === false ? 'given' : 'generated for this run';
    const untrustedCredentialNow = async () => {
      untrusted ??= { ...(await untrustedCredential(o.clientId)), generated: true };
      return untrusted;
    };

    await step(
      'unbound-token',
      second
        ? 'Unbound token refused: the token presented over a second certificate of the same client'
        : `Unbound token refused: the token presented over an untrusted certificate (${untrustedNote}; pass --admin-url for a second certificate of the same client)`,
      second ? '401 (or 403), the second certificate itself admitted' : '401/403 or the handshake refused',
      async () => {
        const missing = needToken();
        if (missing) return missing;
        if (admin && !second) return fail(`second certificate not issued: ${secondError}`);
        if (second) {
          const own = await admitted(second.agent, await freshToken(second.agent));
          if (!isStatus(own, 200))
            return fail(`the second certificate's own token is not admitted: ${describe(own)}`);
          const a = await call(second.agent, o.allowed, token);
          return isStatus(a, 401, 403) ? pass(describe(a)) : fail(describe(a));
        }
        const a = await call(agentFor(await untrustedCredentialNow()), o.allowed, token);
        return refused(a) ? pass(describe(a)) : fail(describe(a));
      },
    );

    await step(
      'insufficient-scope',
      `Insufficient scope refused: ${o.forbidden.method} ${o.forbidden.path}`,
      '403',
      async () => {
        const missing = needToken();
        if (missing) return missing;
        const a = await call(mainAgent, o.forbidden, token);
        return isStatus(a, 403) ? pass(describe(a)) : fail(describe(a));
      },
    );

    await step(
      'untrusted-certificate',
      `Untrusted client certificate refused, even with a valid token (${untrustedNote})`,
      'the handshake refused, or 401/403',
      async () => {
        const a = await call(agentFor(await untrustedCredentialNow()), o.allowed, token);
        return refused(a) ? pass(describe(a)) : fail(describe(a));
      },
    );

    const owned = o.owned;
    const foreignPath =
      owned && o.foreignId !== undefined
        ? owned.path.replace(/\{[^}/]*\}/, encodeURIComponent(o.foreignId))
        : undefined;
    await step(
      'object-id-tampering',
      owned && foreignPath
        ? `Object-ID tampering refused: ${owned.method} ${foreignPath} (another organisation's object)`
        : 'Object-ID tampering refused',
      '403 or 404 (not the route missing)',
      async () => {
        if (!owned || foreignPath === undefined) return skip('pass --owned-path and --foreign-id');
        if (foreignPath === owned.path) return fail(`--owned-path ${owned.path} has no {id} parameter`);
        const missing = needToken();
        if (missing) return missing;
        const a = await call(mainAgent, { method: owned.method, path: foreignPath }, token);
        // Accredit's own 404 for a path no operation matches would pass for the wrong reason.
        if (a.kind === 'http' && a.code === 'route_not_found')
          return fail(`${describe(a)}: the door knows no such route, check --owned-path`);
        return isStatus(a, 403, 404) ? pass(describe(a)) : fail(describe(a));
      },
    );

    const bound = `${o.revocationBoundMs} ms`;
    const destructiveGate = (needsAdmin: boolean): Outcome | undefined => {
      if (!o.destructive) return skip('destructive: pass --destructive');
      if (needsAdmin && !admin)
        return skip('needs operator credentials: --admin-url and --operator-token-file');
      return undefined;
    };

    await step(
      'revoked-token',
      'Token revoked (RFC 7009): the next request refused',
      `401/403 within ${bound} of the revocation answer`,
      async () => {
        const gate = destructiveGate(false);
        if (gate) return gate;
        if (!endpoints?.revocation)
          return skip('no revocation endpoint: pass --issuer (discovery) or --revocation-endpoint');
        const missing = needToken();
        if (missing) return missing;
        const revocation = endpoints.revocation;
        const t = await freshToken(mainAgent);
        return refusedWithin(
          async () => {
            const a = await revokeToken(revocation, o.clientId, t, mainAgent);
            if (!isStatus(a, 200)) throw new Error(`revocation answered ${describe(a)}`);
          },
          mainAgent,
          t,
        );
      },
    );

    await step(
      'revoked-certificate',
      'Certificate revoked (admin API): the next request refused',
      `401/403 or the handshake refused, within ${bound} of the revocation answer`,
      async () => {
        const gate = destructiveGate(true);
        if (gate) return gate;
        const missing = needToken();
        if (missing) return missing;
        const t = await freshToken(mainAgent);
        // A new connection per request: a door checking revocation at the handshake is seen doing so.
        return refusedWithin(() => admin!.revokeCertificate(serialOf(o.certPem)), agentFor(main, true), t);
      },
    );

    await step(
      'suspended-application',
      'Application suspended (admin API): the next request refused, over its other certificate',
      `401/403 within ${bound} of the suspension answer`,
      async () => {
        const gate = destructiveGate(true);
        if (gate) return gate;
        if (!second) return fail(`second certificate not issued: ${secondError}`);
        const t = await freshToken(second.agent);
        return refusedWithin(() => admin!.suspendApplication(o.clientId), second.agent, t);
      },
    );
  } finally {
    // The second certificate was the plan's own: it does not outlive it.
    if (admin && second) await admin.revokeCertificate(second.serial).catch(() => undefined);
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
  }
  return results;
}
