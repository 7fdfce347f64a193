import assert from 'node:assert/strict';
import { randomUUID, X509Certificate } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Agent } from 'undici';
import { call } from '../fixture.ts';
import {
  athOf,
  type DpopEnv,
  type DpopKey,
  dpopEnv,
  dpopKey,
  hmacProof,
  PUBLIC_URL,
  proof,
  SECRET,
  unsignedProof,
} from './dpop-fixture.ts';

/**
 * RFC 9449 at the resource server: one negative table, the same at the own gateway, nginx auth_request, Envoy
 * ext_authz and AuthZEN (they ask the same core, each translating its own input), with exact status, reason and challenge.
 */

let env: DpopEnv;
let key: DpopKey;
let otherKey: DpopKey;
before(async () => {
  env = await dpopEnv();
  key = await dpopKey();
  otherKey = await dpopKey();
});
after(() => env?.close());

const now = () => Math.floor(Date.now() / 1000);
const nonce = () => env.nonces.current(Date.now());

/** An RFC 9068 token bound to a DPoP key (cnf.jkt, RFC 9449 §6.1), no certificate binding. */
function dpopToken(jkt = key.jkt, extra: Record<string, unknown> = {}): Promise<string> {
  const claims = env.minter.claims(env.reader.clientId, env.reader.orgId, undefined, 'accounts:read');
  return env.minter.sign({ ...claims, cnf: { jkt }, ...extra });
}
function certToken(): Promise<string> {
  return env.minter.sign(
    env.minter.claims(env.reader.clientId, env.reader.orgId, env.reader.cred.x5tS256, 'accounts:read'),
  );
}

interface Credentials {
  authorization: string;
  dpop?: string;
}

interface Case {
  name: string;
  method?: string;
  path?: string;
  /** Present the reader's client certificate. */
  cert?: boolean;
  creds: (htu: string, method: string) => Promise<Credentials>;
  status: number;
  reason: string;
  challenge?: RegExp;
  /** The same credentials are sent twice: the first time allowed, the second refused. */
  twice?: boolean;
  /** A DPoP-Nonce comes with the answer. */
  nonce?: boolean;
}

const INVALID_PROOF = /^DPoP error="invalid_dpop_proof", error_description="[^"]+", algs="ES256 [^"]+"$/;
const DPOP_INVALID_TOKEN = /^DPoP error="invalid_token", error_description="[^"]+", algs="ES256 [^"]+"$/;
const BEARER_INVALID_TOKEN = /^Bearer realm="accredit", error="invalid_token", error_description="[^"]+"$/;

/** `Authorization: DPoP` with a bound token and a proof built from `proofInput`. */
function withProof(
  overrides: (
    htu: string,
    method: string,
    token: string,
  ) => Partial<Parameters<typeof proof>[0]> = () => ({}),
  token: () => Promise<string> = () => dpopToken(),
) {
  return async (htu: string, method: string): Promise<Credentials> => {
    const t = await token();
    const p = await proof({ key, htm: method, htu, token: t, nonce: nonce(), ...overrides(htu, method, t) });
    return { authorization: `DPoP ${t}`, dpop: p };
  };
}

const CASES: Case[] = [
  {
    name: 'ok/DPoP-bound token with a valid proof, no client certificate',
    creds: withProof(),
    status: 200,
    reason: 'allowed',
    nonce: true,
  },
  {
    name: 'ok/POST with htm POST',
    method: 'POST',
    creds: withProof(),
    status: 200,
    reason: 'allowed',
  },
  {
    name: 'ok/htu normalised (RFC 3986 §6.2.2–6.2.3): scheme and host case, default port, query ignored',
    creds: withProof((htu) => ({
      htu: `${htu.replace('https://api.example.com', 'HTTPS://API.Example.COM:443')}?x=1#frag`,
    })),
    status: 200,
    reason: 'allowed',
  },
  {
    name: 'fail/replayed proof (RFC 9449 §11.1)',
    creds: withProof(),
    twice: true,
    status: 401,
    reason: 'dpop_proof_replayed',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/no DPoP header with the DPoP scheme (§4.3 step 1)',
    creds: async () => ({ authorization: `DPoP ${await dpopToken()}` }),
    status: 401,
    reason: 'dpop_proof_missing',
    challenge: INVALID_PROOF,
    nonce: true,
  },
  {
    name: 'fail/two DPoP proofs (§4.3 step 1)',
    creds: async (htu, method) => {
      const c = await withProof()(htu, method);
      return { ...c, dpop: `${c.dpop}, ${c.dpop}` };
    },
    status: 401,
    reason: 'dpop_proof_missing',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/a proof that is not a JWT (§4.3 step 2)',
    creds: async () => ({ authorization: `DPoP ${await dpopToken()}`, dpop: 'not-a-jwt' }),
    status: 401,
    reason: 'dpop_proof_invalid',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/typ jwt instead of dpop+jwt (§4.3 step 4)',
    creds: withProof(() => ({ header: { typ: 'JWT' } })),
    status: 401,
    reason: 'dpop_proof_invalid',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/no typ (§4.3 step 4)',
    creds: withProof(() => ({ header: { typ: undefined } })),
    status: 401,
    reason: 'dpop_proof_invalid',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/alg none (§4.3 step 5)',
    creds: async (htu, method) => {
      const t = await dpopToken();
      const claims = { jti: randomUUID(), htm: method, htu, iat: now(), ath: athOf(t), nonce: nonce() };
      return { authorization: `DPoP ${t}`, dpop: unsignedProof(key, claims) };
    },
    status: 401,
    reason: 'dpop_algorithm_not_allowed',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/alg HS256 (§4.3 step 5: never a MAC)',
    creds: async (htu, method) => {
      const t = await dpopToken();
      const claims = { jti: randomUUID(), htm: method, htu, iat: now(), ath: athOf(t), nonce: nonce() };
      return { authorization: `DPoP ${t}`, dpop: hmacProof(key, claims) };
    },
    status: 401,
    reason: 'dpop_algorithm_not_allowed',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/private key in the jwk header (§4.3 step 7)',
    creds: withProof(() => ({
      header: { jwk: { ...key.jwk, d: key.privateKey.export({ format: 'jwk' }).d } },
    })),
    status: 401,
    reason: 'dpop_private_key',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/signature by another key than the jwk header’s (§4.3 step 6)',
    creds: withProof(() => ({ signWith: otherKey.privateKey })),
    status: 401,
    reason: 'dpop_proof_invalid',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/no jti (§4.3 step 3)',
    creds: withProof(() => ({ claims: { jti: undefined } })),
    status: 401,
    reason: 'dpop_proof_invalid',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/wrong htm (§4.3 step 8)',
    creds: withProof(() => ({ htm: 'POST' })),
    status: 401,
    reason: 'dpop_method_mismatch',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/htm in lower case (§4.3 step 8: methods are case-sensitive)',
    creds: withProof((_htu, method) => ({ htm: method.toLowerCase() })),
    status: 401,
    reason: 'dpop_method_mismatch',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/wrong htu: another path (§4.3 step 9)',
    creds: withProof(() => ({ htu: `${PUBLIC_URL}/v1/strict` })),
    status: 401,
    reason: 'dpop_uri_mismatch',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/wrong htu: another host (§4.3 step 9)',
    creds: withProof((htu) => ({ htu: htu.replace('api.example.com', 'evil.example.com') })),
    status: 401,
    reason: 'dpop_uri_mismatch',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/wrong htu: http instead of https (§4.3 step 9)',
    creds: withProof((htu) => ({ htu: htu.replace('https:', 'http:') })),
    status: 401,
    reason: 'dpop_uri_mismatch',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/stale iat, even with a valid nonce (§4.3 step 11)',
    creds: withProof(() => ({ claims: { iat: now() - 120 } })),
    status: 401,
    reason: 'dpop_iat_out_of_window',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/future iat, even with a valid nonce (§4.3 step 11)',
    creds: withProof(() => ({ claims: { iat: now() + 120 } })),
    status: 401,
    reason: 'dpop_iat_out_of_window',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/missing ath (§4.3 step 10)',
    creds: withProof(() => ({ claims: { ath: undefined } })),
    status: 401,
    reason: 'dpop_ath_mismatch',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/ath of another token (§4.3 step 10)',
    creds: withProof(() => ({ claims: { ath: athOf('another.access.token') } })),
    status: 401,
    reason: 'dpop_ath_mismatch',
    challenge: INVALID_PROOF,
  },
  {
    name: 'fail/no nonce: use_dpop_nonce with a fresh DPoP-Nonce (§9)',
    creds: withProof(() => ({ nonce: undefined })),
    status: 401,
    reason: 'dpop_nonce_required',
    challenge: /^DPoP error="use_dpop_nonce", error_description="[^"]+", algs="ES256 [^"]+"$/,
    nonce: true,
  },
  {
    name: 'fail/a forged nonce (§9)',
    creds: withProof(() => ({ nonce: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' })),
    status: 401,
    reason: 'dpop_nonce_required',
    challenge: /^DPoP error="use_dpop_nonce"/,
  },
  {
    name: 'fail/proof key not matching the token’s cnf.jkt (§6.1, §7)',
    creds: withProof(
      () => ({}),
      () => dpopToken(otherKey.jkt),
    ),
    status: 401,
    reason: 'dpop_key_mismatch',
    challenge: DPOP_INVALID_TOKEN,
  },
  {
    name: 'fail/an expired DPoP-bound token with a valid proof: a DPoP challenge',
    creds: withProof(
      () => ({}),
      () => dpopToken(key.jkt, { exp: now() - 600, iat: now() - 900 }),
    ),
    status: 401,
    reason: 'token_expired',
    challenge: DPOP_INVALID_TOKEN,
  },
  {
    name: 'fail/a DPoP-bound token without the scope: insufficient_scope in a DPoP challenge (§7.1)',
    creds: withProof(
      () => ({}),
      () =>
        env.minter.sign({
          ...env.minter.claims(env.reader.clientId, env.reader.orgId, undefined, 'payments:submit'),
          cnf: { jkt: key.jkt },
        }),
    ),
    status: 403,
    reason: 'insufficient_scope',
    challenge:
      /^DPoP error="insufficient_scope", error_description="[^"]+", scope="accounts:read", algs="ES256 /,
    nonce: true,
  },
  {
    name: 'fail/a DPoP-bound token presented as Bearer (§7.2)',
    creds: async () => ({ authorization: `Bearer ${await dpopToken()}` }),
    status: 401,
    reason: 'dpop_token_as_bearer',
    challenge: BEARER_INVALID_TOKEN,
  },
  {
    name: 'fail/a DPoP-bound token as Bearer with a valid proof alongside (§7.2)',
    creds: async (htu, method) => {
      const c = await withProof()(htu, method);
      return { ...c, authorization: c.authorization.replace(/^DPoP /, 'Bearer ') };
    },
    status: 401,
    reason: 'dpop_token_as_bearer',
    challenge: BEARER_INVALID_TOKEN,
  },
  {
    name: 'fail/a certificate-bound token with the DPoP scheme',
    cert: true,
    creds: withProof(
      () => ({}),
      () => certToken(),
    ),
    status: 401,
    reason: 'dpop_token_not_bound',
    challenge: DPOP_INVALID_TOKEN,
  },
  {
    name: 'fail/mtls required by the catalog: DPoP without a client certificate',
    path: '/v1/strict',
    creds: withProof(),
    status: 403,
    reason: 'client_certificate_required',
  },
  {
    name: 'ok/mtls required by the catalog: DPoP with a client certificate',
    path: '/v1/strict',
    cert: true,
    creds: withProof(),
    status: 200,
    reason: 'allowed',
  },
  {
    name: 'fail/the DPoP scheme on an operation that refuses DPoP',
    path: '/v1/legacy',
    cert: true,
    creds: withProof(),
    status: 401,
    reason: 'dpop_not_accepted',
    challenge: BEARER_INVALID_TOKEN,
  },
  {
    name: 'ok/dpop required by the catalog: a DPoP-bound token with its proof, no certificate',
    path: '/v1/dpop-only',
    creds: withProof(),
    status: 200,
    reason: 'allowed',
  },
  {
    name: 'fail/dpop required by the catalog: a certificate-bound Bearer token with its certificate',
    path: '/v1/dpop-only',
    cert: true,
    creds: async () => ({ authorization: `Bearer ${await certToken()}` }),
    status: 401,
    reason: 'dpop_required',
    challenge: DPOP_INVALID_TOKEN,
    nonce: true,
  },
  {
    name: 'fail/dpop required by the catalog: an unbound Bearer token',
    path: '/v1/dpop-only',
    creds: async () => ({
      authorization: `Bearer ${await env.minter.sign(
        env.minter.claims(env.reader.clientId, env.reader.orgId, undefined, 'accounts:read'),
      )}`,
    }),
    status: 401,
    reason: 'dpop_required',
    challenge: DPOP_INVALID_TOKEN,
  },
  {
    name: 'ok/a certificate-bound Bearer token on the mtls-required operation, same run',
    path: '/v1/strict',
    cert: true,
    creds: async () => ({ authorization: `Bearer ${await certToken()}` }),
    status: 200,
    reason: 'allowed',
  },
];

interface Outcome {
  status: number;
  reason: string;
  challenge: string | undefined;
  nonce: string | undefined;
}

type Door = (c: Case, creds: Credentials) => Promise<Outcome>;

function splitAuthorization(value: string): { type: string; token: string } {
  const [type, token] = value.split(' ');
  return { type: type as string, token: token as string };
}

const DOORS: Record<string, Door> = {
  async gateway(c, creds) {
    const agent: Agent = c.cert ? env.reader.agent : env.noCert;
    const headers: Record<string, string> = { authorization: creds.authorization };
    if (creds.dpop !== undefined) headers.dpop = creds.dpop;
    const res = await call(agent, env.gateway.url, c.path ?? '/v1/accounts', {
      method: c.method ?? 'GET',
      headers,
    });
    return {
      status: res.status,
      reason: res.status === 200 ? 'allowed' : String(res.json.code),
      challenge: res.headers['www-authenticate'] as string | undefined,
      nonce: res.headers['dpop-nonce'] as string | undefined,
    };
  },
  async auth_request(c, creds) {
    // As the edge kit's nginx sends it: original method and URI, the client's Authorization and DPoP.
    const headers: Record<string, string> = {
      'x-accredit-decision-secret': SECRET,
      'x-original-method': c.method ?? 'GET',
      'x-original-uri': c.path ?? '/v1/accounts',
      authorization: creds.authorization,
    };
    if (creds.dpop !== undefined) headers.dpop = creds.dpop;
    if (c.cert) headers['x-client-cert'] = encodeURIComponent(env.reader.cred.certPem);
    const res = await call(env.noCert, env.listener.url, '/auth_request', { method: 'GET', headers });
    return {
      status: res.status,
      reason: res.status === 200 ? 'allowed' : String(res.headers['x-accredit-reason']),
      challenge: res.headers['www-authenticate'] as string | undefined,
      nonce: res.headers['dpop-nonce'] as string | undefined,
    };
  },
  async ext_authz(c, creds) {
    // As the edge kit's Envoy sends it: method, path_prefix + path, the allowed headers, XFCC when verified.
    const headers: Record<string, string> = {
      'x-accredit-decision-secret': SECRET,
      authorization: creds.authorization,
      'content-length': '0',
    };
    if (creds.dpop !== undefined) headers.dpop = creds.dpop;
    if (c.cert) {
      const pem = env.reader.cred.certPem;
      const hash = new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
      headers['x-forwarded-client-cert'] = `Hash=${hash};Cert="${encodeURIComponent(pem)}"`;
    }
    const res = await call(env.noCert, env.listener.url, `/ext_authz${c.path ?? '/v1/accounts'}`, {
      method: c.method ?? 'GET',
      headers,
    });
    return {
      status: res.status,
      reason: res.status === 200 ? 'allowed' : String(res.headers['x-accredit-reason']),
      challenge: res.headers['www-authenticate'] as string | undefined,
      nonce: res.headers['dpop-nonce'] as string | undefined,
    };
  },
  async authzen(c, creds) {
    const { type, token } = splitAuthorization(creds.authorization);
    const res = await call(env.noCert, env.listener.url, '/access/v1/evaluation', {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRET}` },
      body: {
        subject: {
          type: 'client',
          id: env.reader.clientId,
          properties: {
            token,
            token_type: type,
            ...(c.cert ? { client_certificate: env.reader.cred.certPem } : {}),
          },
        },
        action: { name: c.method ?? 'GET' },
        resource: { type: 'route', id: c.path ?? '/v1/accounts', properties: { origin: PUBLIC_URL } },
        context: creds.dpop !== undefined ? { dpop: creds.dpop } : {},
      },
    });
    assert.equal(res.status, 200, res.text);
    const context = res.json.context as Record<string, unknown>;
    return {
      status: context.status as number,
      reason: context.reason as string,
      challenge: context.www_authenticate as string | undefined,
      nonce: context.dpop_nonce as string | undefined,
    };
  },
};

for (const [door, ask] of Object.entries(DOORS)) {
  describe(`DPoP at the ${door} door`, () => {
    for (const c of CASES) {
      test(c.name, async () => {
        const method = c.method ?? 'GET';
        const creds = await c.creds(`${PUBLIC_URL}${c.path ?? '/v1/accounts'}`, method);
        if (c.twice) {
          const first = await ask(c, creds);
          assert.equal(first.status, 200, `${door}: first use ${JSON.stringify(first)}`);
        }
        const outcome = await ask(c, creds);
        assert.equal(outcome.status, c.status, `${door}: ${JSON.stringify(outcome)}`);
        assert.equal(outcome.reason, c.reason);
        if (c.challenge) assert.match(String(outcome.challenge), c.challenge);
        else if (c.status === 200) assert.equal(outcome.challenge, undefined);
        if (c.nonce) {
          assert.ok(outcome.nonce, 'a DPoP-Nonce comes with the answer');
          assert.ok(env.nonces.isValid(outcome.nonce, Date.now()));
        }
      });
    }
  });
}
