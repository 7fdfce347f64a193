import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MAX_OPENAPI_BYTES, parseOpenApi } from '../../../src/directory/catalog-import/index.ts';
import { codes, fixture } from './fixtures.ts';

type Paths = Record<
  string,
  {
    parameters?: Array<{ name: string }>;
    get?: { responses?: Record<string, { description?: string }> };
  }
>;

/** Nested `depth` schemas deep under components: the text stays small, the nesting does not. */
function deepJson(depth: number): string {
  let schema = '{"type":"string"}';
  for (let i = 0; i < depth; i++) schema = `{"type":"object","properties":{"n":${schema}}}`;
  return `{"openapi":"3.0.3","info":{"title":"Nested Forms API","version":"1.0.0"},"paths":{},"components":{"schemas":{"Form":${schema}}}}`;
}

const minimal = (extra = '') => `openapi: 3.0.3\ninfo: { title: T, version: '1' }\npaths: {}\n${extra}`;

describe('parseOpenApi', () => {
  test('ok/a 3.0 YAML document is validated and its internal references dereferenced', async () => {
    const parsed = await parseOpenApi(fixture('banking-v1.yaml'));
    assert.deepEqual(parsed.findings, []);
    assert.equal(parsed.version, '3.0');
    const paths = parsed.spec?.paths as Paths;
    assert.equal(paths['/accounts/{AccountId}']?.parameters?.[0]?.name, 'AccountId');
    assert.equal(paths['/accounts']?.get?.responses?.['401']?.description, 'No valid token');
  });

  test('ok/a 3.1 JSON document with webhooks, jsonSchemaDialect and a circular schema', async () => {
    const parsed = await parseOpenApi(fixture('payments-3.1.json'));
    assert.deepEqual(parsed.findings, []);
    assert.equal(parsed.version, '3.1');
    const schemas = (
      parsed.spec!.components as { schemas: Record<string, { properties?: Record<string, unknown> }> }
    ).schemas;
    // Payment → PaymentOrder → relatedPayment → Payment: shared objects, not an endless copy.
    assert.equal(schemas.PaymentOrder?.properties?.relatedPayment, schemas.Payment);
  });

  test('ok/a 3.0 JSON document', async () => {
    const parsed = await parseOpenApi(fixture('petstore-3.0.json'));
    assert.deepEqual(parsed.findings, []);
    assert.equal(parsed.version, '3.0');
  });

  test('ok/a byte order mark and leading blank lines are tolerated', async () => {
    const parsed = await parseOpenApi(`\uFEFF\n\n${fixture('petstore-3.0.json')}`);
    assert.deepEqual(parsed.findings, []);
  });

  test('ok/a %YAML 1.1 directive brings back neither 1.1 booleans nor merge keys', async () => {
    const parsed = await parseOpenApi(`%YAML 1.1\n---\n${minimal('x-flag: yes\nx-date: 2001-12-14\n')}`);
    assert.deepEqual(parsed.findings, []);
    assert.equal(parsed.spec?.['x-flag'], 'yes');
    assert.equal(parsed.spec?.['x-date'], '2001-12-14');
  });

  test('ok/references that fan out (2^30 paths once expanded) are validated in time linear in the text', async () => {
    const schemas: Record<string, unknown> = { A30: { type: 'string' } };
    for (let i = 0; i < 30; i++) {
      schemas[`A${i}`] = {
        allOf: [{ $ref: `#/components/schemas/A${i + 1}` }, { $ref: `#/components/schemas/A${i + 1}` }],
      };
    }
    const doc = {
      openapi: '3.0.3',
      info: { title: 'Fan-out', version: '1' },
      paths: {
        '/x': {
          get: {
            responses: {
              '200': {
                description: 'ok',
                content: { 'application/json': { schema: { $ref: '#/components/schemas/A0' } } },
              },
            },
          },
        },
      },
      components: { schemas },
    };
    const started = performance.now();
    const parsed = await parseOpenApi(JSON.stringify(doc));
    assert.deepEqual(parsed.findings, []);
    assert.ok(performance.now() - started < 3_000, 'parsing took too long');
  });

  const refused: Array<[string, () => string, string[]]> = [
    ['fail/Swagger 2.0', () => fixture('swagger-2.0.json'), ['error unsupported_version /swagger']],
    ['fail/OpenAPI 3.2', () => minimal().replace('3.0.3', '3.2.0'), ['error unsupported_version /openapi']],
    [
      'fail/a version written as a number',
      () => minimal().replace('3.0.3', '3.0'),
      ['error unsupported_version /openapi'],
    ],
    [
      'fail/no version at all',
      () => '{"info":{"title":"T","version":"1"},"paths":{}}',
      ['error unsupported_version /openapi'],
    ],
    // .txt: the repository's formatter parses .yaml files, and this one must stay broken.
    ['fail/malformed YAML', () => fixture('malformed.yaml.txt'), ['error invalid_yaml ']],
    ['fail/malformed JSON', () => '{"openapi": "3.0.3",', ['error invalid_json ']],
    ['fail/a YAML alias bomb', () => fixture('yaml-bomb.yaml'), ['error yaml_aliases ']],
    ['fail/JSON nested 300 levels', () => deepJson(300), ['error too_deep ']],
    ['fail/JSON nested 100,000 levels', () => deepJson(100_000), ['error too_deep ']],
    ['ok/JSON nested 105 levels (deeper than MAX_JSON_DEPTH, within the bound)', () => deepJson(50), []],
    [
      'fail/YAML nested 200 levels (block style)',
      () => minimal(`x-deep:\n${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i + 1)}k:\n`).join('')}`),
      ['error too_deep '],
    ],
    [
      'fail/YAML nested 50,000 levels (flow style: overflows the YAML composer, no crash)',
      () => minimal(`x-deep: ${'['.repeat(50_000)}${']'.repeat(50_000)}`),
      ['error too_deep '],
    ],
    ['fail/empty text', () => '  \n', ['error invalid_yaml ']],
    ['fail/a YAML list, not an object', () => '- openapi\n- 3.0.3\n', ['error not_an_object ']],
    ['fail/JSON null', () => 'null', ['error not_an_object ']],
    ['fail/a custom YAML tag', () => minimal('x-run: !!js/function "function () {}"'), ['error yaml_tag ']],
    ['fail/a YAML 1.1 tag (binary)', () => minimal('x-blob: !!binary aGVsbG8='), ['error yaml_tag ']],
    ['fail/duplicate keys', () => `${minimal()}paths: {}\n`, ['error invalid_yaml ']],
    ['fail/two YAML documents in one text', () => `${minimal()}---\n${minimal()}`, ['error invalid_yaml ']],
    [
      'fail/YAML merge keys are not merged (the key stays "<<", which OpenAPI refuses)',
      () =>
        `openapi: 3.0.3\ninfo: { title: T, version: '1' }\nx-base: &base { responses: { '200': { description: ok } } }\npaths:\n  /a:\n    get:\n      <<: *base\n`,
      ['error invalid_openapi /paths/~1a/get', 'error invalid_openapi /paths/~1a/get'],
    ],
    [
      'fail/schema violations, each at its pointer',
      () => '{"openapi":"3.0.3","info":{"title":"T"},"paths":{"/a":{"get":{}}}}',
      ['error invalid_openapi /info', 'error invalid_openapi /paths/~1a/get'],
    ],
    [
      'fail/3.0 without paths',
      () => '{"openapi":"3.0.3","info":{"title":"T","version":"1"}}',
      ['error invalid_openapi /paths'],
    ],
    [
      'fail/3.1 with neither paths nor webhooks',
      () => '{"openapi":"3.1.0","info":{"title":"T","version":"1"},"components":{}}',
      ['error invalid_openapi /paths'],
    ],
    [
      'ok/3.1 with webhooks only',
      () => '{"openapi":"3.1.0","info":{"title":"T","version":"1"},"webhooks":{}}',
      [],
    ],
    [
      'fail/an internal reference to nothing',
      () => minimal().replace('paths: {}', "paths: { /a: { $ref: '#/components/pathItems/A' } }"),
      ['error unresolvable_ref '],
    ],
    [
      'fail/a pointer that tries to climb out of the document',
      () => minimal().replace('paths: {}', "paths: { /a: { $ref: '#/../../etc/passwd' } }"),
      ['error unresolvable_ref '],
    ],
  ];
  for (const [name, text, expected] of refused) {
    test(name, async () => {
      const parsed = await parseOpenApi(text());
      assert.deepEqual(codes(parsed.findings), expected, JSON.stringify(parsed.findings));
      assert.equal(parsed.spec === null, expected.length > 0);
    });
  }

  test('fail/larger than the bound (default and given)', async () => {
    const big = `${minimal()}x-pad: "${'a'.repeat(MAX_OPENAPI_BYTES)}"\n`;
    assert.deepEqual(codes((await parseOpenApi(big)).findings), ['error too_large ']);
    const small = await parseOpenApi(fixture('petstore-3.0.json'), { maxBytes: 1000 });
    assert.deepEqual(codes(small.findings), ['error too_large ']);
  });

  test('fail/never throws, whatever it is given', async () => {
    for (const input of [
      undefined,
      null,
      42,
      '42',
      '"text"',
      '[]',
      '{}',
      '{"openapi":{}}',
      'openapi: [3]',
      '\u0000',
    ]) {
      const parsed = await parseOpenApi(input as string);
      assert.equal(parsed.spec, null);
      assert.ok(parsed.findings.length > 0 && parsed.findings.every((f) => f.severity === 'error'));
    }
  });

  test('fail/external references are refused: no connection is opened and no file is read', async (t) => {
    let connections = 0;
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.end(JSON.stringify({ type: 'string' }));
    });
    server.on('connection', () => {
      connections++;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const dir = mkdtempSync(join(tmpdir(), 'accredit-import-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // A FIFO: opening it for reading blocks until a writer comes, so any read attempt would still be waiting
    // (and hold the FIFO open) when the call returns.
    const fifo = join(dir, 'models.yaml');
    execFileSync('mkfifo', [fifo]);
    const file = join(dir, 'plain.json');
    writeFileSync(file, JSON.stringify({ Model: { type: 'string' } }));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;

    for (const [http, path] of [
      [url, fifo],
      [url.replace('http:', 'https:'), file],
      [`${url}#/Model`, `file://${file}`],
    ] as const) {
      const text = fixture('external-refs.yaml').replace('{{HTTP_URL}}', http).replace('{{FILE_PATH}}', path);
      const parsed = await parseOpenApi(text);
      assert.equal(parsed.spec, null);
      assert.deepEqual(codes(parsed.findings), [
        'error external_ref /paths/~1models/get/responses/200/content/application~1json/schema/$ref',
        'error external_ref /paths/~1models~1{modelId}/get/responses/200/content/application~1json/schema/$ref',
      ]);
    }
    assert.equal(connections, 0);
    assert.equal(requests, 0);
    assert.throws(
      () => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK),
      (err: NodeJS.ErrnoException) => err.code === 'ENXIO',
      'something opened the FIFO for reading',
    );
  });
});
