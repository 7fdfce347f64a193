import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import {
  createCatalogOperation,
  deleteCatalogOperation,
  setApplicationStatus,
  setOrganisationStatus,
  updateCatalogOperation,
} from '../../src/directory/index.ts';
import {
  type CatalogRoute,
  FEED_ACK_PATH,
  FEED_CHANGE_KINDS,
  FEED_PATH,
  FEED_STREAM_HEADER,
  type FeedChange,
  followFeed,
  type LivenessSnapshot,
  MemoryLivenessState,
} from '../../src/gateway/index.ts';
import {
  ENFORCEMENT_WAIT_MS,
  issueEnforcementCredential,
  revokeEnforcementCredential,
} from '../../src/platform/enforcement-feed/index.ts';
import { initPlatform, type PlatformHandle, startPlatform } from '../../src/platform/index.ts';
import { CHANGE_KINDS } from '../../src/storage/index.ts';
import { capturingLogger } from '../gateway/fixture.ts';
import { createPartner, type Partner } from '../support/ca-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { freePort } from '../support/platform-process.ts';

const targets = await engineTargets();
const meta = () => ({ actor: 'operator:test', now: new Date() });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A TCP relay in front of the platform whose connections the test can cut, and stop accepting. */
async function relay(
  port: number,
): Promise<{ port: number; cut(): void; refuse(yes: boolean): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((inbound) => {
    if (refusing) return inbound.destroy();
    const outbound = tcpConnect(port, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    refuse: (yes) => {
      refusing = yes;
    },
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** GET the feed and read until the first event or comment (or the whole refusal). */
function firstEvent(
  url: string,
  ca: string,
  headers: Record<string, string>,
): Promise<{ status: number; contentType: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (res.statusCode === 200 && text.includes('\n\n')) {
          req.destroy();
          resolve({ status: 200, contentType: String(res.headers['content-type']), text });
        }
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), text }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** The state the gateway uses, counting what the feed applies to it. */
class CountingState extends MemoryLivenessState {
  readonly applied: number[] = [];
  snapshots = 0;
  override apply(change: FeedChange): void {
    this.applied.push(change.seq);
    super.apply(change);
  }
  override replace(snapshot: LivenessSnapshot): void {
    this.snapshots += 1;
    super.replace(snapshot);
  }
}

for (const target of targets) {
  describe(`enforcement feed over HTTPS: ${target.name}`, { skip: target.skip, timeout: 120_000 }, () => {
    const root = mkdtempSync(join(tmpdir(), 'accredit-feed-'));
    let platform: PlatformHandle;
    let partner: Partner;
    let ca: string;
    let token: string;
    let credentialId: string;
    let seqBeforeStart: number;

    before(async () => {
      const options = target.freshOptions();
      const env: NodeJS.ProcessEnv = {
        ACCREDIT_PUBLIC_PORT: String(await freePort()),
        ACCREDIT_PKI_HTTP_PORT: String(await freePort()),
        ACCREDIT_MTLS_PORT: String(await freePort()),
        ACCREDIT_GATEWAY_PORT: String(await freePort()),
        ACCREDIT_DATABASE_URL: options.url,
        ...(options.schema ? { ACCREDIT_DATABASE_SCHEMA: options.schema } : {}),
        ACCREDIT_ENFORCEMENT_FEED_MAX_CLIENTS: '4',
      };
      const dir = join(root, 'data');
      await initPlatform({ dataDir: dir, env });
      // Changes made before the platform starts are not held for replay: resuming before them needs a snapshot.
      const early = await startPlatform({ dataDir: dir, env, logger: capturingLogger().logger });
      partner = await createPartner(early.storage, 'Acme Bank');
      seqBeforeStart = await early.storage.feed.currentSeq();
      await early.stop();
      platform = await startPlatform({ dataDir: dir, env, logger: capturingLogger().logger });
      ca = readFileSync(join(dir, 'ca', 'bundle.pem'), 'utf8');
      const issued = await platform.storage.transaction((tx) =>
        issueEnforcementCredential(tx, 'edge-1', meta()),
      );
      token = issued.token;
      credentialId = issued.id;
    });

    after(async () => {
      await platform?.stop();
      rmSync(root, { recursive: true, force: true });
      await target.cleanup();
    });

    const feedUrl = (query = '') => `${platform.urls.public}${FEED_PATH}${query}`;

    test('fail/no, malformed, unknown or revoked credential → 401 problem+json, nothing of the feed', async () => {
      const revoked = await platform.storage.transaction((tx) =>
        issueEnforcementCredential(tx, 'gone', meta()),
      );
      await platform.storage.transaction((tx) => revokeEnforcementCredential(tx, revoked.id, meta()));
      const operator = readFileSync(join(platform.config.dataDir, 'operator-token'), 'utf8').trim();
      const cases: Array<[string, Record<string, string>]> = [
        ['fail/none', {}],
        ['fail/basic', { authorization: 'Basic Zm9vOmJhcg==' }],
        ['fail/unknown', { authorization: 'Bearer acc_ep_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
        ['fail/revoked', { authorization: `Bearer ${revoked.token}` }],
        ['fail/an operator token is not an enforcement credential', { authorization: `Bearer ${operator}` }],
      ];
      for (const [name, headers] of cases) {
        const r = await firstEvent(feedUrl(), ca, headers);
        assert.equal(r.status, 401, name);
        assert.match(r.contentType, /^application\/problem\+json/, name);
        assert.equal(JSON.parse(r.text).code, 'unauthorized', name);
        assert.doesNotMatch(r.text, new RegExp(partner.clientId), `${name}: no state leaks`);
      }
      const audited = await platform.storage.db
        .selectFrom('audit_log')
        .select(['action', 'target_id'])
        .where('target_type', '=', 'enforcement_credential')
        .execute();
      assert.ok(
        audited.some((a) => a.action === 'enforcement_credential.issue' && a.target_id === revoked.id),
      );
      assert.ok(
        audited.some((a) => a.action === 'enforcement_credential.revoke' && a.target_id === revoked.id),
      );
      const stored = await platform.storage.db.selectFrom('enforcement_credentials').selectAll().execute();
      assert.ok(
        stored.every((c) => c.token_hash !== revoked.token && !c.token_hash.startsWith('acc_ep_')),
        'hashed',
      );
      const bad = await firstEvent(feedUrl('?after=-1'), ca, { authorization: `Bearer ${token}` });
      assert.equal(bad.status, 400);
      assert.equal(JSON.parse(bad.text).code, 'invalid_request');
    });

    test('ok/a new client gets a snapshot first: organisations, applications, routes, seq', async () => {
      const r = await firstEvent(feedUrl(), ca, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200);
      assert.match(r.contentType, /^text\/event-stream/);
      const match = /event: snapshot\nid: (\d+)\ndata: (.*)\n\n/.exec(r.text);
      assert.ok(match, r.text.slice(0, 200));
      const snapshot = JSON.parse(match[2]!) as LivenessSnapshot;
      assert.equal(snapshot.seq, Number(match[1]));
      assert.equal(snapshot.seq, await platform.storage.feed.currentSeq());
      assert.ok(snapshot.organisations.some((o) => o.id === partner.orgId && o.status === 'active'));
      assert.ok(snapshot.applications.some((a) => a.clientId === partner.clientId && a.status === 'active'));
      assert.ok(snapshot.routes.length > 0);
    });

    test('ok/resuming before what the platform holds, or after what it has seen, gets a snapshot', async () => {
      for (const after of [seqBeforeStart - 1, 1_000_000]) {
        const r = await firstEvent(feedUrl(`?after=${after}`), ca, { authorization: `Bearer ${token}` });
        assert.match(r.text, /^event: snapshot\n/m, `after=${after}`);
      }
      // Last-Event-ID (SSE §9.2.4) resumes like ?after=.
      const resumed = await firstEvent(feedUrl(), ca, {
        authorization: `Bearer ${token}`,
        'last-event-id': String(await platform.storage.feed.currentSeq()),
      });
      assert.match(resumed.text, /^: resumed\n\n/);
      assert.doesNotMatch(resumed.text, /event: snapshot/);
    });

    test('ok/a disconnect mid-stream loses and repeats no change; fail/then stale once the feed is gone', async () => {
      const front = await relay(Number(new URL(platform.urls.public).port));
      const state = new CountingState();
      const captured = capturingLogger();
      const follower = followFeed({
        platformUrl: `https://localhost:${front.port}`,
        ca,
        credential: token,
        state,
        logger: captured.logger,
        staleAfterMs: 1500,
        retryMinMs: 20,
        retryMaxMs: 100,
      });
      try {
        await until(() => state.snapshots === 1 && follower.staleness() === undefined, 'the snapshot');
        const start = follower.status().seq;
        const toggle = (i: number) =>
          platform.storage.transaction((tx) =>
            setApplicationStatus(tx, partner.clientId, i % 2 === 0 ? 'suspended' : 'active', meta()),
          );
        for (let i = 0; i < 10; i++) {
          await toggle(i);
          // Cut the connection between deltas, twice: the follower resumes from its last seq.
          if (i === 3 || i === 6) front.cut();
        }
        const last = await platform.storage.feed.currentSeq();
        await until(() => follower.status().seq === last, 'every change');
        const published = await platform.storage.db
          .selectFrom('change_feed')
          .select('seq')
          .where('seq', '>', start)
          .orderBy('seq')
          .execute();
        assert.deepEqual(
          state.applied,
          published.map((r) => Number(r.seq)),
          'each change once, in order',
        );
        assert.equal(state.applied.length, 10);
        assert.equal(state.snapshots, 1, 'resumed from the held changes, not from a new snapshot');
        assert.equal(state.client(partner.clientId)?.status, 'active');

        front.refuse(true);
        front.cut();
        await until(() => follower.staleness() !== undefined, 'staleness', 5000);
        assert.match(follower.staleness()!, /silent for more than 1500 ms/);
        // Logged by a watch that runs every quarter of the bound.
        await until(
          () => captured.lines.some((l) => l.includes('enforcement feed stale')),
          'the stale log line',
        );
        await sleep(800);
        const stale = captured.lines.filter((l) => l.includes('enforcement feed stale'));
        assert.equal(stale.length, 1, 'logged once when it turns stale');
        front.refuse(false);
        await until(() => follower.staleness() === undefined, 'recovery', 5000);
        await sleep(800);
        assert.equal(captured.lines.filter((l) => l.includes('enforcement feed fresh')).length, 2);
      } finally {
        follower.close();
        state.close();
        await front.close();
      }
    });

    test('ok/an organisation suspended while a follower listens arrives as a change; the kinds match the platform’s', async () => {
      for (const [key, kind] of Object.entries(FEED_CHANGE_KINDS)) {
        assert.equal(CHANGE_KINDS[key as keyof typeof CHANGE_KINDS], kind, key);
      }
      const state = new CountingState();
      const follower = followFeed({
        platformUrl: platform.urls.public,
        ca,
        credential: token,
        state,
        logger: capturingLogger().logger,
      });
      try {
        await until(() => state.snapshots === 1, 'the snapshot');
        await platform.storage.transaction((tx) =>
          setOrganisationStatus(tx, partner.orgId, 'suspended', meta()),
        );
        await until(() => state.orgStatus(partner.orgId) === 'suspended', 'the suspension');
        await platform.storage.transaction((tx) =>
          setOrganisationStatus(tx, partner.orgId, 'active', meta()),
        );
        await until(() => state.orgStatus(partner.orgId) === 'active', 'the reactivation');
      } finally {
        follower.close();
        state.close();
      }
    });

    test('ok/a catalog edit reaches a follower as the whole new route table, after its snapshot’s', async () => {
      const state = new CountingState();
      const tables: CatalogRoute[][] = [];
      const follower = followFeed({
        platformUrl: platform.urls.public,
        ca,
        credential: token,
        state,
        logger: capturingLogger().logger,
        onRoutes: (routes) => tables.push(routes),
      });
      const has = (pattern: string, scope: string) =>
        tables
          .at(-1)
          ?.some(
            (r) =>
              r.pathPattern === pattern &&
              ('scope' in r ? r.scope === scope : r.scopes.some((a) => a.includes(scope))) &&
              r.method === 'GET',
          ) ?? false;
      try {
        await until(() => state.snapshots === 1 && tables.length === 1, 'the snapshot');
        assert.ok(has('/v1/accounts', 'accounts:read'), 'the snapshot carries the seed routes');
        const op = await platform.storage.transaction((tx) =>
          createCatalogOperation(
            tx,
            {
              method: 'GET',
              pathPattern: '/v1/feed-balances',
              requiredScopes: [['accounts:read']],
              description: '',
            },
            meta(),
          ),
        );
        await until(() => has('/v1/feed-balances', 'accounts:read'), 'the added route');
        await platform.storage.transaction((tx) =>
          updateCatalogOperation(tx, op.id, { requiredScopes: [['accounts:write']] }, meta()),
        );
        await until(() => has('/v1/feed-balances', 'accounts:write'), 'the changed scope');
        assert.ok(!has('/v1/feed-balances', 'accounts:read'), 'the old grant is gone, not merged');
        await platform.storage.transaction((tx) => deleteCatalogOperation(tx, op.id, meta()));
        await until(
          () => tables.at(-1)?.every((r) => r.pathPattern !== '/v1/feed-balances') ?? false,
          'removal',
        );
        assert.ok(has('/v1/accounts', 'accounts:read'), 'the rest of the table stays');
      } finally {
        follower.close();
        state.close();
      }
    });

    test('ok/a revoking call waits for a gateway that confirms, fail/but never longer than the bound for one that does not', async () => {
      // A client that acknowledges the snapshot and then nothing: the platform answers after ENFORCEMENT_WAIT_MS.
      const { stream, close } = await openRaw(feedUrl(), ca, token);
      try {
        const ack = (body: unknown, auth = token) =>
          post(`${platform.urls.public}${FEED_ACK_PATH}`, ca, auth, body);
        assert.equal((await ack({ stream: 'nope', seq: 1 })).status, 404, 'fail/unknown stream');
        assert.equal((await ack({ stream, seq: 1 }, 'acc_ep_wrong')).status, 401, 'fail/no credential');
        assert.equal((await ack({ stream, seq: -1 })).status, 400, 'fail/bad seq');
        assert.equal((await ack({ stream, seq: await platform.storage.feed.currentSeq() })).status, 204);
        const started = performance.now();
        const res = await fetchAdmin(platform, 'POST', `/organisations/${partner.orgId}/suspend`);
        const took = performance.now() - started;
        assert.equal(res.status, 200);
        assert.ok(took >= ENFORCEMENT_WAIT_MS - 20, `waited for the silent client (${took} ms)`);
        assert.ok(took < ENFORCEMENT_WAIT_MS + 1500, `but not longer than the bound (${took} ms)`);
        await fetchAdmin(platform, 'POST', `/organisations/${partner.orgId}/activate`);
      } finally {
        close();
      }
    });

    test('fail/revoking the credential drops its open stream; fail/more streams than allowed → 503', async () => {
      const extra = await platform.storage.transaction((tx) =>
        issueEnforcementCredential(tx, 'edge-2', meta()),
      );
      const state = new CountingState();
      const captured = capturingLogger();
      const follower = followFeed({
        platformUrl: platform.urls.public,
        ca,
        credential: extra.token,
        state,
        logger: captured.logger,
        retryMinMs: 20,
        retryMaxMs: 50,
      });
      try {
        await until(() => follower.status().connected, 'the stream');
        const res = await fetchAdmin(platform, 'DELETE', `/enforcement-credentials/${extra.id}`);
        assert.equal(res.status, 200);
        await until(
          () => captured.lines.some((l) => l.includes('refused the enforcement credential')),
          'the refusal',
        );
        assert.equal(follower.status().connected, false);
      } finally {
        follower.close();
        state.close();
      }
      const open: Array<() => void> = [];
      try {
        for (let i = 0; i < 4; i++) {
          await new Promise<void>((resolve, reject) => {
            const req = request(feedUrl(), { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
              assert.equal(res.statusCode, 200);
              resolve();
            });
            req.on('error', reject);
            req.end();
            open.push(() => req.destroy());
          });
        }
        const refused = await firstEvent(feedUrl(), ca, { authorization: `Bearer ${token}` });
        assert.equal(refused.status, 503);
        assert.equal(JSON.parse(refused.text).code, 'feed_busy');
      } finally {
        for (const close of open) close();
      }
      assert.ok(credentialId);
    });
  });
}

/** Opens the feed, waits for the snapshot and returns the stream id the platform names; nothing is acknowledged. */
function openRaw(url: string, ca: string, token: string): Promise<{ stream: string; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.once('data', () =>
        resolve({ stream: String(res.headers[FEED_STREAM_HEADER]), close: () => req.destroy() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

function post(url: string, ca: string, token: string, body: unknown): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

async function fetchAdmin(
  platform: PlatformHandle,
  method: string,
  path: string,
): Promise<{ status: number; body: string }> {
  const operator = readFileSync(join(platform.config.dataDir, 'operator-token'), 'utf8').trim();
  const ca = readFileSync(join(platform.config.dataDir, 'ca', 'bundle.pem'), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      `${platform.urls.public}/admin/v1${path}`,
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${operator}`,
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}
