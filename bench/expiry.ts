// Expiry monitor and notification mail at scale: how long one monitor pass takes over N expiring partner
// certificates (first pass records, later passes find everything recorded), and how fast the outbox drains
// into a local SMTP sink. Measures, never asserts.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { deliverDueMail, queueNotifications } from '../src/audit/index.ts';
import { createApplication, createOrganisation, seedCatalog } from '../src/directory/index.ts';
import { runExpiryMonitor } from '../src/pki/index.ts';
import { directoryRecipients } from '../src/platform/notifications.ts';
import { createSmtpTransport } from '../src/platform/smtp-transport.ts';
import { openStorage, type Storage } from '../src/storage/index.ts';
import { installCa } from '../test/support/ca-fixture.ts';
import { engineTargets } from '../test/support/engines.ts';
import { SmtpSink } from '../test/support/smtp-sink.ts';

const NOW = new Date('2026-06-01T00:00:00.000Z');
const META = { actor: 'bench', now: new Date('2026-03-01T00:00:00.000Z') };

async function seed(storage: Storage, certificates: number): Promise<void> {
  await storage.transaction((tx) => seedCatalog(tx));
  const caId = (await installCa(storage)).caId;
  const perOrg = 10;
  for (let o = 0; o < certificates / perOrg; o++) {
    await storage.transaction(async (tx) => {
      const orgId = await createOrganisation(
        tx,
        {
          name: `Bench Org ${o}`,
          contacts: [{ kind: 'security', name: 'Sec', email: `sec${o}@bench.example` }],
        },
        META,
      );
      for (let a = 0; a < perOrg; a++) {
        const clientId = await createApplication(
          tx,
          { orgId, name: `App ${a}`, roles: ['partner_reader'], authMethod: 'tls_client_auth' },
          META,
        );
        const serial = randomBytes(16).toString('hex');
        // Rows as the CA writes them; the certificate itself is not parsed by the monitor.
        await tx.db
          .insertInto('certificates')
          .values({
            serial,
            client_id: clientId,
            org_id: orgId,
            issuer_ca_id: caId,
            subject: `CN=${clientId}`,
            issuer: 'CN=Bench',
            x5t_s256: randomBytes(32).toString('base64url'),
            key_description: 'EC P-256',
            cert_pem: '-',
            not_before: META.now.toISOString(),
            not_after: new Date(NOW.getTime() + (1 + ((o * perOrg + a) % 29)) * 86_400_000).toISOString(),
            status: 'active',
            revoked_at: null,
            revocation_reason: null,
            created_at: META.now.toISOString(),
          })
          .execute();
      }
    });
  }
}

export async function main(argv: string[]): Promise<number> {
  const n = Number(argv[argv.indexOf('--certificates') + 1] ?? 0) || 1000;
  const sink = new SmtpSink();
  const port = await sink.listen();
  for (const target of await engineTargets()) {
    if (target.skip) continue;
    const storage = await openStorage(target.freshOptions());
    try {
      await seed(storage, n);
      let t = performance.now();
      const first = await runExpiryMonitor({ storage, now: NOW });
      const firstMs = performance.now() - t;
      t = performance.now();
      const second = await runExpiryMonitor({ storage, now: NOW });
      const secondMs = performance.now() - t;
      await queueNotifications(storage, directoryRecipients([]), NOW);
      // The consumer starts after the events above: replay them from the beginning for the mail figure.
      await storage.db.deleteFrom('event_cursors').where('consumer', '=', 'mail:notifications').execute();
      await storage.db
        .insertInto('event_cursors')
        .values({ consumer: 'mail:notifications', last_seq: 0, updated_at: NOW.toISOString() })
        .execute();
      t = performance.now();
      await queueNotifications(storage, directoryRecipients([]), NOW);
      const queueMs = performance.now() - t;
      const transport = createSmtpTransport({
        smtp: {
          host: '127.0.0.1',
          port,
          security: 'none',
          user: undefined,
          passwordFile: undefined,
          from: 'bench@accredit.example',
          caFile: undefined,
        },
        operators: [],
      })!;
      t = performance.now();
      let sent = 0;
      for (;;) {
        const r = await deliverDueMail({
          storage,
          transport,
          from: 'bench@accredit.example',
          now: NOW,
          batch: 200,
        });
        sent += r.sent;
        if (r.sent + r.retried + r.failed === 0) break;
      }
      const sendMs = performance.now() - t;
      process.stdout.write(
        `${target.name}: ${n} expiring certificates — first pass ${first.recorded} events in ${firstMs.toFixed(0)} ms; ` +
          `steady pass (all recorded) ${second.recorded} events in ${secondMs.toFixed(0)} ms; ` +
          `queued ${sent} mails in ${queueMs.toFixed(0)} ms; sent ${sent} in ${sendMs.toFixed(0)} ms ` +
          `(${((sent / sendMs) * 1000).toFixed(0)} mails/s, one SMTP connection per mail, 4 at once; the sink greets after 100 ms)\n`,
      );
    } finally {
      await storage.close();
      await target.cleanup();
    }
  }
  await sink.close();
  return 0;
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));
