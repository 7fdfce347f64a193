import assert from 'node:assert/strict';
import { createServer, get, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, type TestContext, test } from 'node:test';
import { followFeed, MemoryLivenessState } from '../../src/gateway/index.ts';
import { createFeedHub, type FeedHubOptions } from '../../src/platform/enforcement-feed/index.ts';
import { CHANGE_KINDS, publishChange, type Storage } from '../../src/storage/index.ts';
import { capturingLogger } from '../gateway/fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';

const targets = await engineTargets();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function publish(
  storage: Storage,
  entityId: string,
  payload: Record<string, unknown> = { status: 'suspended' },
) {
  return storage.transaction((tx) =>
    publishChange(tx, { kind: CHANGE_KINDS.appStatus, entityId, payload }, new Date()),
  );
}

/** The hub behind a plain HTTP server (TLS and authentication are the route's, tested with the platform). */
async function serve(t: TestContext, storage: Storage, options: Partial<FeedHubOptions> = {}) {
  await storage.feed.start();
  const hub = createFeedHub({
    storage,
    clock: () => new Date(),
    logger: capturingLogger().logger,
    ...options,
  });
  const server: Server = createServer((req, res) => {
    const after = new URL(req.url ?? '/', 'http://x').searchParams.get('after');
    void hub.open(res, {
      credentialId: 'edge',
      after: after === null ? undefined : Number(after),
      heartbeatMs: 60_000,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    hub.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { hub, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

function firstBlock(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n\n')) {
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', reject);
  });
}

for (const target of targets) {
  describe(`feed hub: ${target.name}`, { skip: target.skip, timeout: 60_000 }, () => {
    after(() => target.cleanup());

    test('ok/resumable within the replay window; fail/behind it, a snapshot instead of a gap', async (t) => {
      const storage = await seededStorage(target);
      t.after(() => storage.close());
      const { url } = await serve(t, storage, { replayCapacity: 2 });
      const first = (await publish(storage, 'a')).seq;
      await publish(storage, 'b');
      const third = (await publish(storage, 'c')).seq;
      // Only the last two are held: after `first` the hub still has every later change, before it not.
      assert.match(await firstBlock(`${url}?after=${first}`), /^: resumed\n\n/);
      assert.match(await firstBlock(`${url}?after=${first - 1}`), /^event: snapshot\nid: (\d+)\n/);
      assert.match(await firstBlock(`${url}?after=${third}`), /^: resumed\n\n/);
    });

    test('fail/a client that stops reading is dropped, and publishing never waits for it', async (t) => {
      if (target.name !== 'sqlite') return t.skip('the hub is engine-independent; once is enough');
      const storage = await seededStorage(target);
      t.after(() => storage.close());
      const { hub, url } = await serve(t, storage, { maxBufferedBytes: 64 * 1024 });
      const closed = new Promise<void>((resolve, reject) => {
        const req = get(url, (res: IncomingMessage) => {
          res.pause();
          res.socket.pause();
          res.on('close', () => resolve());
        });
        req.on('error', () => resolve());
        setTimeout(() => reject(new Error('the slow client was never dropped')), 30_000).unref();
      });
      await sleep(100);
      assert.equal(hub.clients(), 1);
      const big = 'x'.repeat(64 * 1024);
      const started = Date.now();
      for (let i = 0; i < 300 && hub.clients() > 0; i++)
        await publish(storage, `app-${i}`, { status: 'active', big });
      assert.equal(hub.clients(), 0, 'dropped once it fell behind');
      assert.ok(Date.now() - started < 20_000);
      await closed;
    });

    test('fail/before its first snapshot a follower is stale (every request refused)', async (t) => {
      const state = new MemoryLivenessState();
      const follower = followFeed({
        platformUrl: 'https://127.0.0.1:1',
        ca: '',
        credential: 'acc_ep_x',
        state,
        logger: capturingLogger().logger,
        retryMaxMs: 50,
      });
      t.after(() => {
        follower.close();
        state.close();
      });
      assert.match(follower.staleness() ?? '', /no snapshot/);
      await sleep(200);
      assert.match(follower.staleness() ?? '', /no snapshot/);
      assert.equal(follower.status().fresh, false);
    });
  });
}
