import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createOrganisation } from '../../src/directory/index.ts';
import { createMemoryLivenessState } from '../../src/gateway/index.ts';
import { refreshExternalCa, registerExternalCa, removeExternalCa } from '../../src/pki/index.ts';
import { takeEnforcementSnapshot } from '../../src/platform/enforcement-feed/take-snapshot.ts';
import type { Storage } from '../../src/storage/index.ts';
import { seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { CrlServer, ExternalCa } from '../support/external-ca.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

let storage: Storage;
let crls: CrlServer;
const fetcher = testPartnerFetcher({ allowLoopback: true, allowPlainHttp: true });
const meta = () => ({ actor: 'operator:test', now: new Date() });

before(async () => {
  const sqlite = (await engineTargets()).find((t) => t.name === 'sqlite');
  assert.ok(sqlite);
  storage = await seededStorage(sqlite);
  crls = await CrlServer.start();
});

after(async () => {
  await crls?.close();
  await fetcher.close();
  await storage?.close();
});

/**
 * What every enforcement point (the in-process gateway, `accredit gateway` over SSE, the Lambda door polling
 * `/enforcement/v1/changes`) starts from: the snapshot lists the registered CAs with their revocation state,
 * and the feed entries that follow keep the same state current.
 */
test('ok/the enforcement snapshot and the feed carry registered CAs and their CRL state', async () => {
  const bank = await ExternalCa.create('CN=Snapshot Bank CA,O=Bank', { crlUrl: crls.url });
  const orgId = await storage.transaction((tx) => createOrganisation(tx, { name: 'Snapshot Bank' }, meta()));
  const ca = await storage.transaction((tx) =>
    registerExternalCa(tx, { orgId, certificatePem: bank.certPem }, meta()),
  );
  let snapshot = await takeEnforcementSnapshot(storage, new Date());
  assert.deepEqual(
    snapshot.externalCas?.map((c) => [c.id, c.orgId, c.staleAfter]),
    [[ca.id, orgId, null]],
    'never fetched: stale from the start',
  );
  crls.serve(await bank.crl(['0BAD']));
  await refreshExternalCa(storage, fetcher, ca.id, new Date());
  snapshot = await takeEnforcementSnapshot(storage, new Date());
  const entry = snapshot.externalCas?.[0];
  assert.deepEqual(entry?.revokedSerials, ['BAD']);
  assert.equal(entry?.spkiSha256, ca.spki_sha256);
  assert.ok(entry?.staleAfter && Date.parse(entry.staleAfter) > Date.now());

  // A state loaded from the snapshot, then following the feed: the removal reaches it.
  const liveness = createMemoryLivenessState();
  try {
    liveness.replace(snapshot);
    assert.equal(liveness.externalCas()[0]?.pinMatches, true);
    assert.equal(liveness.externalCas()[0]?.revokedSerials.has('BAD'), true);
    const seen: string[] = [];
    const unsubscribe = storage.feed.subscribe((change) => {
      seen.push(change.kind);
      liveness.apply(change);
    });
    await storage.feed.start(snapshot.seq);
    await storage.transaction((tx) => removeExternalCa(tx, orgId, ca.id, meta()));
    await storage.feed.sync();
    unsubscribe();
    assert.ok(seen.includes('external_ca.changed'));
    assert.equal(liveness.externalCas().length, 0);
  } finally {
    liveness.close();
  }
});
