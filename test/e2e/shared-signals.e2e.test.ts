import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, type JWTPayload, jwtVerify } from 'jose';
import type { Agent } from 'undici';
import { createCsr } from '../../src/pki/index.ts';
import { initPlatform, type PlatformHandle, startPlatform } from '../../src/platform/index.ts';
import { capturingLogger, clientAgent } from '../gateway/fixture.ts';
import { CLI, freePort, run } from '../support/platform-process.ts';

const NODE = process.execPath;
const CAEP = 'https://schemas.openid.net/secevent/caep/event-type/';
const RISC = 'https://schemas.openid.net/secevent/risc/event-type/';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';

const root = mkdtempSync(join(tmpdir(), 'accredit-ssf-'));
const dir = join(root, 'data');

/**
 * An independent minimal SSF receiver: it learns the transmitter's issuer and keys only from
 * /.well-known/ssf-configuration → jwks_uri, and verifies every SET itself with jose (signature, typ
 * secevent+jwt, iss, aud, one event, sub_id, jti never seen before).
 */
class MinimalReceiver {
  readonly seen = new Set<string>();
  config: Record<string, unknown> = {};
  #jwks: ReturnType<typeof createLocalJWKSet> | undefined;
  readonly issuer: string;
  readonly audience: string;
  readonly agent: Agent;
  constructor(issuer: string, audience: string, agent: Agent) {
    this.issuer = issuer;
    this.audience = audience;
    this.agent = agent;
  }

  async discover(): Promise<void> {
    const res = await fetch(`${this.issuer}/.well-known/ssf-configuration`, {
      dispatcher: this.agent,
    } as RequestInit);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    this.config = (await res.json()) as Record<string, unknown>;
    // SSF 1.0 §7.2.3: the issuer is the one asked, and the iss of every SET.
    assert.equal(this.config.issuer, this.issuer);
    const jwks = await fetch(this.config.jwks_uri as string, { dispatcher: this.agent } as RequestInit);
    this.#jwks = createLocalJWKSet((await jwks.json()) as never);
  }

  async verify(
    token: string,
  ): Promise<{ type: string; event: Record<string, unknown>; payload: JWTPayload }> {
    const { payload, protectedHeader } = await jwtVerify(token, this.#jwks!, {
      issuer: this.issuer,
      audience: this.audience,
      typ: 'secevent+jwt',
    });
    assert.equal(protectedHeader.typ, 'secevent+jwt');
    assert.equal(typeof payload.iat, 'number');
    assert.equal(payload.exp, undefined, 'a SET carries no exp');
    assert.equal(typeof payload.jti, 'string');
    assert.ok(!this.seen.has(payload.jti!), 'jti is unique');
    this.seen.add(payload.jti!);
    const events = payload.events as Record<string, Record<string, unknown>>;
    assert.equal(Object.keys(events).length, 1, 'one event per SET');
    assert.equal(typeof (payload.sub_id as { format?: unknown }).format, 'string', 'a top-level sub_id');
    const [type, event] = Object.entries(events)[0]!;
    return { type, event, payload };
  }
}

/** The receiver's push endpoint (RFC 8935): 202 for a SET with the right authorization, else 400/401/503. */
function pushEndpoint(tls: { key: string; cert: string }, secret: string) {
  const received: string[] = [];
  const waiters: Array<() => void> = [];
  let answer = 202;
  const server: Server = createServer(tls, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== secret) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"err":"authentication_failed"}');
        return;
      }
      if (req.headers['content-type'] !== 'application/secevent+jwt') {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"err":"invalid_request"}');
        return;
      }
      if (answer !== 202) {
        res.writeHead(answer).end();
        return;
      }
      received.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(202).end();
      for (const w of waiters.splice(0)) w();
    });
  });
  return {
    server,
    received,
    setAnswer(status: number) {
      answer = status;
    },
    /** Waits for the count-th SET; fails (never hangs) after 20 s, naming what the platform logged. */
    async next(count: number, log: () => string[] = () => []): Promise<void> {
      const deadline = Date.now() + 20_000;
      while (received.length < count) {
        const left = deadline - Date.now();
        if (left <= 0)
          assert.fail(`push ${count} never arrived; platform said:\n${log().slice(-10).join('\n')}`);
        await new Promise<void>((r) => {
          const t = setTimeout(r, left);
          waiters.push(() => {
            clearTimeout(t);
            r();
          });
        });
      }
    },
  };
}

function selfSignedTls(): { key: string; cert: string } {
  const key = join(root, 'receiver.key');
  const cert = join(root, 'receiver.crt');
  const r = spawnSync('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  assert.equal(r.status, 0, String(r.stderr));
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

describe('e2e: OpenID Shared Signals transmitter, push and poll', { timeout: 120_000 }, () => {
  let platform: PlatformHandle;
  let agent: Agent;
  let env: Record<string, string>;
  let tls: { key: string; cert: string };
  let push: ReturnType<typeof pushEndpoint>;
  let pushUrl: string;
  let operatorToken: string;
  const logger = capturingLogger();
  const ids = {
    orgA: '',
    orgB: '',
    clientA: '',
    clientB: '',
    serialA: '',
    global: '',
    scoped: '',
    pushStream: '',
    pollStream: '',
    scopedStream: '',
  };

  const start = async (allowPrivate: boolean) => {
    platform = await startPlatform({
      dataDir: dir,
      env: { ...env, ACCREDIT_SSF_ALLOW_PRIVATE_ADDRESSES: String(allowPrivate) },
      logger: logger.logger,
    });
    agent = clientAgent(platform.ca.chainPem);
  };
  const stop = async () => {
    await agent.close();
    await platform.stop();
  };

  const call = async (token: string | undefined, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${platform.urls.public}${path}`, {
      method,
      dispatcher: agent,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    } as RequestInit);
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text ? (JSON.parse(text) as Record<string, unknown> & Array<Record<string, unknown>>) : undefined,
    };
  };
  const admin = (method: string, path: string, body?: unknown) =>
    call(operatorToken, method, `/admin/v1${path}`, body);
  const cli = (args: string[]) => run(NODE, [CLI, '--dir', dir, '--url', platform.urls.public, ...args]);
  /** Everything relayed, queued and pushed that is due now. */
  const settle = async () => {
    await platform.events.flush();
    await platform.sharedSignals.flush();
  };

  before(async () => {
    tls = selfSignedTls();
    push = pushEndpoint(tls, 'Bearer receiver-own-secret');
    await new Promise<void>((r) => push.server.listen(0, '127.0.0.1', r));
    pushUrl = `https://127.0.0.1:${(push.server.address() as AddressInfo).port}/events`;
    env = {
      ACCREDIT_PUBLIC_PORT: String(await freePort()),
      ACCREDIT_MTLS_PORT: String(await freePort()),
      ACCREDIT_GATEWAY_PORT: String(await freePort()),
      ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
      ACCREDIT_METRICS_ENABLED: 'false',
      ACCREDIT_FEDERATION_FETCH_CA_FILE: join(root, 'receiver.crt'),
      ACCREDIT_SSF_MAX_STREAMS_PER_RECEIVER: '3',
      ACCREDIT_SSF_POLL_MAX_WAIT: '5',
    };
    await initPlatform({ dataDir: dir, env });
    operatorToken = readFileSync(join(dir, 'operator-token'), 'utf8').trim();
  });
  after(async () => {
    push.server.closeAllConnections();
    await new Promise((r) => push.server.close(r));
    rmSync(root, { recursive: true, force: true });
  });

  test('without ssf.allowPrivateAddresses: metadata, auth, validation, and a private push endpoint refused', async () => {
    await start(false);
    try {
      const meta = await call(undefined, 'GET', '/.well-known/ssf-configuration');
      assert.equal(meta.status, 200);
      const base = platform.urls.public;
      assert.deepEqual(meta.body, {
        spec_version: '1_0',
        issuer: base,
        jwks_uri: `${base}/events/jwks`,
        delivery_methods_supported: ['urn:ietf:rfc:8935', 'urn:ietf:rfc:8936'],
        configuration_endpoint: `${base}/ssf/streams`,
        status_endpoint: `${base}/ssf/status`,
        add_subject_endpoint: `${base}/ssf/subjects/add`,
        remove_subject_endpoint: `${base}/ssf/subjects/remove`,
        verification_endpoint: `${base}/ssf/verify`,
        authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
        default_subjects: 'ALL',
        critical_subject_members: ['tenant'],
      });

      // Receivers: one for the provider's SOC (everything) with the CLI, one for a partner's own SOC.
      const org = await admin('POST', '/organisations', { name: 'Org B' });
      ids.orgB = org.body!.id as string;
      const added = await cli(['ssf', 'receiver', 'add', '--name', 'provider-soc', '--json']);
      assert.equal(added.code, 0, added.stderr);
      ids.global = JSON.parse(added.stdout).token;
      assert.match(ids.global, /^acc_ssf_/);
      const scoped = await admin('POST', '/ssf/receivers', { name: 'partner-b-soc', org_id: ids.orgB });
      assert.equal(scoped.status, 201);
      assert.equal(scoped.body!.org_id, ids.orgB);
      ids.scoped = scoped.body!.token as string;
      const unknownOrg = await admin('POST', '/ssf/receivers', {
        name: 'nobody',
        org_id: '00000000-0000-0000-0000-000000000000',
      });
      assert.equal(unknownOrg.status, 404);
      const listed = await cli(['ssf', 'receiver', 'list', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.equal(JSON.parse(listed.stdout).length, 2);
      assert.doesNotMatch(listed.stdout, /acc_ssf_/, 'tokens are never listed');

      // RFC 6750 §3: no token, a wrong token.
      for (const token of [undefined, 'acc_ssf_wrong', operatorToken]) {
        const r = await call(token, 'GET', '/ssf/streams');
        assert.equal(r.status, 401);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="accredit-ssf"/);
      }
      const unauthPoll = await call(undefined, 'POST', '/ssf/poll/x', {});
      assert.equal(unauthPoll.status, 401);
      assert.equal(unauthPoll.body!.err, 'authentication_failed');

      // Stream validation (SSF 1.0 §8.1.1): each a 400 naming the field.
      const bad: Array<[string, unknown, string]> = [
        ['fail/unknown method', { delivery: { method: 'urn:example:smoke' } }, 'delivery.method'],
        [
          'fail/push without endpoint',
          { delivery: { method: 'urn:ietf:rfc:8935' } },
          'delivery.endpoint_url',
        ],
        [
          'fail/http endpoint',
          { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://example.com/x' } },
          'delivery.endpoint_url',
        ],
        ['fail/events not an array', { events_requested: 'all' }, 'events_requested'],
        ['fail/unknown property', { colour: 'blue' }, 'colour'],
        ['fail/iss changed', { iss: 'https://elsewhere.example' }, 'iss'],
        [
          'fail/loopback push endpoint refused',
          { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: pushUrl } },
          'delivery.endpoint_url',
        ],
      ];
      for (const [name, body, field] of bad) {
        const r = await call(ids.global, 'POST', '/ssf/streams', body);
        assert.equal(r.status, 400, name);
        assert.equal(r.body!.field, field, name);
        assert.match(r.headers.get('content-type') ?? '', /problem\+json/, name);
      }
      const notFound = await call(ids.global, 'GET', '/ssf/streams?stream_id=nope');
      assert.equal(notFound.status, 404);
      assert.deepEqual(
        (await call(ids.global, 'GET', '/ssf/streams')).body,
        [],
        'no streams yet: an empty list',
      );
      // At most N (3 here) streams per receiver: 409.
      const made: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await call(ids.global, 'POST', '/ssf/streams', {
          delivery: { method: 'urn:ietf:rfc:8936' },
        });
        assert.equal(r.status, 201);
        made.push(r.body!.stream_id as string);
      }
      const fourth = await call(ids.global, 'POST', '/ssf/streams', {});
      assert.equal(fourth.status, 409);
      // Another receiver cannot see or touch them.
      assert.equal((await call(ids.scoped, 'GET', `/ssf/streams?stream_id=${made[0]}`)).status, 404);
      assert.equal((await call(ids.scoped, 'DELETE', `/ssf/streams?stream_id=${made[0]}`)).status, 404);
      for (const id of made)
        assert.equal((await call(ids.global, 'DELETE', `/ssf/streams?stream_id=${id}`)).status, 204);
    } finally {
      await stop();
    }
  });

  test('push and poll: a revoked certificate and a suspended organisation arrive as verified SETs', async () => {
    await start(true);
    try {
      const receiver = new MinimalReceiver(platform.urls.public, 'provider-soc', agent);
      await receiver.discover();
      const scopedReceiver = new MinimalReceiver(platform.urls.public, 'partner-b-soc', agent);
      await scopedReceiver.discover();

      const orgA = await admin('POST', '/organisations', { name: 'Org A' });
      ids.orgA = orgA.body!.id as string;
      const appA = await admin('POST', '/applications', {
        org_id: ids.orgA,
        name: 'Payments',
        roles: ['partner_reader'],
        auth_method: 'tls_client_auth',
      });
      assert.equal(appA.status, 201, JSON.stringify(appA.body));
      ids.clientA = appA.body!.client_id as string;

      const pushStream = await call(ids.global, 'POST', '/ssf/streams', {
        delivery: {
          method: 'urn:ietf:rfc:8935',
          endpoint_url: pushUrl,
          authorization_header: 'Bearer receiver-own-secret',
        },
        events_requested: [
          `${CAEP}credential-change`,
          `${RISC}account-disabled`,
          `${RISC}account-enabled`,
          'urn:example:not-supported',
        ],
        description: 'gateway fleet',
      });
      assert.equal(pushStream.status, 201);
      ids.pushStream = pushStream.body!.stream_id as string;
      assert.equal(pushStream.body!.iss, platform.urls.public);
      assert.equal(pushStream.body!.aud, 'provider-soc');
      assert.deepEqual(pushStream.body!.events_delivered, [
        `${CAEP}credential-change`,
        `${RISC}account-disabled`,
        `${RISC}account-enabled`,
      ]);
      assert.equal(
        (pushStream.body!.delivery as Record<string, unknown>).authorization_header,
        undefined,
        'the receiver credential is never echoed',
      );
      const pollStream = await call(ids.global, 'POST', '/ssf/streams', {
        delivery: { method: 'urn:ietf:rfc:8936' },
      });
      ids.pollStream = pollStream.body!.stream_id as string;
      const pollUrl = (pollStream.body!.delivery as { endpoint_url: string }).endpoint_url;
      assert.equal(pollUrl, `${platform.urls.public}/ssf/poll/${ids.pollStream}`);
      const scopedStream = await call(ids.scoped, 'POST', '/ssf/streams', {
        delivery: { method: 'urn:ietf:rfc:8936' },
      });
      ids.scopedStream = scopedStream.body!.stream_id as string;

      // The certificate is issued, then revoked while a long poll waits.
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const issued = await admin('POST', `/applications/${ids.clientA}/certificates`, {
        csr: await createCsr({ privateKey, publicKey }),
      });
      assert.equal(issued.status, 201, JSON.stringify(issued.body));
      ids.serialA = issued.body!.serial as string;
      await settle();
      await push.next(1, () => logger.lines);
      const created = await receiver.verify(push.received[0]!);
      assert.equal(created.type, `${CAEP}credential-change`);
      assert.equal(created.event.change_type, 'create');

      const longPoll = call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, {
        maxEvents: 10,
        returnImmediately: false,
      });
      // The poll stream got the issuance too: drain it first, then wait for the revocation.
      const first = await longPoll;
      assert.equal(first.status, 200);
      const firstSets = first.body!.sets as Record<string, string>;
      assert.equal(Object.keys(firstSets).length, 1);
      const waiting = call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, {
        maxEvents: 10,
        returnImmediately: false,
        ack: Object.keys(firstSets),
      });
      const revoked = await admin('POST', `/certificates/${ids.serialA}/revoke`, { reason: 'keyCompromise' });
      assert.equal(revoked.status, 200);
      const polled = await waiting;
      const sets = polled.body!.sets as Record<string, string>;
      assert.equal(Object.keys(sets).length, 1);
      const [jti, token] = Object.entries(sets)[0]!;
      const fromPoll = await receiver.verify(token);
      assert.equal(fromPoll.payload.jti, jti);
      assert.equal(fromPoll.type, `${CAEP}credential-change`);
      assert.equal(fromPoll.event.credential_type, 'x509');
      assert.equal(fromPoll.event.change_type, 'revoke');
      assert.equal(fromPoll.event.x509_serial, ids.serialA);
      assert.equal(fromPoll.event.x509_issuer, issued.body!.issuer);
      assert.equal(fromPoll.event['x5t#S256'], issued.body!.x5t_s256);
      assert.deepEqual(fromPoll.payload.sub_id, {
        format: 'complex',
        application: { format: 'iss_sub', iss: platform.urls.public, sub: ids.clientA },
        tenant: { format: 'opaque', id: ids.orgA },
      });
      await push.next(2, () => logger.lines);
      const pushed = await receiver.verify(push.received[1]!);
      assert.equal(pushed.event.change_type, 'revoke');
      assert.equal(pushed.payload.txn, fromPoll.payload.txn, 'one platform event, one txn in every stream');

      // Suspending Org B: both receivers hear it; the scoped one heard nothing of Org A.
      const suspended = await admin('POST', `/organisations/${ids.orgB}/suspend`, { reason: 'audit' });
      assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
      await settle();
      await push.next(3, () => logger.lines);
      const disabled = await receiver.verify(push.received[2]!);
      assert.equal(disabled.type, `${RISC}account-disabled`);
      assert.deepEqual(disabled.payload.sub_id, {
        format: 'complex',
        tenant: { format: 'opaque', id: ids.orgB },
      });
      const scopedPoll = await call(ids.scoped, 'POST', `/ssf/poll/${ids.scopedStream}`, {
        returnImmediately: true,
      });
      const scopedSets = Object.values(scopedPoll.body!.sets as Record<string, string>);
      assert.equal(scopedSets.length, 1, 'only Org B’s event, never Org A’s certificate');
      const scopedEvent = await scopedReceiver.verify(scopedSets[0]!);
      assert.equal(scopedEvent.type, `${RISC}account-disabled`);
      assert.equal(scopedEvent.payload.aud, 'partner-b-soc');
      // A scoped receiver cannot name another organisation's subjects (§8.1.3.2: 403), can name its own.
      const otherTenant = await call(ids.scoped, 'POST', '/ssf/subjects/add', {
        stream_id: ids.scopedStream,
        subject: { format: 'complex', tenant: { format: 'opaque', id: ids.orgA } },
      });
      assert.equal(otherTenant.status, 403);
      const ownTenant = await call(ids.scoped, 'POST', '/ssf/subjects/add', {
        stream_id: ids.scopedStream,
        subject: { format: 'complex', tenant: { format: 'opaque', id: ids.orgB } },
      });
      assert.equal(ownTenant.status, 200);
      // A receiver polling another's stream: 404.
      assert.equal((await call(ids.scoped, 'POST', `/ssf/poll/${ids.pollStream}`, {})).status, 404);
      // Malformed poll requests: RFC 8936 error shape.
      const badPoll = await call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, { maxEvents: -1 });
      assert.equal(badPoll.status, 400);
      assert.equal(badPoll.body!.err, 'invalid_request');
    } finally {
      await stop();
    }
  });

  test('paused holds, enabled delivers; disabled drops; verification and its interval', async () => {
    await start(true);
    const receiver = new MinimalReceiver(platform.urls.public, 'provider-soc', agent);
    try {
      await receiver.discover();
      const before = push.received.length;
      const paused = await call(ids.global, 'POST', '/ssf/status', {
        stream_id: ids.pushStream,
        status: 'paused',
        reason: 'maintenance',
      });
      assert.deepEqual(paused.body, { stream_id: ids.pushStream, status: 'paused', reason: 'maintenance' });
      assert.equal((await admin('POST', `/organisations/${ids.orgB}/activate`, {})).status, 200);
      await settle();
      assert.equal(push.received.length, before, 'a paused stream holds its events');
      const status = await call(ids.global, 'GET', `/ssf/status?stream_id=${ids.pushStream}`);
      assert.equal(status.body!.status, 'paused');
      await call(ids.global, 'POST', '/ssf/status', { stream_id: ids.pushStream, status: 'enabled' });
      await push.next(before + 1);
      const enabled = await receiver.verify(push.received[before]!);
      assert.equal(enabled.type, `${RISC}account-enabled`);

      // Disabled: nothing is held, so nothing arrives after re-enabling.
      await call(ids.global, 'POST', '/ssf/status', { stream_id: ids.pollStream, status: 'disabled' });
      assert.equal((await admin('POST', `/organisations/${ids.orgB}/suspend`, {})).status, 200);
      await settle();
      await call(ids.global, 'POST', '/ssf/status', { stream_id: ids.pollStream, status: 'enabled' });
      const empty = await call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, {
        returnImmediately: true,
      });
      assert.deepEqual(empty.body, { sets: {}, moreAvailable: false });

      // §8.1.4.2: a verification event carrying the receiver's state; again at once → 429.
      const verify = await call(ids.global, 'POST', '/ssf/verify', {
        stream_id: ids.pollStream,
        state: 'abc123',
      });
      assert.equal(verify.status, 204);
      const again = await call(ids.global, 'POST', '/ssf/verify', { stream_id: ids.pollStream });
      assert.equal(again.status, 429);
      const verification = await call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, {
        returnImmediately: true,
      });
      const [vjti, vtoken] = Object.entries(verification.body!.sets as Record<string, string>)[0]!;
      const v = await receiver.verify(vtoken);
      assert.equal(v.type, VERIFICATION);
      assert.deepEqual(v.event, { state: 'abc123' });
      assert.deepEqual(v.payload.sub_id, { format: 'opaque', id: ids.pollStream });
      // Acknowledged: gone for good.
      await call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, { ack: [vjti], maxEvents: 0 });
      const none = await call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, { returnImmediately: true });
      assert.deepEqual(none.body!.sets, {});

      // §8.1.1.3 PATCH changes what it names; §8.1.1.4 PUT replaces with what a GET gave (a round trip).
      const patched = await call(ids.global, 'PATCH', '/ssf/streams', {
        stream_id: ids.pushStream,
        description: 'gateway fleet (eu)',
      });
      assert.equal(patched.status, 200);
      assert.equal(patched.body!.description, 'gateway fleet (eu)');
      assert.equal((patched.body!.events_delivered as string[]).length, 3, 'events unchanged');
      const got = await call(ids.global, 'GET', `/ssf/streams?stream_id=${ids.pushStream}`);
      const replaced = await call(ids.global, 'PUT', '/ssf/streams', got.body);
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      assert.deepEqual(replaced.body, got.body);
      for (const [name, body, status] of [
        ['fail/aud cannot be updated', { stream_id: ids.pushStream, aud: 'someone-else' }, 400],
        ['fail/stream_id missing', { description: 'x' }, 400],
        ['fail/unknown stream', { stream_id: 'nope', description: 'x' }, 404],
      ] as const) {
        assert.equal((await call(ids.global, 'PATCH', '/ssf/streams', body)).status, status, name);
      }

      // A subject filter (§8.1.3): Org A only; Org B's next event is not carried.
      const add = await call(ids.global, 'POST', '/ssf/subjects/add', {
        stream_id: ids.pollStream,
        subject: { format: 'complex', tenant: { format: 'opaque', id: ids.orgA } },
      });
      assert.equal(add.status, 200);
      const badSubject = await call(ids.global, 'POST', '/ssf/subjects/add', {
        stream_id: ids.pollStream,
        subject: { format: 'email' },
      });
      assert.equal(badSubject.status, 400);
      assert.equal((await admin('POST', `/organisations/${ids.orgB}/activate`, {})).status, 200);
      await settle();
      const filtered = await call(ids.global, 'POST', `/ssf/poll/${ids.pollStream}`, {
        returnImmediately: true,
      });
      assert.deepEqual(filtered.body!.sets, {});
    } finally {
      await stop();
    }
  });

  test('restart: SETs queued while the receiver was down are delivered after the platform restarts', async () => {
    await start(true);
    const receiver = new MinimalReceiver(platform.urls.public, 'provider-soc', agent);
    try {
      await receiver.discover();
      push.setAnswer(503);
      assert.equal((await admin('POST', `/organisations/${ids.orgA}/suspend`, {})).status, 200);
      await settle();
    } finally {
      await stop();
    }
    const before = push.received.length;
    push.setAnswer(202);
    await start(true);
    try {
      await push.next(before + 1);
      const arrived = await receiver.verify(push.received[before]!);
      assert.equal(arrived.type, `${RISC}account-disabled`);
      assert.deepEqual(arrived.payload.sub_id, {
        format: 'complex',
        tenant: { format: 'opaque', id: ids.orgA },
      });
      // A revoked receiver's token is refused at once.
      const list = await admin('GET', '/ssf/receivers');
      const scoped = (list.body!.items as Array<{ id: string; name: string }>).find(
        (r) => r.name === 'partner-b-soc',
      )!;
      const revoked = await cli(['ssf', 'receiver', 'revoke', scoped.id, '--json']);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.equal((await call(ids.scoped, 'GET', '/ssf/streams')).status, 401);
    } finally {
      await stop();
    }
    assert.ok(
      !logger.lines.some((l) => l.includes('receiver-own-secret') || l.includes(ids.global)),
      'no receiver credential in the logs',
    );
  });

  test('the audit log names who granted receivers and who changed streams, never a credential', async () => {
    await start(true);
    try {
      const log = await admin('GET', '/audit?limit=1000');
      const entries = log.body!.items as Array<{ actor: string; action: string; details: unknown }>;
      const actions = entries.map((e) => `${e.actor} ${e.action}`);
      for (const expected of [
        'operator:initial ssf_receiver.issue',
        'ssf_receiver:provider-soc ssf_stream.create',
        'ssf_receiver:provider-soc ssf_stream.status',
        'ssf_receiver:provider-soc ssf_stream.delete',
        'operator:initial ssf_receiver.revoke',
      ]) {
        assert.ok(actions.includes(expected), `${expected} in the audit log`);
      }
      const text = JSON.stringify(entries);
      assert.doesNotMatch(text, /receiver-own-secret|acc_ssf_/);
      const verified = await admin('GET', '/audit/verify');
      assert.equal((verified.body as { ok?: boolean }).ok, true);
    } finally {
      await stop();
    }
  });
});
