import {
  createMemoryLivenessState,
  type FeedFollower,
  followFeed,
  type LivenessState,
} from '../../src/gateway/index.ts';
import {
  createFeedHub,
  createLivenessState,
  issueEnforcementCredential,
  registerFeedRoute,
} from '../../src/platform/enforcement-feed/index.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { installCa } from '../support/ca-fixture.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { type EngineTarget, engineTargets } from '../support/engines.ts';
import { runLivenessStateContract } from './contracts/liveness-state.contract.ts';
import { capturingLogger, serverTlsFrom } from './fixture.ts';

const targets = await engineTargets();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** In-process: the platform's own gateway, fed by the storage's change feed as transactions commit. */
async function inProcess(target: EngineTarget) {
  const storage = await seededStorage(target);
  const ca = await installCa(storage);
  const states: LivenessState[] = [];
  return {
    storage,
    ca,
    async follow() {
      const state = await createLivenessState(storage);
      states.push(state);
      return { state, settle: () => storage.feed.sync() };
    },
    async close() {
      for (const state of states) state.close();
      await storage.close();
    },
  };
}

/** Over HTTPS: a standalone gateway following `GET /enforcement/v1/feed` with an enforcement credential. */
async function overHttps(target: EngineTarget) {
  const storage = await seededStorage(target);
  const ca = await installCa(storage);
  const { logger } = capturingLogger();
  await storage.feed.start();
  const hub = createFeedHub({ storage, clock: systemClock, logger });
  const app = createHttpsServer({ tls: await serverTlsFrom(ca), logger });
  registerFeedRoute(app, { storage, hub });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const { token } = await storage.transaction((tx) =>
    issueEnforcementCredential(tx, 'contract', { actor: 'operator:test', now: new Date() }),
  );
  const followers: Array<{ state: LivenessState; follower: FeedFollower }> = [];
  return {
    storage,
    ca,
    async follow() {
      const state = createMemoryLivenessState();
      const follower = followFeed({
        platformUrl: `https://127.0.0.1:${port}`,
        ca: ca.chainPem,
        credential: token,
        state,
        logger,
      });
      followers.push({ state, follower });
      const settle = async () => {
        const seq = await storage.feed.currentSeq();
        await until(() => follower.status().seq >= seq, `the follower to apply seq ${seq}`);
      };
      await settle();
      return { state, settle };
    },
    async close() {
      for (const { state, follower } of followers) {
        follower.close();
        state.close();
      }
      hub.close();
      await app.close();
      await storage.close();
    },
  };
}

for (const target of targets) {
  runLivenessStateContract({
    name: `in-process on ${target.name}`,
    skip: target.skip,
    create: () => inProcess(target),
    cleanup: () => target.cleanup(),
  });
  runLivenessStateContract({
    name: `over HTTPS on ${target.name}`,
    skip: target.skip,
    create: () => overHttps(target),
    cleanup: () => target.cleanup(),
  });
}
