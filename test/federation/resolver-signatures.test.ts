// Signatures are verified once per (JWT, key) and keys imported once, without ever accepting a statement under a
// key other than the one the check calls for.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ENTITY_CONFIGURATION_PATH,
  JWT_TYPES,
  MEDIA_TYPES,
  StatementError,
} from '../../src/federation/index.ts';
import { createVerificationMemo } from '../../src/federation/trust-chain/signature-cache.ts';
import { verifySignature } from '../../src/federation/trust-chain/verify-signature.ts';
import { assertFinding, assertOk, fetchChain, resolverFactory } from './support/resolver.ts';
import {
  createTestKey,
  jwksOf,
  signJwt,
  startTopology,
  type Topology,
  threeLevels,
} from './support/topology.ts';

let topology: Topology;
let resolvers: ReturnType<typeof resolverFactory>;

before(async () => {
  topology = await startTopology();
  resolvers = resolverFactory(topology);
});

after(async () => {
  await resolvers.close();
  await topology.close();
});

/** Counts crypto.subtle.verify and importKey calls (jose's webapi build makes one per verification and import). */
async function countCrypto<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; verifies: number; imports: number }> {
  const subtle = globalThis.crypto.subtle;
  const counts = { verifies: 0, imports: 0 };
  const saved = {
    verify: Object.getOwnPropertyDescriptor(subtle, 'verify'),
    importKey: Object.getOwnPropertyDescriptor(subtle, 'importKey'),
  };
  type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>;
  const counting = (original: Method, count: () => void): PropertyDescriptor => ({
    configurable: true,
    writable: true,
    value(this: unknown, ...args: unknown[]) {
      count();
      return original.apply(this, args);
    },
  });
  Object.defineProperty(
    subtle,
    'verify',
    counting(subtle.verify as unknown as Method, () => counts.verifies++),
  );
  Object.defineProperty(
    subtle,
    'importKey',
    counting(subtle.importKey as unknown as Method, () => counts.imports++),
  );
  try {
    return { value: await fn(), ...counts };
  } finally {
    for (const [name, descriptor] of Object.entries(saved)) {
      if (descriptor) Object.defineProperty(subtle, name, descriptor);
      else Reflect.deleteProperty(subtle, name);
    }
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof StatementError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const T = Math.floor(Date.now() / 1000);
const claims = { iss: 'https://a.example.org', sub: 'https://a.example.org', iat: T, exp: T + 60 };

describe('verifySignature with a memo and cached keys', () => {
  it('ok/a (JWT, key) pair is computed once; without a memo every call verifies, importing the key once', async () => {
    const key = await createTestKey('k1');
    const jwt = await signJwt(claims, JWT_TYPES.entityStatement, key);
    const memo = createVerificationMemo();
    const memoised = await countCrypto(async () => {
      await verifySignature(jwt, jwksOf(key), 'k1', memo);
      await verifySignature(jwt, jwksOf(key), 'k1', memo);
      // The same key stated elsewhere, in another object: same thumbprint, no new computation.
      await verifySignature(jwt, structuredClone(jwksOf(key)), 'k1', memo);
    });
    assert.equal(memoised.verifies, 1);
    assert.equal(memoised.imports, 1);
    const plain = await countCrypto(async () => {
      await verifySignature(jwt, jwksOf(key), 'k1');
      await verifySignature(jwt, jwksOf(key), 'k1');
    });
    assert.equal(plain.verifies, 2);
    assert.equal(plain.imports, 0, 'the imported key is kept');
  });

  it('fail/a JWT verified under one key is refused under another key with the same kid', async () => {
    const key = await createTestKey('shared-kid');
    const impostor = await createTestKey('shared-kid');
    const jwt = await signJwt(claims, JWT_TYPES.entityStatement, key);
    const memo = createVerificationMemo();
    await verifySignature(jwt, jwksOf(key), 'shared-kid', memo);
    await rejectsWith(verifySignature(jwt, jwksOf(impostor), 'shared-kid', memo), 'bad_signature');
    // And the other way round: what failed is not remembered as verified, what verified still does.
    await verifySignature(jwt, jwksOf(key), 'shared-kid', memo);
  });

  it('fail/the verified signature under another header or payload', async () => {
    const key = await createTestKey('k1');
    const jwt = await signJwt(claims, JWT_TYPES.entityStatement, key);
    const memo = createVerificationMemo();
    await verifySignature(jwt, jwksOf(key), 'k1', memo);
    const [header, , signature] = jwt.split('.');
    const payload = Buffer.from(JSON.stringify({ ...claims, sub: 'https://b.example.org' })).toString(
      'base64url',
    );
    await rejectsWith(
      verifySignature(`${header}.${payload}.${signature}`, jwksOf(key), 'k1', memo),
      'bad_signature',
    );
    const other = Buffer.from(JSON.stringify({ alg: 'ES256', kid: 'k1', typ: 'jwt' })).toString('base64url');
    await rejectsWith(
      verifySignature(`${other}.${jwt.split('.')[1]}.${signature}`, jwksOf(key), 'k1', memo),
      'bad_signature',
    );
  });

  it('fail/the same key material under another kid, alg or use is not selected, memo or not', async () => {
    const key = await createTestKey('k1');
    const jwt = await signJwt(claims, JWT_TYPES.entityStatement, key);
    const memo = createVerificationMemo();
    await verifySignature(jwt, jwksOf(key), 'k1', memo);
    const as = (extra: Record<string, unknown>) => ({ keys: [{ ...key.publicJwk, ...extra }] });
    await rejectsWith(verifySignature(jwt, as({ kid: 'k2' }), 'k1', memo), 'unknown_kid');
    await rejectsWith(verifySignature(jwt, as({ alg: 'ES384' }), 'k1', memo), 'unknown_kid');
    await rejectsWith(verifySignature(jwt, as({ use: 'enc' }), 'k1', memo), 'unknown_kid');
    await rejectsWith(verifySignature(jwt, as({ key_ops: ['encrypt'] }), 'k1', memo), 'unknown_kid');
  });
});

describe('resolver: one verification per (statement, key), one import per key', () => {
  it('ok/a cold resolution verifies each of its 5 statements once; validating its chain again verifies none', async () => {
    const { leaf, anchor } = await threeLevels(topology);
    const resolver = resolvers.create([anchor]);
    // Leaf, Intermediate and Trust Anchor ECs, the two Subordinate Statements. Validation checks ES[0] against
    // its own keys and the Intermediate's statement of them, and every statement again: all the same pairs.
    const cold = await countCrypto(() => resolver.resolve(leaf.entityId, { forceRefresh: true }));
    assertOk(cold.value);
    assert.equal(cold.verifies, 5);
    assert.equal(cold.imports, 3, 'the leaf’s, the Intermediate’s and the Trust Anchor’s key');
    // Statements are signed anew on each request (ECDSA: new signatures), so a forced resolution verifies them
    // again, with the keys already imported.
    const again = await countCrypto(() => resolver.resolve(leaf.entityId, { forceRefresh: true }));
    assertOk(again.value);
    assert.equal(again.verifies, 5);
    assert.equal(again.imports, 0);
    const validated = await countCrypto(() =>
      resolver.validateChain(again.value.ok ? again.value.entity.trustChain : []),
    );
    assertOk(validated.value);
    assert.equal(validated.verifies, 0);
  });

  it('fail/a superior stating another key under the leaf’s kid: the leaf’s self-signature, verified before, does not carry over (§10.2)', async () => {
    const { intermediate, leaf, anchor } = await threeLevels(topology);
    const fetcher = resolvers.fetcher();
    // The leaf serves one fixed configuration JWT, so the memo holds exactly this statement with the leaf's key.
    leaf.configurationJwt = (
      await fetcher.fetch({
        url: `${leaf.entityId}${ENTITY_CONFIGURATION_PATH}`,
        accept: MEDIA_TYPES.entityStatement,
      })
    ).body;
    const resolver = resolvers.create([anchor]);
    assertOk(await resolver.resolve(leaf.entityId));
    const impostor = await createTestKey(leaf.signingKey.kid);
    intermediate.subordinates.get(leaf.entityId)!.jwks = () => jwksOf(impostor);
    const result = await resolver.resolve(leaf.entityId, { forceRefresh: true });
    const f = assertFinding(result, 'bad_signature', /§10\.2/);
    assert.match(f.message, /ES\[0\] with ES\[1\]\.jwks/);
  });

  it('fail/a supplied chain whose Subordinate Statement is signed by a key its superior does not state, after the genuine chain validated', async () => {
    const { ta, intermediate, leaf, anchor } = await threeLevels(topology);
    const resolver = resolvers.create([anchor]);
    const chain = await fetchChain(resolvers.fetcher(), [leaf, intermediate, ta]);
    assertOk(await resolver.validateChain(chain));
    // The same statement about the leaf, signed by a rogue key published under the Intermediate's kid.
    const rogue = await createTestKey(intermediate.signingKey.kid);
    const [, payload] = chain[1]!.split('.');
    const forged = await signJwt(
      JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>,
      JWT_TYPES.entityStatement,
      rogue,
    );
    assertFinding(
      await resolver.validateChain([chain[0]!, forged, chain[2]!, chain[3]!]),
      'bad_signature',
      /§10\.2/,
    );
    assertOk(await resolver.validateChain(chain));
  });

  it('fail/the trust anchor’s configuration is checked against the configured keys, not the ones it verified with when fetched', async () => {
    const { ta, leaf } = await threeLevels(topology);
    // Configured under the Trust Anchor's kid: a key it never used. The fetched EC verifies with its own jwks.
    const configured = await createTestKey(ta.signingKey.kid);
    const resolver = resolvers.create([{ entityId: ta.entityId, jwks: jwksOf(configured) }]);
    assertFinding(await resolver.resolve(leaf.entityId), 'bad_signature', /§10\.2/);
  });
});
