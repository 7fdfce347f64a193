import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

const version = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

// The X.509 stack and undici load only when the plan runs.
const testplan = () => import('../../testplan/index.ts');

const HELP_AFTER = `
Cases, in order: mtls-handshake, token-issued, allowed-call, missing-token, garbage-token, expired-token,
unbound-token, insufficient-scope, untrusted-certificate, object-id-tampering, then (only with --destructive)
revoked-token, revoked-certificate, suspended-application. A case that cannot run is SKIP, never PASS.
With --report-to, the report is submitted over mTLS with the same certificate (the go-live gate): the platform
records the run for the certificate's application and judges it (passed/failed, with its reasons).
Exit status: 0 when no case failed (and, with --report-to, the run was recorded as passed), 1 otherwise,
2 for a usage error.

Example:
  accredit testplan run --issuer https://as.example --api https://api.example \\
    --cert client.crt --key client.key --client-id app_123 --ca bundle.pem \\
    --owned-path '/v1/accounts/{id}' --foreign-id acc_of_another_org --junit testplan.xml
`;

export function registerTestplanCommands(program: Command): void {
  const cmd = program
    .command('testplan')
    .description('the partner-onboarding test plan against any door of any deployment');

  cmd
    .command('run')
    .description('run the test plan as a partner would: network calls only, one line per case')
    .option('--token-endpoint <url>', 'the mTLS token endpoint (RFC 8705 §5 alias)')
    .option('--issuer <url>', 'authorization server issuer: discovery finds the mTLS token endpoint')
    .option('--revocation-endpoint <url>', 'RFC 7009 endpoint (default: from discovery)')
    .option('--api <url>', 'the door: the gateway, a proxy in front of it, an API Gateway stage')
    .option('--cert <file>', 'client certificate PEM')
    .option('--key <file>', 'its private key (PEM, unencrypted)')
    .option('--client-id <id>', 'the client_id the certificate was issued to')
    .option('--ca <file>', 'CA bundle to trust for the servers (default: the system roots)')
    .option('--scope <scopes>', 'space-separated scopes to request (default: what the server grants)')
    .option('--path <operation>', "an allowed read: '[METHOD] /path'", 'GET /v1/accounts')
    .option('--forbidden-path <operation>', 'an operation outside the client’s scopes', 'POST /v1/payments')
    .option('--owned-path <operation>', "an object path with an {id} parameter, e.g. '/v1/accounts/{id}'")
    .option('--foreign-id <id>', 'another organisation’s object id for --owned-path: expect 403/404')
    .option('--health-path <path>', 'liveness path answered on the certificate alone', '/health')
    .option('--untrusted-cert <file>', 'a certificate the door must refuse (default: one generated now)')
    .option('--untrusted-key <file>', 'its private key')
    .option('--admin-url <url>', 'platform admin API base URL (revoking the certificate and application)')
    .option('--operator-token-file <file>', 'operator token (mode 0600) for --admin-url')
    .option('--destructive', 'run the revocation cases: the token, certificate and application stop working')
    .option('--revocation-bound-ms <ms>', 'how soon a revocation must reach the door', '2000')
    .option('--junit <file>', 'also write a JUnit XML report')
    .option(
      '--report-to [url]',
      'submit the report over mTLS with --cert/--key (go-live gate); without a url: the issuer’s mTLS base',
    )
    .addHelpText('after', HELP_AFTER)
    .action((raw: Record<string, string | boolean | undefined>, c: Command) => {
      const g = globals(c);
      return runAction(g.json, async () => {
        const t = await testplan();
        let options: ReturnType<typeof t.resolveOptions>;
        let reportTo: ReturnType<typeof t.reportTarget>;
        try {
          options = t.resolveOptions(raw as unknown as Parameters<typeof t.resolveOptions>[0]);
          reportTo = t.reportTarget(raw as unknown as Parameters<typeof t.reportTarget>[0]);
        } catch (err) {
          if (err instanceof t.UsageError) throw new CliError(err.message, 'invalid_input', 2);
          throw err;
        }
        const target = options.api;
        if (!g.json) process.stdout.write(`accredit testplan: ${target}\n`);
        const startedAt = new Date();
        const results = await t.runTestPlan(options, {
          started: (id, title) => process.stderr.write(`… ${id}: ${title}\n`),
          finished: (r) => {
            if (!g.json) process.stdout.write(`${t.caseLine(r)}\n`);
          },
        });
        const finishedAt = new Date();
        const summary = t.summarise(results);
        if (typeof raw.junit === 'string')
          writeFileSync(raw.junit, t.junitReport(results, target, new Date()), { mode: 0o644 });
        // Issue 15: the run goes to the platform as evidence for the go-live gate.
        let submission: Awaited<ReturnType<typeof t.submitReport>> | { error: string } | undefined;
        if (reportTo !== undefined) {
          submission = await t
            .submitReport(options, reportTo, { cases: results, startedAt, finishedAt, version, target })
            .catch((err: Error) => ({ error: err.message }));
        }
        if (g.json)
          printJson({
            ...(t.jsonReport(results, target) as object),
            ...(submission ? { submission } : {}),
          });
        else {
          process.stdout.write(`${t.summaryLine(results)}\n`);
          if (submission && 'error' in submission) process.stderr.write(`report: ${submission.error}\n`);
          else if (submission) {
            process.stdout.write(`report: run ${submission.id} recorded, ${submission.outcome}\n`);
            for (const reason of submission.reasons) process.stdout.write(`  - ${reason}\n`);
          }
        }
        const submitted = !submission || (!('error' in submission) && submission.outcome === 'passed');
        process.exitCode = summary.failed === 0 && submitted ? 0 : 1;
      });
    });

  addPageOptions(
    cmd
      .command('runs')
      .description(
        'list the test-plan runs the platform recorded (admin API), a page at a time (newest first)',
      )
      .option('--org <id>', 'only this organisation’s')
      .option('--outcome <outcome>', 'only passed or failed')
      .option('--environment <env>', 'only sandbox or production')
      .option('--client <client_id>', 'only runs of this application')
      .option('--received-from <instant>', 'only runs received at or after (ISO-8601)')
      .option('--received-before <instant>', 'only runs received before (ISO-8601)'),
  ).action(
    (
      opts: PageOptions & {
        org?: string;
        outcome?: string;
        environment?: string;
        client?: string;
        receivedFrom?: string;
        receivedBefore?: string;
      },
      c: Command,
    ) => {
      const g = globals(c);
      return runAction(g.json, async () => {
        const q = new URLSearchParams();
        if (opts.org) q.set('org_id', opts.org);
        if (opts.outcome) q.set('outcome', opts.outcome);
        if (opts.environment) q.set('environment', opts.environment);
        if (opts.client) q.set('client_id', opts.client);
        if (opts.receivedFrom) q.set('received_from', opts.receivedFrom);
        if (opts.receivedBefore) q.set('received_before', opts.receivedBefore);
        await withAdminClient(g, async (client) => {
          const items = await readPages<Record<string, unknown>>(client, '/testplan-runs', q, opts);
          if (g.json) return printJson(items);
          printTable(items, ['id', 'org_name', 'client_id', 'environment', 'outcome', 'received_at']);
        });
      });
    },
  );
}
