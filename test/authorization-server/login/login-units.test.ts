import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { loadClientMetadata } from '../../../src/authorization-server/client-metadata.ts';
import { checkCsrfToken, csrfKey, csrfToken } from '../../../src/authorization-server/login/csrf.ts';
import { escapeHtml, html } from '../../../src/authorization-server/login/html.ts';
import {
  accountStore,
  grantStore,
  normaliseUsername,
} from '../../../src/authorization-server/login/index.ts';
import { cspFor } from '../../../src/authorization-server/login/interactions.ts';
import {
  ACCOUNT_LOCKOUT,
  AddressThrottle,
  lockSeconds,
} from '../../../src/authorization-server/login/lockout.ts';
import {
  hashPassword,
  needsRehash,
  PasswordPolicyError,
  verifyPassword,
} from '../../../src/authorization-server/login/password.ts';
import {
  checkTotp,
  newTotpSecret,
  openTotpSecret,
  sealTotpSecret,
  totpCode,
} from '../../../src/authorization-server/login/totp.ts';
import { createApplication, createOrganisation } from '../../../src/directory/index.ts';
import { openStorage } from '../../../src/storage/index.ts';
import { KEK } from '../../support/ca-fixture.ts';
import { seededStorage } from '../../support/directory-fixture.ts';
import { engineTargets } from '../../support/engines.ts';

describe('passwords: argon2id with OWASP parameters', () => {
  test('ok/a hash is a PHC argon2id string that verifies the password and nothing else', async () => {
    const hash = await hashPassword('correct horse battery');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await verifyPassword('correct horse battery', hash), true);
    assert.equal(await verifyPassword('correct horse batterY', hash), false);
    assert.notEqual(await hashPassword('correct horse battery'), hash, 'a fresh salt every time');
    assert.equal(needsRehash(hash), false);
  });

  test('ok/NFC and NFD spellings of one password are the same password', async () => {
    const hash = await hashPassword('caf\u00e9-au-lait');
    assert.equal(await verifyPassword('cafe\u0301-au-lait', hash), true);
  });

  test('err/too short or too long passwords are refused; malformed or weaker hashes do not verify or need a rehash', async () => {
    await assert.rejects(hashPassword('short'), PasswordPolicyError);
    await assert.rejects(hashPassword('x'.repeat(1025)), PasswordPolicyError);
    assert.equal(await verifyPassword('anything at all', 'not-a-hash'), false);
    assert.equal(
      await verifyPassword(
        'anything at all',
        '$argon2i$v=19$m=19456,t=2,p=1$aaaaaaaaaaaaaaaaaaaaaa$aaaaaaaaaaaaaaaaaaaaaa',
      ),
      false,
    );
    assert.equal(
      needsRehash('$argon2id$v=19$m=4096,t=1,p=1$aaaaaaaaaaaaaaaaaaaaaa$aaaaaaaaaaaaaaaaaaaaaa'),
      true,
    );
  });
});

describe('TOTP (RFC 6238)', () => {
  const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // RFC 6238 Appendix B seed "12345678901234567890"
  test('ok/the RFC 6238 Appendix B SHA-1 vectors (6-digit truncation)', () => {
    assert.equal(totpCode(secret, new Date(59_000)), '287082');
    assert.equal(totpCode(secret, new Date(1_111_111_109_000)), '081804');
    assert.equal(totpCode(secret, new Date(1_234_567_890_000)), '005924');
  });

  test('ok/a code is accepted within one step of drift; err/two steps off, malformed, or replayed is refused', () => {
    const at = new Date(1_234_567_890_000);
    const step = Math.floor(at.getTime() / 30_000);
    assert.equal(checkTotp(secret, totpCode(secret, at), at, null), step);
    assert.equal(checkTotp(secret, totpCode(secret, new Date(at.getTime() - 30_000)), at, null), step - 1);
    assert.equal(checkTotp(secret, totpCode(secret, new Date(at.getTime() - 60_000)), at, null), undefined);
    assert.equal(checkTotp(secret, '12345', at, null), undefined);
    assert.equal(checkTotp(secret, 'abcdef', at, null), undefined);
    // §5.2: a verifier MUST NOT accept the second attempt of the same OTP.
    assert.equal(checkTotp(secret, totpCode(secret, at), at, step), undefined);
  });

  test('ok/a sealed secret opens only with the same KEK and account; err/otherwise', () => {
    const fresh = newTotpSecret();
    assert.match(fresh, /^[A-Z2-7]{32}$/);
    const sealed = sealTotpSecret(fresh, KEK, 'acct_1');
    assert.doesNotMatch(sealed, new RegExp(fresh));
    assert.equal(openTotpSecret(sealed, KEK, 'acct_1'), fresh);
    assert.throws(() => openTotpSecret(sealed, KEK, 'acct_2'));
    assert.throws(() => openTotpSecret(sealed, `${KEK}x`, 'acct_1'));
  });
});

describe('lockout with backoff', () => {
  test('ok/free attempts, then doubling locks up to the ceiling', () => {
    assert.equal(lockSeconds(ACCOUNT_LOCKOUT, 4), 0);
    assert.equal(lockSeconds(ACCOUNT_LOCKOUT, 5), 30);
    assert.equal(lockSeconds(ACCOUNT_LOCKOUT, 6), 60);
    assert.equal(lockSeconds(ACCOUNT_LOCKOUT, 50), 900);
  });

  test('ok/an address is locked after its free attempts and unlocked by time or a success', () => {
    const throttle = new AddressThrottle({ freeAttempts: 2, baseSeconds: 10, maxSeconds: 60 });
    const t0 = new Date('2026-01-01T00:00:00Z');
    throttle.fail('192.0.2.1', t0);
    assert.equal(throttle.locked('192.0.2.1', t0), false);
    throttle.fail('192.0.2.1', t0);
    assert.equal(throttle.locked('192.0.2.1', t0), true);
    assert.equal(throttle.locked('192.0.2.2', t0), false, 'per address');
    assert.equal(throttle.locked('192.0.2.1', new Date(t0.getTime() + 10_000)), false);
    throttle.succeed('192.0.2.1');
    throttle.fail('192.0.2.1', t0);
    assert.equal(throttle.locked('192.0.2.1', t0), false);
  });
});

describe('CSRF tokens and HTML escaping', () => {
  test('ok/a token is bound to its interaction and purpose; err/another interaction’s, another form’s, or none is refused', () => {
    const key = csrfKey(KEK);
    const token = csrfToken(key, 'uid-1', 'login');
    assert.equal(checkCsrfToken(key, 'uid-1', 'login', token), true);
    assert.equal(checkCsrfToken(key, 'uid-2', 'login', token), false);
    assert.equal(checkCsrfToken(key, 'uid-1', 'consent', token), false);
    assert.equal(checkCsrfToken(key, 'uid-1', 'login', undefined), false);
    assert.equal(checkCsrfToken(key, 'uid-1', 'login', ''), false);
    assert.equal(checkCsrfToken(csrfKey(`${KEK}x`), 'uid-1', 'login', token), false);
  });

  test('ok/interpolations are escaped for text and attributes; html fragments and lists compose', () => {
    assert.equal(
      escapeHtml(`<a href="x" onclick='y'>&\`=`),
      '&lt;a href&#61;&quot;x&quot; onclick&#61;&#39;y&#39;&gt;&amp;&#96;&#61;',
    );
    const name = '"><script>alert(1)</script>';
    assert.equal(
      html`<input value="${name}"><ul>${['<b>', html`<i>ok</i>`]}</ul>${undefined}`.value,
      '<input value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"><ul>&lt;b&gt;<i>ok</i></ul>',
    );
  });

  test('ok/the CSP names the exact redirect URI for form-action; err/a value that could inject a directive is dropped', () => {
    assert.match(
      cspFor('https://client.example/cb?x=1'),
      /form-action 'self' https:\/\/client\.example\/cb;/,
    );
    const base =
      "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    assert.equal(cspFor("https://a.example/cb; script-src 'unsafe-inline'"), base);
    assert.equal(cspFor(undefined), base);
    assert.equal(cspFor('javascript:alert(1)'), base);
  });
});

describe('usernames', () => {
  test('ok/NFC and case-folded; err/empty or control characters', () => {
    assert.equal(normaliseUsername('  ALICE '), 'alice');
    assert.equal(normaliseUsername('Jose\u0301'), 'jos\u00e9');
    assert.throws(() => normaliseUsername('   '), /username/);
    assert.throws(() => normaliseUsername('a\u0000b'), /username/);
    assert.throws(() => normaliseUsername('a\u200bb'), /username/);
  });
});

for (const target of await engineTargets()) {
  describe(`account store and remembered grants: ${target.name}`, { skip: target.skip }, () => {
    after(() => target.cleanup());

    test('ok/add, authenticate, lockout, disable, TOTP, remove; err/duplicates and enumeration-safe failures', async () => {
      const storage = await openStorage(target.freshOptions());
      try {
        const accounts = accountStore(storage.db, KEK);
        let now = new Date('2026-03-01T00:00:00Z');
        const alice = await accounts.add({ username: 'Alice', password: 'correct horse battery' }, now);
        assert.equal(alice.username, 'alice');
        await assert.rejects(accounts.add({ username: 'ALICE', password: 'another password' }, now), /taken/);
        assert.deepEqual(
          await accounts.authenticate({ username: 'aLiCe', password: 'correct horse battery' }, now),
          {
            ok: true,
            accountId: alice.id,
          },
        );
        assert.deepEqual(await accounts.authenticate({ username: 'ghost', password: 'x' }, now), {
          ok: false,
          reason: 'unknown',
        });
        // Five failures lock the account: even the right password is refused until the lock lapses.
        for (let i = 0; i < 5; i++) {
          assert.equal(
            (await accounts.authenticate({ username: 'alice', password: 'wrong guess' }, now)).ok,
            false,
          );
        }
        assert.deepEqual(
          await accounts.authenticate({ username: 'alice', password: 'correct horse battery' }, now),
          {
            ok: false,
            reason: 'locked',
          },
        );
        now = new Date(now.getTime() + 31_000);
        assert.equal(
          (await accounts.authenticate({ username: 'alice', password: 'correct horse battery' }, now)).ok,
          true,
        );

        await accounts.setStatus('alice', 'disabled', now);
        assert.deepEqual(
          await accounts.authenticate({ username: 'alice', password: 'correct horse battery' }, now),
          {
            ok: false,
            reason: 'disabled',
          },
        );
        await accounts.setStatus('alice', 'active', now);

        const { secret, uri } = await accounts.enableTotp('alice', 'Accredit', now);
        assert.match(uri, /^otpauth:\/\/totp\/Accredit:alice\?/);
        const row = await storage.db
          .selectFrom('accounts')
          .select('totp_secret_enc')
          .executeTakeFirstOrThrow();
        assert.ok(row.totp_secret_enc && !row.totp_secret_enc.includes(secret), 'sealed at rest');
        assert.equal(
          (await accounts.authenticate({ username: 'alice', password: 'correct horse battery' }, now)).ok,
          false,
        );
        const code = totpCode(secret, now);
        assert.equal(
          (
            await accounts.authenticate(
              { username: 'alice', password: 'correct horse battery', totp: code },
              now,
            )
          ).ok,
          true,
        );
        assert.equal(
          (
            await accounts.authenticate(
              { username: 'alice', password: 'correct horse battery', totp: code },
              now,
            )
          ).ok,
          false,
          'a TOTP code is accepted once',
        );
        await accounts.disableTotp('alice', now);
        await accounts.setPassword('alice', 'a brand new password', now);
        assert.equal(
          (await accounts.authenticate({ username: 'alice', password: 'a brand new password' }, now)).ok,
          true,
        );

        const grants = grantStore(storage);
        await grants.remember(
          {
            grant_id: 'g1',
            account_id: alice.id,
            client_id: 'c1',
            scope: 'accounts:read',
            expires_at: '2026-04-01T00:00:00Z',
          },
          now,
        );
        assert.equal(await grants.latest(alice.id, 'c1', now), 'g1');
        assert.equal(
          await grants.latest(alice.id, 'c1', new Date('2026-04-02T00:00:00Z')),
          undefined,
          'expired',
        );
        assert.equal((await grants.list({ account: alice.id }, now))[0]?.username, 'alice');
        assert.equal(await grants.revokeAllOf(alice.id), 1);
        assert.equal(await grants.revoke('g1'), false);
        await accounts.remove('alice');
        await assert.rejects(accounts.get('alice'), /no account/);
      } finally {
        await storage.close();
      }
    });
  });
}

describe('manual clients of the code flow (directory validation, client metadata)', () => {
  test('ok/redirect URIs enable the code and refresh grants; err/code grant without redirect URIs, unknown grants, http URIs', async () => {
    const [target] = (await engineTargets()).filter((t) => t.name === 'sqlite');
    const storage = await seededStorage(target!);
    try {
      const meta = { actor: 'operator:test', now: new Date() };
      const org = await storage.transaction((tx) => createOrganisation(tx, { name: 'Acme Bank' }, meta));
      const create = (name: string, metadata: Record<string, unknown>) =>
        storage.transaction((tx) =>
          createApplication(
            tx,
            { orgId: org, name, roles: ['partner_reader'], authMethod: 'tls_client_auth', metadata },
            meta,
          ),
        );
      await assert.rejects(create('a', { grant_types: ['authorization_code'] }), /redirect_uris/);
      await assert.rejects(
        create('b', { grant_types: ['implicit'], redirect_uris: ['https://x.example/cb'] }),
        /grant_types/,
      );
      await assert.rejects(
        create('c', { grant_types: ['authorization_code'], redirect_uris: ['http://x.example/cb'] }),
        /https/,
      );
      const id = await create('d', {
        grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
        redirect_uris: ['https://x.example/cb'],
      });
      const client = await loadClientMetadata(storage, id);
      assert.deepEqual(client?.grant_types, ['client_credentials', 'authorization_code', 'refresh_token']);
      assert.deepEqual(client?.response_types, ['code']);
      assert.deepEqual(client?.redirect_uris, ['https://x.example/cb']);
      const plain = await loadClientMetadata(storage, await create('e', {}));
      assert.deepEqual(plain?.grant_types, ['client_credentials']);
      assert.deepEqual(plain?.redirect_uris, []);
    } finally {
      await storage.close();
      await target?.cleanup();
    }
  });
});
