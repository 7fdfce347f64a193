import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encodeCursor } from '../../src/shared/page-cursor.ts';
import type { Storage } from '../../src/storage/index.ts';
import {
  type ApiAnswer,
  type ConsolePlatform,
  call,
  makeMember,
  makeOperator,
  sessionFor,
  startConsolePlatform,
  type TestSession,
} from '../console/support/console-platform.ts';
import { engineTargets } from '../support/engines.ts';
import { ExternalCa } from '../support/external-ca.ts';

/**
 * Issue 16: the security-object lists (webhooks and deliveries, SSF receivers, software statements, initial
 * access tokens, enforcement credentials, external CAs, federation subordinates and trust marks) answer keyset
 * pages with filters, over HTTP, on SQLite and PostgreSQL.
 */
const N = 7;
const PAGE = 3;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ndjson = (records: unknown[]) => `${records.map((r) => JSON.stringify(r)).join('\n')}\n`;
const partner = (key: string) => ({
  external_ref: `lists-${key}`,
  name: `Lists Partner ${key}`,
  roles: ['partner_reader'],
  contacts: [{ kind: 'technical', name: 'Tech', email: `tech@lists-${key}.example` }],
  applications: [{ external_ref: 'app', name: 'Payments', environment: 'production' }],
});

const targets = await engineTargets();

for (const target of targets) {
  describe(`security-object lists over HTTP: pages and filters: ${target.name}`, {
    skip: target.skip,
  }, () => {
    let cp: ConsolePlatform;
    let operator: TestSession;
    let storage: Storage;
    const now = Date.now();
    // Pairs of rows share a creation time: the id breaks the tie, so a page boundary inside a pair must hold.
    const createdAt = (i: number) => new Date(now - HOUR + Math.floor(i / 2) * 1000).toISOString();
    const org: Record<'A' | 'B', { id: string; clientId: string }> = {
      A: { id: '', clientId: '' },
      B: { id: '', clientId: '' },
    };

    /** Every page of `path` at `limit` rows: asserts each item appears once and returns the keys in order. */
    async function walk(path: string, key: string, session = operator, limit = PAGE): Promise<string[]> {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const sep = path.includes('?') ? '&' : '?';
        const page: ApiAnswer = await call(
          cp,
          session,
          'GET',
          `${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        assert.equal(page.status, 200, `${path}: ${page.text}`);
        assert.ok(page.json.items.length <= limit);
        assert.ok('next_cursor' in page.json, `${path} answers next_cursor`);
        for (const item of page.json.items) seen.push(String(item[key]));
        cursor = page.json.next_cursor;
        if (cursor !== null) assert.equal(page.json.items.length, limit, 'only the last page is short');
        assert.ok(++pages <= 100, 'paging ends');
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length, `${path}: no item twice: ${seen.join(' ')}`);
      return seen;
    }
    const sorted = (keys: string[]) => [...keys].sort();
    const ids = (prefix: string, pick: (i: number) => boolean = () => true) =>
      Array.from({ length: N }, (_, i) => i)
        .filter(pick)
        .map((i) => `${prefix}-${i}`);

    before(async () => {
      const options = target.freshOptions();
      cp = await startConsolePlatform({
        ...(target.name === 'postgres'
          ? { ACCREDIT_DATABASE_URL: options.url, ACCREDIT_DATABASE_SCHEMA: options.schema ?? '' }
          : {}),
      });
      storage = cp.platform.storage;
      operator = await sessionFor(cp, await makeOperator(cp, 'administrator'));
      const imported = await call(
        cp,
        operator,
        'POST',
        '/admin/v1/import',
        ndjson([partner('a'), partner('b')]),
        { 'content-type': 'application/x-ndjson' },
      );
      assert.equal(imported.status, 200, imported.text);
      for (const k of ['A', 'B'] as const) {
        const orgs = await call(
          cp,
          operator,
          'GET',
          `/admin/v1/organisations?name_prefix=Lists Partner ${k}`,
        );
        org[k].id = orgs.json.items[0].id;
        const apps = await call(cp, operator, 'GET', `/admin/v1/applications?org_id=${org[k].id}`);
        org[k].clientId = apps.json.items[0].client_id;
      }
      await seed();
    });
    after(async () => {
      await cp?.stop();
      await target.cleanup();
    });

    async function seed(): Promise<void> {
      const db = storage.db;
      const later = new Date(now + 365 * DAY).toISOString();
      const earlier = new Date(now - DAY).toISOString();
      for (let i = 0; i < N; i++) {
        const at = createdAt(i);
        await db
          .insertInto('webhook_subscriptions')
          .values({
            id: `wh-${i}`,
            url: `https://hooks-${i}.example/receive`,
            event_types: JSON.stringify(
              i === 1 ? ['*'] : i % 3 === 0 ? ['certificate.revoked'] : ['organisation.suspended'],
            ),
            org_id: i % 2 === 0 ? org.A.id : null,
            scheme: 'jws',
            secret_enc: null,
            previous_secret_enc: null,
            previous_secret_until: null,
            description: null,
            status: i % 3 === 2 ? 'disabled' : 'active',
            created_by: 'test',
            created_at: at,
            updated_at: at,
          })
          .execute();
        const statuses = ['delivered', 'dead', 'cancelled', 'pending'] as const;
        for (const [sub, prefix] of [
          ['wh-0', 'd0'],
          ['wh-3', 'd3'],
        ] as const) {
          await db
            .insertInto('webhook_deliveries')
            .values({
              id: `${prefix}-${i}`,
              subscription_id: sub,
              event_id: `${prefix}-event-${i}`,
              event_type: i % 2 === 0 ? 'certificate.revoked' : 'webhook.ping',
              payload: '{}',
              status: statuses[i % 4] as (typeof statuses)[number],
              attempts: 1,
              // Pending ones are not due while the test runs: the dispatcher leaves them alone.
              next_attempt_at: later,
              claim_token: null,
              window_started_at: at,
              last_status_code: null,
              last_error: null,
              created_at: at,
              updated_at: new Date().toISOString(),
              delivered_at: null,
            })
            .execute();
        }
        await db
          .insertInto('ssf_receivers')
          .values({
            id: `ssf-${i}`,
            name: `receiver-${i}`,
            org_id: i % 2 === 0 ? org.A.id : null,
            token_hash: `ssf-hash-${i}`,
            created_by: 'test',
            created_at: at,
            revoked_at: i % 3 === 0 ? at : null,
          })
          .execute();
        await db
          .insertInto('enforcement_credentials')
          .values({
            id: `ep-${i}`,
            name: `edge-${i}`,
            token_hash: `ep-hash-${i}`,
            created_by: 'test',
            created_at: at,
            revoked_at: i % 3 === 0 ? at : null,
          })
          .execute();
        for (const k of ['A', 'B'] as const) {
          await db
            .insertInto('software_statements')
            .values({
              jti: `ssa-${k}-${i}`,
              software_id: org[k].clientId,
              org_id: org[k].id,
              issued_at: at,
              // i=0..2 issued (i=2 already expired), 3..4 used, 5..6 revoked.
              expires_at: i === 2 ? earlier : later,
              status: i < 3 ? 'issued' : i < 5 ? 'used' : 'revoked',
              used_at: null,
              used_by_client_id: null,
              created_at: at,
            })
            .execute();
        }
        await db
          .insertInto('initial_access_tokens')
          .values({
            id: `iat-${i}`,
            token_hash: `iat-hash-${i}`,
            org_id: i % 2 === 0 ? org.A.id : org.B.id,
            roles: '["partner_reader"]',
            created_by: 'test',
            created_at: at,
            // 0,1 active; 2 expired; 3 exhausted; 4 revoked; 5,6 active.
            expires_at: i === 2 ? earlier : later,
            max_uses: 2,
            used_count: i === 3 ? 2 : 1,
            revoked_at: i === 4 ? at : null,
          })
          .execute();
        await db
          .insertInto('federation_subordinates')
          .values({
            entity_id: `https://sub-${i}.example`,
            org_id: i % 2 === 0 ? org.A.id : org.B.id,
            is_intermediate: i % 3 === 0 ? 1 : 0,
            entity_types: '["openid_relying_party"]',
            jwks: '{"keys":[]}',
            metadata: null,
            metadata_policy: null,
            constraints: null,
            metadata_policy_crit: null,
            status: i === 6 ? 'removed' : 'active',
            created_at: at,
            updated_at: at,
            removed_at: i === 6 ? at : null,
          })
          .execute();
        await db
          .insertInto('federation_trust_marks')
          .values({
            id: `tm-${i}`,
            trust_mark_type: i % 2 === 0 ? 'https://marks.example/gold' : 'https://marks.example/silver',
            sub: `https://sub-${i % 3}.example`,
            iat: Math.floor(now / 1000),
            exp: null,
            status: i === 5 ? 'revoked' : 'active',
            revoked_at: i === 5 ? at : null,
            created_at: at,
          })
          .execute();
      }
      // A removed subscription is never listed.
      await db
        .insertInto('webhook_subscriptions')
        .values({
          id: 'wh-removed',
          url: 'https://gone.example/receive',
          event_types: '["*"]',
          org_id: org.A.id,
          scheme: 'jws',
          secret_enc: null,
          previous_secret_enc: null,
          previous_secret_until: null,
          description: null,
          status: 'removed',
          created_by: 'test',
          created_at: createdAt(0),
          updated_at: createdAt(0),
        })
        .execute();
      // External CAs: one real CA certificate, recorded as several CAs (the list reads the rows).
      const bank = await ExternalCa.create('CN=Lists Bank CA,O=Lists Bank,C=DE');
      for (let i = 0; i < N; i++) {
        const at = createdAt(i);
        await db
          .insertInto('external_cas')
          .values({
            id: `eca-${i}`,
            org_id: org.A.id,
            subject: 'CN=Lists Bank CA,O=Lists Bank,C=DE',
            certificate_pem: bank.certPem,
            spki_sha256: `spki-${i}`,
            not_after: i % 3 === 0 ? earlier : later,
            crl_urls: '[]',
            ocsp_url: null,
            refresh_seconds: 3600,
            max_staleness_seconds: 86400,
            crl_this_update: null,
            crl_next_update: null,
            crl_number: null,
            crl_fetched_at: null,
            revoked_serials: '[]',
            crl_der: null,
            last_error: null,
            next_refresh_at: later,
            created_at: at,
            updated_at: at,
          })
          .execute();
      }
    }

    test('ok/webhook subscriptions: oldest first, each once; status, organisation, event type', async () => {
      const all = await walk('/admin/v1/webhooks', 'id');
      assert.deepEqual(all, ids('wh'), 'oldest first, removed ones never');
      assert.deepEqual(
        await walk('/admin/v1/webhooks?status=disabled', 'id'),
        ids('wh', (i) => i % 3 === 2),
      );
      assert.deepEqual(
        await walk(`/admin/v1/webhooks?org_id=${org.A.id}`, 'id'),
        ids('wh', (i) => i % 2 === 0),
      );
      assert.deepEqual(
        await walk('/admin/v1/webhooks?event_type=certificate.revoked', 'id'),
        ids('wh', (i) => i % 3 === 0 || i === 1),
        'named, or every type',
      );
      const bad = await call(cp, operator, 'GET', '/admin/v1/webhooks?event_type=nothing.happened');
      assert.equal(bad.status, 400, bad.text);
    });

    test('ok/webhook deliveries and dead letters: newest first, each once; status, type, window', async () => {
      const log = await walk('/admin/v1/webhooks/wh-0/deliveries', 'id');
      assert.deepEqual(log, ids('d0').reverse(), 'newest first, ties by id');
      assert.deepEqual(
        await walk('/admin/v1/webhooks/wh-0/deliveries?status=dead', 'id'),
        ids('d0', (i) => i % 4 === 1).reverse(),
      );
      assert.deepEqual(
        await walk('/admin/v1/webhooks/wh-0/deliveries?event_type=webhook.ping', 'id'),
        ids('d0', (i) => i % 2 === 1).reverse(),
      );
      const since = encodeURIComponent(createdAt(2));
      const before = encodeURIComponent(createdAt(6));
      assert.deepEqual(
        await walk(`/admin/v1/webhooks/wh-0/deliveries?since=${since}&before=${before}`, 'id'),
        ids('d0', (i) => i >= 2 && i < 6).reverse(),
      );
      const dead = await walk('/admin/v1/webhooks/dead-letter', 'id', operator, 1);
      assert.deepEqual(
        sorted(dead),
        sorted([...ids('d0', (i) => i % 4 === 1), ...ids('d3', (i) => i % 4 === 1)]),
      );
      assert.deepEqual(
        await walk('/admin/v1/webhooks/dead-letter?subscription_id=wh-3', 'id'),
        ids('d3', (i) => i % 4 === 1).reverse(),
      );
      const badTime = await call(cp, operator, 'GET', '/admin/v1/webhooks/wh-0/deliveries?since=yesterday');
      assert.equal(badTime.status, 400, badTime.text);
      const unknown = await call(cp, operator, 'GET', '/admin/v1/webhooks/wh-none/deliveries');
      assert.equal(unknown.status, 404, unknown.text);
    });

    test('ok/SSF receivers and enforcement credentials: newest first, each once; status, organisation', async () => {
      assert.deepEqual(await walk('/admin/v1/ssf/receivers', 'id'), ids('ssf').reverse());
      assert.deepEqual(
        await walk('/admin/v1/ssf/receivers?status=revoked', 'id'),
        ids('ssf', (i) => i % 3 === 0).reverse(),
      );
      assert.deepEqual(
        await walk(`/admin/v1/ssf/receivers?status=active&org_id=${org.A.id}`, 'id'),
        ids('ssf', (i) => i % 3 !== 0 && i % 2 === 0).reverse(),
      );
      assert.deepEqual(await walk('/admin/v1/enforcement-credentials', 'id'), ids('ep').reverse());
      assert.deepEqual(
        await walk('/admin/v1/enforcement-credentials?status=active', 'id'),
        ids('ep', (i) => i % 3 !== 0).reverse(),
      );
    });

    test('ok/software statements (admin and partner): newest first, each once; status incl. expired', async () => {
      const all = await walk('/admin/v1/software-statements', 'jti', operator, 4);
      assert.equal(all.length, 2 * N);
      assert.deepEqual(
        await walk(`/admin/v1/software-statements?org_id=${org.A.id}`, 'jti'),
        ids('ssa-A').reverse(),
      );
      assert.deepEqual(
        await walk(`/admin/v1/software-statements?software_id=${org.B.clientId}&status=used`, 'jti'),
        ids('ssa-B', (i) => i === 3 || i === 4).reverse(),
      );
      assert.deepEqual(await walk(`/admin/v1/software-statements?org_id=${org.A.id}&status=expired`, 'jti'), [
        'ssa-A-2',
      ]);
      assert.deepEqual(
        await walk(`/admin/v1/software-statements?org_id=${org.A.id}&status=issued`, 'jti'),
        ids('ssa-A', (i) => i < 3).reverse(),
        'issued as recorded, expired ones included',
      );
      // A partner pages through its own organisation's statements only, whatever it asks for.
      const viewerA = await sessionFor(cp, await makeMember(cp, org.A.id, 'viewer'));
      const base = `/partner/v1/organisations/${org.A.id}/software-statements`;
      assert.deepEqual(await walk(base, 'jti', viewerA), ids('ssa-A').reverse());
      assert.deepEqual(await walk(`${base}?status=revoked`, 'jti', viewerA), ['ssa-A-6', 'ssa-A-5']);
      assert.deepEqual(await walk(`${base}?software_id=${org.B.clientId}`, 'jti', viewerA), []);
      const smuggled = await call(cp, viewerA, 'GET', `${base}?org_id=${org.B.id}`);
      assert.equal(smuggled.status, 400, 'the organisation is the path’s, never a query parameter');
      const other = await call(
        cp,
        viewerA,
        'GET',
        `/partner/v1/organisations/${org.B.id}/software-statements`,
      );
      assert.ok([403, 404].includes(other.status), other.text);
      for (const query of ['limit=0', 'limit=1001', `cursor=${encodeCursor(['x'])}`]) {
        const r = await call(cp, viewerA, 'GET', `${base}?${query}`);
        assert.equal(r.status, 400, `${query}: ${r.text}`);
        assert.match(String(r.headers['content-type']), /application\/problem\+json/);
      }
    });

    test('ok/initial access tokens: newest first, each once; the four statuses, organisation', async () => {
      assert.deepEqual(
        await walk('/admin/v1/registration/initial-access-tokens', 'id'),
        ids('iat').reverse(),
      );
      const byStatus = async (status: string) =>
        walk(`/admin/v1/registration/initial-access-tokens?status=${status}`, 'id');
      assert.deepEqual(await byStatus('active'), ['iat-6', 'iat-5', 'iat-1', 'iat-0']);
      assert.deepEqual(await byStatus('expired'), ['iat-2']);
      assert.deepEqual(await byStatus('exhausted'), ['iat-3']);
      assert.deepEqual(await byStatus('revoked'), ['iat-4']);
      const listed = await call(
        cp,
        operator,
        'GET',
        '/admin/v1/registration/initial-access-tokens?status=exhausted',
      );
      assert.equal(listed.json.items[0].status, 'exhausted', 'the filter agrees with the view');
      assert.deepEqual(
        await walk(`/admin/v1/registration/initial-access-tokens?org_id=${org.B.id}`, 'id'),
        ids('iat', (i) => i % 2 === 1).reverse(),
      );
    });

    test('ok/external CAs: oldest first, each once; expired or still valid', async () => {
      const base = `/admin/v1/organisations/${org.A.id}/cas`;
      assert.deepEqual(await walk(base, 'id'), ids('eca'));
      assert.deepEqual(
        await walk(`${base}?expired=true`, 'id'),
        ids('eca', (i) => i % 3 === 0),
      );
      assert.deepEqual(
        await walk(`${base}?expired=false`, 'id'),
        ids('eca', (i) => i % 3 !== 0),
      );
      assert.deepEqual(await walk(`/admin/v1/organisations/${org.B.id}/cas`, 'id'), []);
      const missing = await call(cp, operator, 'GET', '/admin/v1/organisations/no-such-org/cas');
      assert.equal(missing.status, 404, missing.text);
    });

    test('ok/federation subordinates and trust marks: each once; organisation, status, type, subject', async () => {
      const subs = await walk('/admin/v1/federation/subordinates', 'entity_id');
      assert.deepEqual(subs, sorted(subs), 'by Entity Identifier');
      assert.equal(subs.length, N);
      assert.deepEqual(
        await walk(
          `/admin/v1/federation/subordinates?org_id=${org.A.id}&status=active`,
          'entity_id',
          operator,
          1,
        ),
        ['https://sub-0.example', 'https://sub-2.example', 'https://sub-4.example'],
      );
      assert.deepEqual(await walk('/admin/v1/federation/subordinates?intermediate=true', 'entity_id'), [
        'https://sub-0.example',
        'https://sub-3.example',
        'https://sub-6.example',
      ]);
      assert.deepEqual(await walk('/admin/v1/federation/trust-marks', 'id'), ids('tm'));
      assert.deepEqual(
        await walk('/admin/v1/federation/trust-marks?trust_mark_type=https://marks.example/gold', 'id'),
        ids('tm', (i) => i % 2 === 0),
      );
      assert.deepEqual(
        await walk(
          `/admin/v1/federation/trust-marks?sub=${encodeURIComponent('https://sub-2.example')}`,
          'id',
        ),
        ['tm-2', 'tm-5'],
      );
      assert.deepEqual(await walk('/admin/v1/federation/trust-marks?status=revoked', 'id'), ['tm-5']);
    });

    test('fail/bad cursors and limits are 400 problems on every one of these lists', async () => {
      const paths = [
        '/admin/v1/webhooks',
        '/admin/v1/webhooks/wh-0/deliveries',
        '/admin/v1/webhooks/dead-letter',
        '/admin/v1/ssf/receivers',
        '/admin/v1/enforcement-credentials',
        '/admin/v1/software-statements',
        '/admin/v1/registration/initial-access-tokens',
        `/admin/v1/organisations/${org.A.id}/cas`,
        '/admin/v1/federation/subordinates',
        '/admin/v1/federation/trust-marks',
      ];
      for (const path of paths) {
        for (const query of [
          'cursor=%21%21',
          `cursor=${encodeCursor(['a', 'b', 'c'])}`,
          'limit=0',
          'limit=1001',
          'limit=abc',
        ]) {
          const r = await call(cp, operator, 'GET', `${path}?${query}`);
          assert.equal(r.status, 400, `${path}?${query}: ${r.text}`);
          assert.match(String(r.headers['content-type']), /application\/problem\+json/);
          assert.ok(['invalid_cursor', 'invalid_input'].includes(r.json.code), r.text);
        }
        const cursorOnly = await call(cp, operator, 'GET', `${path}?cursor=${encodeCursor([1.5 as number])}`);
        assert.equal(cursorOnly.status, 400, `${path}: ${cursorOnly.text}`);
        const first = await call(cp, operator, 'GET', `${path}?limit=1`);
        assert.equal(first.status, 200, `${path}: ${first.text}`);
        assert.equal(first.json.items.length, 1, path);
        assert.equal(typeof first.json.next_cursor, 'string', `${path}: more than one item, a cursor`);
      }
      // A cursor of one list is refused by a list with a key of another length.
      const sub = await call(cp, operator, 'GET', '/admin/v1/federation/subordinates?limit=1');
      const r = await call(cp, operator, 'GET', `/admin/v1/webhooks?cursor=${sub.json.next_cursor}`);
      assert.equal(r.status, 400);
      assert.equal(r.json.code, 'invalid_cursor');
    });
  });
}
