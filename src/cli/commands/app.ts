import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';
import { registerRateLimitCommand } from './rate-limit.ts';
import { registerRotationPolicyCommand } from './rotation-policy.ts';

interface App {
  client_id: string;
  org_id: string;
  name: string;
  status: string;
  auth_method: string;
  roles: string[];
  role_grants?: Array<{ role: string; expires_at: string | null; expired: boolean }>;
  scopes?: string[];
}

function grantText(g: { role: string; expires_at: string | null; expired: boolean }): string {
  if (g.expires_at === null) return g.role;
  return `${g.role} (${g.expired ? 'expired' : 'until'} ${g.expires_at})`;
}

function printApp(app: App, json: boolean): void {
  if (json) {
    printJson(app);
    return;
  }
  printFields([
    ['client_id', app.client_id],
    ['org_id', app.org_id],
    ['name', app.name],
    ['status', app.status],
    ['auth_method', app.auth_method],
    ['roles', app.role_grants ? app.role_grants.map(grantText) : app.roles],
    ['scopes', app.scopes],
  ]);
}

function readJsonFile(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError(`cannot read ${what} file ${path}`, 'bad_file');
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch {
    throw new CliError(`${what} file ${path} is not a JSON object`, 'bad_file');
  }
}

export function registerAppCommands(program: Command): void {
  const app = program.command('app').description('manage applications (OAuth clients)');
  registerRotationPolicyCommand(app, 'application');
  registerRateLimitCommand(app, 'application');

  app
    .command('create')
    .description('register an application for an organisation')
    .requiredOption('--org <id>', 'organisation id')
    .requiredOption('--name <name>', 'application name (unique within the organisation)')
    .requiredOption('--roles <roles>', 'comma-separated roles, e.g. partner_reader,partner_writer', commaList)
    .requiredOption(
      '--auth <method>',
      'tls_client_auth | self_signed_tls_client_auth | private_key_jwt | none (public client: code flow, DPoP-bound)',
    )
    .option('--jwks <file>', 'JWK Set file with the client’s public keys (private_key_jwt, self-signed)')
    .option('--metadata <file>', 'JSON file with further client metadata')
    .option(
      '--redirect-uri <uri>',
      'an https redirection URI for end-user login (repeatable); enables the authorization code and refresh token grants',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(
      (
        opts: {
          org: string;
          name: string;
          roles: string[];
          auth: string;
          jwks?: string;
          metadata?: string;
          redirectUri?: string[];
        },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          const metadata = opts.metadata ? readJsonFile(opts.metadata, 'metadata') : {};
          if (opts.jwks) metadata.jwks = readJsonFile(opts.jwks, 'JWKS');
          if (opts.redirectUri) {
            metadata.redirect_uris = opts.redirectUri;
            // A public client never has client credentials (RFC 6749 §4.4).
            metadata.grant_types ??=
              opts.auth === 'none'
                ? ['authorization_code', 'refresh_token']
                : ['client_credentials', 'authorization_code', 'refresh_token'];
          }
          await withAdminClient(g, async (client) => {
            const created = await client.call<App>('POST', '/applications', {
              org_id: opts.org,
              name: opts.name,
              roles: opts.roles,
              auth_method: opts.auth,
              metadata,
            });
            printApp(created, g.json);
          });
        });
      },
    );

  addPageOptions(
    app
      .command('list')
      .description('list applications, a page at a time (oldest first)')
      .option('--org <id>', 'only this organisation’s')
      .option('--environment <env>', 'only sandbox or production')
      .option('--status <status>', 'only active or suspended')
      .option('--name-prefix <prefix>', 'only names starting with this (case-insensitive)'),
  ).action(
    (
      opts: PageOptions & { org?: string; environment?: string; status?: string; namePrefix?: string },
      cmd: Command,
    ) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const q = new URLSearchParams();
          if (opts.org) q.set('org_id', opts.org);
          if (opts.environment) q.set('environment', opts.environment);
          if (opts.status) q.set('status', opts.status);
          if (opts.namePrefix) q.set('name_prefix', opts.namePrefix);
          const items = await readPages<App>(client, '/applications', q, opts);
          if (g.json) printJson(items);
          else
            printTable(
              items.map((a) => ({ ...a, roles: a.role_grants ? a.role_grants.map(grantText) : a.roles })),
              ['client_id', 'org_id', 'name', 'status', 'auth_method', 'roles'],
            );
        });
      });
    },
  );

  app
    .command('show <clientId>')
    .description('show one application with its roles and scopes')
    .action((clientId: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printApp(await client.call<App>('GET', `/applications/${encodeURIComponent(clientId)}`), g.json);
        });
      });
    });

  for (const [verb, text] of [
    ['suspend', 'suspend an application: its tokens are refused at once'],
    ['activate', 're-activate a suspended application'],
  ] as const) {
    app
      .command(`${verb} <clientId>`)
      .description(text)
      .option('--reason <text>', 'why, for the audit log')
      .action((clientId: string, opts: { reason?: string }, cmd: Command) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            const body = opts.reason ? { reason: opts.reason } : {};
            printApp(
              await client.call<App>('POST', `/applications/${encodeURIComponent(clientId)}/${verb}`, body),
              g.json,
            );
          });
        });
      });
  }

  const role = app.command('role').description('role grants of an application, optionally time-bound');
  role
    .command('list <clientId>')
    .description('the application’s role grants with their end dates; expired ones marked')
    .action((clientId: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const { items } = await client.call<{
            items: Array<{ role: string; expires_at: string | null; expired: boolean }>;
          }>('GET', `/applications/${encodeURIComponent(clientId)}/roles`);
          if (g.json) printJson(items);
          else
            printTable(
              items.map((i) => ({
                ...i,
                state: i.expired ? 'expired' : 'active',
                until: i.expires_at ?? 'no end',
              })),
              ['role', 'state', 'until'],
            );
        });
      });
    });
  role
    .command('grant <clientId> <role>')
    .description(
      'grant a role (again); with --until or --for it ends, and the next token after that lacks it',
    )
    .option('--until <datetime>', 'when the grant ends, RFC 3339 (e.g. 2027-03-31T00:00:00Z)')
    .option('--for <duration>', 'how long the grant lasts: e.g. 90d, 12h, 30m')
    .action((clientId: string, roleName: string, opts: { until?: string; for?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        if (opts.until !== undefined && opts.for !== undefined) {
          throw new CliError('give --until or --for, not both', 'usage');
        }
        let expiresAt: string | null = opts.until ?? null;
        if (opts.for !== undefined) {
          const m = /^(\d{1,6})([dhm])$/.exec(opts.for);
          if (!m)
            throw new CliError(`--for ${opts.for}: expected a number and d, h or m (e.g. 90d)`, 'usage');
          const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
          expiresAt = new Date(Date.now() + Number(m[1]) * unit).toISOString();
        }
        await withAdminClient(g, async (client) => {
          const grant = await client.call<{ role: string; expires_at: string | null }>(
            'POST',
            `/applications/${encodeURIComponent(clientId)}/roles`,
            { role: roleName, expires_at: expiresAt },
          );
          if (g.json) printJson(grant);
          else
            process.stdout.write(
              `granted ${grant.role} to ${clientId}${grant.expires_at ? ` until ${grant.expires_at}` : ''}\n`,
            );
        });
      });
    });
  role
    .command('revoke <clientId> <role>')
    .description('take a role away; the application’s next token lacks its scopes')
    .action((clientId: string, roleName: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          await client.call(
            'DELETE',
            `/applications/${encodeURIComponent(clientId)}/roles/${encodeURIComponent(roleName)}`,
          );
          if (g.json) printJson({ client_id: clientId, role: roleName, revoked: true });
          else process.stdout.write(`revoked ${roleName} from ${clientId}\n`);
        });
      });
    });
}
