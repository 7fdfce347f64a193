import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { Agent, fetch as undiciFetch } from 'undici';
import type { CertificateAuthority } from '../../src/pki/index.ts';
import { registerOperatorAuth } from '../../src/platform/admin-api/auth.ts';
import { registerOrganisationRoutes } from '../../src/platform/admin-api/organisations-routes.ts';
import { problemSchema } from '../../src/platform/admin-api/schemas.ts';
import { createHttpsServer } from '../../src/platform/http/create-server.ts';
import { createOperatorToken } from '../../src/platform/operator-tokens.ts';
import type { Storage } from '../../src/storage/index.ts';
import { serverTlsFrom } from '../gateway/fixture.ts';
import { installCa } from '../support/ca-fixture.ts';
import { META, seededStorage } from '../support/directory-fixture.ts';
import { engineTargets } from '../support/engines.ts';
import { testPartnerFetcher } from '../support/partner-fetcher.ts';

const targets = await engineTargets();

for (const target of targets) {
  describe(`admin API: organisation names (UTS #39): ${target.name}`, { skip: target.skip }, () => {
    let storage: Storage;
    let app: FastifyInstance;
    let agent: Agent;
    let baseUrl: string;
    let operator: string;
    const fetcher = testPartnerFetcher();

    const create = async (name: string) => {
      const r = await undiciFetch(`${baseUrl}/admin/v1/organisations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name }),
        dispatcher: agent,
      });
      return {
        status: r.status,
        type: r.headers.get('content-type') ?? '',
        body: (await r.json()) as Record<string, unknown>,
      };
    };

    before(async () => {
      storage = await seededStorage(target);
      const ca = await installCa(storage);
      operator = await storage.transaction((tx) => createOperatorToken(tx, 'alice', META));
      app = createHttpsServer({ tls: await serverTlsFrom(ca), logger: pino({ level: 'silent' }) });
      app.addSchema(problemSchema);
      const deps = { storage, clock: () => META.now, ca: ca as CertificateAuthority, urlGuard: fetcher };
      await app.register(
        async (admin) => {
          registerOperatorAuth(admin, deps);
          registerOrganisationRoutes(admin, deps);
        },
        { prefix: '/admin/v1' },
      );
      await app.listen({ port: 0, host: '127.0.0.1' });
      baseUrl = `https://localhost:${(app.server.address() as AddressInfo).port}`;
      agent = new Agent({ connect: { ca: ca.chainPem } });
    });

    after(async () => {
      await agent?.close();
      await app?.close();
      await storage?.close();
      await target.cleanup();
      await fetcher.close();
    });

    test('ok/a name is stored NFC with one ASCII space; fail/look-alikes are problem+json 400 or 409', async () => {
      const acme = await create('Acme\u00a0Bank');
      assert.equal(acme.status, 201, JSON.stringify(acme.body));
      assert.equal(acme.body.name, 'Acme Bank');
      const nfd = await create('Cre\u0301dit Agricole');
      assert.equal(nfd.status, 201, JSON.stringify(nfd.body));
      assert.equal(nfd.body.name, 'Crédit Agricole');
      for (const ok of ['Банк Москва', '株式会社']) {
        const r = await create(ok);
        assert.equal(r.status, 201, `ok/${ok}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.name, ok);
      }
      const cases: Array<[string, string, number, string, Record<string, unknown>]> = [
        ['fail/zero width space', 'Acme\u200bBank', 400, 'invalid_name_character', { code_point: 'U+200B' }],
        [
          'fail/byte order mark prefix',
          '\ufeffAcme Bank',
          400,
          'invalid_name_character',
          { code_point: 'U+FEFF' },
        ],
        [
          'fail/right-to-left override',
          'Acme \u202eknaB',
          400,
          'invalid_name_character',
          { code_point: 'U+202E' },
        ],
        [
          'fail/tag characters',
          'Acme\u{e0041} Bank',
          400,
          'invalid_name_character',
          { code_point: 'U+E0041' },
        ],
        [
          'fail/Cyrillic а for Latin a',
          '\u0430cme Bank',
          409,
          'confusable_name',
          { organisation_id: acme.body.id },
        ],
        [
          'fail/fullwidth letters',
          'ＡＣＭＥ ＢＡＮＫ',
          409,
          'confusable_name',
          { organisation_id: acme.body.id },
        ],
        ['fail/other case', 'ACME BANK', 409, 'conflict', {}],
        ['fail/composed form of a decomposed name', 'Crédit Agricole', 409, 'conflict', {}],
        [
          'fail/Cyrillic а in a Latin word',
          'P\u0430ypal',
          400,
          'mixed_script_name',
          { scripts: ['Latin', 'Cyrillic'] },
        ],
      ];
      for (const [name, input, status, code, extra] of cases) {
        const r = await create(input);
        assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
        assert.match(r.type, /^application\/problem\+json/, name);
        assert.equal(r.body.code, code, name);
        assert.equal(r.body.type, `urn:accredit:problem:${code}`, name);
        for (const [key, value] of Object.entries(extra))
          assert.deepEqual(r.body[key], value, `${name}: ${key}`);
        if (code === 'confusable_name') assert.ok(String(r.body.detail).includes(String(acme.body.id)), name);
      }
      const list = await undiciFetch(`${baseUrl}/admin/v1/organisations`, {
        headers: { authorization: `Bearer ${operator}` },
        dispatcher: agent,
      });
      assert.equal(((await list.json()) as { items: unknown[] }).items.length, 4);
    });
  });
}
