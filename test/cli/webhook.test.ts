import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Webhook } from 'standardwebhooks';
import { PlatformProcess } from '../support/platform-process.ts';

const json = <T>(text: string): T => JSON.parse(text) as T;
const tmp = mkdtempSync(join(tmpdir(), 'accredit-cli-webhook-'));

interface Received {
  headers: Record<string, string>;
  body: string;
}

describe('cli: accredit webhook', { timeout: 120_000 }, () => {
  let platform: PlatformProcess;
  let server: Server;
  let url: string;
  const received: Received[] = [];

  before(async () => {
    // The receiver's certificate, trusted through webhooks.caFile.
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1'],
        ...['-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1'],
        ...['-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem')],
      ],
      { stdio: 'ignore' },
    );
    const tls = { cert: readFileSync(join(tmp, 'cert.pem')), key: readFileSync(join(tmp, 'key.pem')) };
    server = createServer(tls, (req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers as Record<string, string>, body });
        res.writeHead(204);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    platform = await PlatformProcess.create({
      ACCREDIT_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES: 'true',
      ACCREDIT_WEBHOOKS_CA_FILE: join(tmp, 'cert.pem'),
      ACCREDIT_WEBHOOKS_POLL_INTERVAL_MS: '200',
    });
    await platform.start(['--init']);
  });

  after(async () => {
    await platform?.stop();
    platform?.cleanup();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    rmSync(tmp, { recursive: true, force: true });
  });

  async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < 200; i++) {
      const value = await probe();
      if (value !== undefined) return value;
      await sleep(100);
    }
    throw new Error('timed out');
  }

  test('ok/add, list, show, test, deliveries, redeliver, disable, remove', async () => {
    const added = await platform.cli([
      ...['webhook', 'add', url, '--events', 'organisation.suspended,certificate.revoked'],
      ...['--scheme', 'standard-webhooks', '--description', 'ops receiver', '--json'],
    ]);
    assert.equal(added.code, 0, added.stderr);
    const sub = json<{ id: string; secret: string; event_types: string[] }>(added.stdout);
    assert.match(sub.secret, /^whsec_/);
    assert.deepEqual(sub.event_types, ['organisation.suspended', 'certificate.revoked']);

    const table = await platform.cli(['webhook', 'list']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ID +URL +EVENT_TYPES +ORG_ID +SCHEME +STATUS$/m);
    assert.ok(!table.stdout.includes(sub.secret.slice(6)), 'never the secret');
    const shown = await platform.cli(['webhook', 'show', sub.id]);
    assert.match(shown.stdout, /^scheme: +standard-webhooks$/m);
    assert.ok(!shown.stdout.includes('secret:'));

    const ping = await platform.cli(['webhook', 'test', sub.id, '--json']);
    assert.equal(ping.code, 0, ping.stderr);
    const pingDelivery = json<{ id: string; event_id: string }>(ping.stdout);
    await until(async () => (received.length === 1 ? true : undefined));
    assert.equal(received[0]!.headers['webhook-id'], pingDelivery.event_id);
    assert.equal(
      (new Webhook(sub.secret).verify(received[0]!.body, received[0]!.headers) as { type: string }).type,
      'webhook.ping',
    );
    const log = await until(async () => {
      const r = await platform.cli(['webhook', 'deliveries', sub.id, '--json']);
      const items = json<Array<{ id: string; status: string }>>(r.stdout);
      return items[0]?.status === 'delivered' ? items : undefined;
    });
    assert.equal(log[0]!.id, pingDelivery.id);
    const detail = await platform.cli(['webhook', 'delivery', sub.id, pingDelivery.id]);
    assert.match(detail.stdout, /^ATTEMPT +STARTED_AT +DURATION_MS +STATUS_CODE +ERROR$/m);
    assert.match(detail.stdout, /^1 +\S+ +\d+ +204/m);

    const again = await platform.cli(['webhook', 'redeliver', sub.id, pingDelivery.id]);
    assert.equal(again.code, 0, again.stderr);
    await until(async () => (received.length === 2 ? true : undefined));
    assert.equal(received[1]!.headers['webhook-id'], pingDelivery.event_id, 'same idempotency key');

    const updated = await platform.cli([
      'webhook',
      'update',
      sub.id,
      '--events',
      '*',
      '--description',
      '',
      '--json',
    ]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.deepEqual(json<{ event_types: string[]; description: null }>(updated.stdout).event_types, ['*']);
    assert.equal(json<{ description: null }>(updated.stdout).description, null);
    const nothing = await platform.cli(['webhook', 'update', sub.id]);
    assert.equal(nothing.code, 2);

    const dead = await platform.cli(['webhook', 'deliveries', '--dead', '--json']);
    assert.deepEqual(json(dead.stdout), []);
    const rotated = await platform.cli(['webhook', 'rotate-secret', sub.id, '--overlap', '60', '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.notEqual(json<{ secret: string }>(rotated.stdout).secret, sub.secret);
    const disabled = await platform.cli(['webhook', 'disable', sub.id, '--json']);
    assert.equal(json<{ status: string }>(disabled.stdout).status, 'disabled');
    const removed = await platform.cli(['webhook', 'remove', sub.id]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal((await platform.cli(['webhook', 'show', sub.id])).code, 1);
  });

  test('ok/lists page: --limit, --cursor, --all and filters (webhooks, SSF receivers)', async () => {
    const ids: string[] = [];
    for (const events of ['certificate.revoked', 'organisation.suspended', '*']) {
      const r = await platform.cli(['webhook', 'add', url, '--events', events, '--scheme', 'jws', '--json']);
      assert.equal(r.code, 0, r.stderr);
      ids.push(json<{ id: string }>(r.stdout).id);
    }
    const first = await platform.cli(['webhook', 'list', '--limit', '2', '--json']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      json<Array<{ id: string }>>(first.stdout).map((s) => s.id),
      ids.slice(0, 2),
    );
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    assert.ok(cursor, `the next cursor on stderr: ${first.stderr}`);
    const rest = await platform.cli(['webhook', 'list', '--limit', '2', '--cursor', cursor, '--json']);
    assert.deepEqual(
      json<Array<{ id: string }>>(rest.stdout).map((s) => s.id),
      ids.slice(2),
    );
    assert.equal(rest.stderr, '', 'no cursor after the last page');
    const all = await platform.cli(['webhook', 'list', '--all', '--limit', '1', '--json']);
    assert.deepEqual(
      json<Array<{ id: string }>>(all.stdout).map((s) => s.id),
      ids,
    );
    const revoked = await platform.cli([
      'webhook',
      'list',
      '--event',
      'certificate.revoked',
      '--all',
      '--json',
    ]);
    assert.deepEqual(
      json<Array<{ id: string }>>(revoked.stdout).map((s) => s.id),
      [ids[0], ids[2]],
      'named, or every type',
    );
    await platform.cli(['webhook', 'disable', ids[1]!]);
    const disabled = await platform.cli(['webhook', 'list', '--status', 'disabled', '--json']);
    assert.deepEqual(
      json<Array<{ id: string }>>(disabled.stdout).map((s) => s.id),
      [ids[1]],
    );
    const deliveries = await platform.cli([
      'webhook',
      'deliveries',
      ids[0]!,
      '--event',
      'webhook.ping',
      '--all',
    ]);
    assert.equal(deliveries.code, 0, deliveries.stderr);

    for (const name of ['soc-a', 'soc-b', 'soc-c']) {
      assert.equal((await platform.cli(['ssf', 'receiver', 'add', '--name', name])).code, 0);
    }
    const receivers = await platform.cli(['ssf', 'receiver', 'list', '--all', '--limit', '2', '--json']);
    assert.equal(receivers.code, 0, receivers.stderr);
    assert.deepEqual(
      json<Array<{ name: string }>>(receivers.stdout).map((r) => r.name),
      ['soc-c', 'soc-b', 'soc-a'],
      'newest first',
    );
    const none = await platform.cli(['ssf', 'receiver', 'list', '--status', 'revoked', '--json']);
    assert.deepEqual(json(none.stdout), []);

    const badLimit = await platform.cli(['webhook', 'list', '--limit', '0']);
    assert.notEqual(badLimit.code, 0);
    assert.match(badLimit.stderr, /limit/);
    const badCursor = await platform.cli(['ssf', 'receiver', 'list', '--cursor', 'not-a-cursor']);
    assert.equal(badCursor.code, 1);
    assert.match(badCursor.stderr, /cursor/);
    for (const id of ids) await platform.cli(['webhook', 'remove', id]);
  });

  test('bad/refusals are one line and a non-zero exit', async () => {
    const http = await platform.cli(['webhook', 'add', 'http://127.0.0.1/hook']);
    assert.equal(http.code, 1);
    assert.equal(http.stderr.trim().split('\n').length, 1);
    assert.match(http.stderr, /^accredit: error: url: must be https$/m);
    const type = await platform.cli(['webhook', 'add', url, '--events', 'org.renamed', '--json']);
    assert.equal(type.code, 1);
    assert.match(json<{ error: { message: string } }>(type.stderr).error.message, /org\.renamed|event_types/);
    const status = await platform.cli(['webhook', 'deliveries', 'x', '--status', 'lost']);
    assert.equal(status.code, 2);
    assert.match(status.stderr, /--status: one of pending, delivered, dead, cancelled/);
    const missing = await platform.cli(['webhook', 'redeliver', 'nope', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
  });
});
