import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { type AdminClient, withAdminClient } from '../admin-client.ts';
import { CliError } from '../cli-error.ts';
import { printFields, printJson, printTable } from '../output.ts';
import { addPageOptions, type PageOptions, readPages } from '../pages.ts';
import { runAction } from '../run-action.ts';
import { commaList, globals } from './globals.ts';

interface Subordinate {
  entity_id: string;
  org_id: string;
  is_intermediate: boolean;
  entity_types: string[];
  jwks: { keys: Array<{ kid?: string }> };
  status: string;
  created_at: string;
  removed_at: string | null;
}

interface TrustMark {
  id: string;
  trust_mark_type: string;
  sub: string;
  iat: number;
  exp: number | null;
  status: string;
  revoked_at: string | null;
}

interface FederationKey {
  kid: string;
  alg: string;
  status: string;
  created_at: string;
  retired_at: string | null;
  revoked_at: string | null;
  revocation_reason: string | null;
  published: boolean;
  expires_at: string | null;
}

interface Resolution {
  ok: boolean;
  entity_id: string;
  trust_anchor: string | null;
  expires_at: string | null;
  chain: Array<{ iss: string; sub: string; iat: number; exp: number; kind: string }>;
  metadata: Record<string, unknown> | null;
  trust_marks: Array<{ trust_mark_type: string; iss: string; exp: number | null }>;
  findings: Array<{ step: string; code: string; message: string; entity_id: string | null }>;
}

type Rows = Array<Record<string, unknown>>;

/** The real DELETE route; its POST alias only when a reason has to reach the audit log. */
function withdraw<T>(
  client: AdminClient,
  path: string,
  alias: 'remove' | 'revoke',
  reason: string | undefined,
): Promise<T> {
  return reason ? client.call<T>('POST', `${path}/${alias}`, { reason }) : client.call<T>('DELETE', path);
}

function readJsonObject(path: string, what: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError(`cannot read ${what} file ${path}`, 'bad_file');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${what} file ${path} is not valid JSON`, 'bad_file');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliError(`${what} file ${path} is not a JSON object`, 'bad_file');
  }
  return value as Record<string, unknown>;
}

const positiveInt = (value: string): number => {
  if (!/^\d+$/.test(value))
    throw new CliError(`expected a number of seconds, got "${value}"`, 'bad_option', 2);
  return Number(value);
};

const time = (epoch: number | null) => (epoch === null ? 'never' : new Date(epoch * 1000).toISOString());

function printSubordinate(s: Subordinate, json: boolean): void {
  if (json) {
    printJson(s);
    return;
  }
  printFields([
    ['entity_id', s.entity_id],
    ['org_id', s.org_id],
    ['status', s.status],
    ['intermediate', s.is_intermediate],
    ['entity_types', s.entity_types],
    ['kids', s.jwks.keys.map((k) => k.kid ?? '')],
  ]);
}

function printTrustMark(m: TrustMark, json: boolean): void {
  if (json) {
    printJson(m);
    return;
  }
  printFields([
    ['id', m.id],
    ['trust_mark_type', m.trust_mark_type],
    ['sub', m.sub],
    ['status', m.status],
    ['issued_at', time(m.iat)],
    ['expires_at', time(m.exp)],
  ]);
}

function registerSubordinateCommands(federation: Command): void {
  const sub = federation
    .command('subordinate')
    .description('Immediate Subordinates the platform issues Subordinate Statements about');

  sub
    .command('add')
    .description('add a subordinate, linked to a directory organisation')
    .requiredOption('--entity-id <url>', 'its Entity Identifier (https URL, no query or fragment)')
    .requiredOption('--org <id>', 'organisation it belongs to')
    .requiredOption(
      '--jwks <file>',
      'JWK Set file with its Federation Entity public keys (required: they are not fetched from its Entity Configuration)',
    )
    .option('--policy <file>', 'metadata_policy JSON file, per Entity Type')
    .option('--metadata <file>', 'metadata JSON file the platform asserts, per Entity Type')
    .option(
      '--constraints <file>',
      'constraints JSON file (max_path_length, naming_constraints, allowed_entity_types)',
    )
    .option('--intermediate', 'it is an Intermediate with subordinates of its own')
    .option(
      '--entity-types <types>',
      'its Entity Types, comma-separated (default: from metadata and policy)',
      commaList,
    )
    .action(
      (
        opts: {
          entityId: string;
          org: string;
          jwks: string;
          policy?: string;
          metadata?: string;
          constraints?: string;
          intermediate?: boolean;
          entityTypes?: string[];
        },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          const body: Record<string, unknown> = {
            entity_id: opts.entityId,
            org_id: opts.org,
            jwks: readJsonObject(opts.jwks, 'JWKS'),
            is_intermediate: opts.intermediate === true,
          };
          if (opts.policy) body.metadata_policy = readJsonObject(opts.policy, 'policy');
          if (opts.metadata) body.metadata = readJsonObject(opts.metadata, 'metadata');
          if (opts.constraints) body.constraints = readJsonObject(opts.constraints, 'constraints');
          if (opts.entityTypes) body.entity_types = opts.entityTypes;
          await withAdminClient(g, async (client) => {
            printSubordinate(
              await client.call<Subordinate>('POST', '/federation/subordinates', body),
              g.json,
            );
          });
        });
      },
    );

  addPageOptions(
    sub
      .command('list')
      .description('list subordinates')
      .option('--org <id>', 'only this organisation’s')
      .option('--status <status>', 'active or removed')
      .option('--intermediate', 'only Intermediates'),
  ).action((opts: PageOptions & { org?: string; status?: string; intermediate?: boolean }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      const q = new URLSearchParams();
      if (opts.org) q.set('org_id', opts.org);
      if (opts.status) q.set('status', opts.status);
      if (opts.intermediate) q.set('intermediate', 'true');
      await withAdminClient(g, async (client) => {
        const items = await readPages<Subordinate>(client, '/federation/subordinates', q, opts);
        if (g.json) return printJson(items);
        printTable(
          items.map((s) => ({ ...s, intermediate: s.is_intermediate ? 'yes' : '' })) as unknown as Rows,
          ['entity_id', 'org_id', 'status', 'intermediate', 'entity_types'],
        );
      });
    });
  });

  sub
    .command('show <entityId>')
    .description('show one subordinate')
    .action((entityId: string, _opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printSubordinate(
            await client.call<Subordinate>('GET', `/federation/subordinates/${encodeURIComponent(entityId)}`),
            g.json,
          );
        });
      });
    });

  sub
    .command('remove <entityId>')
    .description('remove a subordinate: its statement is no longer served and its trust marks are revoked')
    .option('--reason <text>', 'why, for the audit log')
    .action((entityId: string, opts: { reason?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printSubordinate(
            await withdraw<Subordinate>(
              client,
              `/federation/subordinates/${encodeURIComponent(entityId)}`,
              'remove',
              opts.reason,
            ),
            g.json,
          );
        });
      });
    });
}

function registerTrustMarkCommands(federation: Command): void {
  const tm = federation.command('trust-mark').description('Trust Marks the platform issues');

  tm.command('issue')
    .description('issue a trust mark of a configured type to an active subordinate')
    .requiredOption('--type <type>', 'trust mark type identifier (one of federation.trustMarkTypes)')
    .requiredOption('--sub <url>', 'Entity Identifier of the subordinate')
    .option('--expires-in <seconds>', 'lifetime in seconds (default: does not expire)', positiveInt)
    .action((opts: { type: string; sub: string; expiresIn?: number }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const issued = await client.call<TrustMark>('POST', '/federation/trust-marks', {
            trust_mark_type: opts.type,
            sub: opts.sub,
            ...(opts.expiresIn === undefined ? {} : { expires_in: opts.expiresIn }),
          });
          printTrustMark(issued, g.json);
        });
      });
    });

  tm.command('revoke <id>')
    .description('revoke a trust mark: its status endpoint answers revoked at once')
    .option('--reason <text>', 'why, for the audit log')
    .action((id: string, opts: { reason?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          printTrustMark(
            await withdraw<TrustMark>(
              client,
              `/federation/trust-marks/${encodeURIComponent(id)}`,
              'revoke',
              opts.reason,
            ),
            g.json,
          );
        });
      });
    });

  addPageOptions(
    tm
      .command('list')
      .description('list issued trust marks')
      .option('--sub <url>', 'only this subject’s')
      .option('--type <type>', 'only this type')
      .option('--status <status>', 'active or revoked'),
  ).action((opts: PageOptions & { sub?: string; type?: string; status?: string }, cmd: Command) => {
    const g = globals(cmd);
    return runAction(g.json, async () => {
      const q = new URLSearchParams();
      if (opts.sub) q.set('sub', opts.sub);
      if (opts.type) q.set('trust_mark_type', opts.type);
      if (opts.status) q.set('status', opts.status);
      await withAdminClient(g, async (client) => {
        const items = await readPages<TrustMark>(client, '/federation/trust-marks', q, opts);
        if (g.json) return printJson(items);
        printTable(items.map((m) => ({ ...m, expires_at: time(m.exp) })) as unknown as Rows, [
          'id',
          'trust_mark_type',
          'sub',
          'status',
          'expires_at',
        ]);
      });
    });
  });
}

function registerKeyCommands(federation: Command): void {
  const keys = federation.command('keys').description('the platform’s Federation Entity Keys');
  const columns = ['kid', 'alg', 'status', 'published', 'created_at', 'retired_at', 'expires_at'];

  keys
    .command('list')
    .description('list federation keys: active, retired (published during the overlap) and revoked')
    .action((_opts: unknown, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const { items } = await client.call<{ items: FederationKey[] }>('GET', '/federation/keys');
          if (g.json) return printJson(items);
          printTable(items as unknown as Rows, columns);
        });
      });
    });

  keys
    .command('rotate')
    .description(
      'make a new active key; the old one stays published for one statement lifetime, then only in historical keys',
    )
    .option(
      '--alg <alg>',
      'algorithm of the new key: ES256 | ES384 | PS256 | EdDSA (default: the current one’s)',
    )
    .action((opts: { alg?: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const rotated = await client.call<{ active: FederationKey; retired: string[] }>(
            'POST',
            '/federation/keys/rotate',
            opts.alg ? { alg: opts.alg } : {},
          );
          if (g.json) return printJson(rotated);
          printFields([
            ['active', rotated.active.kid],
            ['alg', rotated.active.alg],
            ['retired', rotated.retired],
          ]);
        });
      });
    });

  keys
    .command('revoke <kid>')
    .description('revoke a retired key: it leaves the Entity Configuration at once')
    .option('--reason <reason>', 'unspecified | compromised | superseded', 'unspecified')
    .action((kid: string, opts: { reason: string }, cmd: Command) => {
      const g = globals(cmd);
      return runAction(g.json, async () => {
        await withAdminClient(g, async (client) => {
          const key = await client.call<FederationKey>(
            'POST',
            `/federation/keys/${encodeURIComponent(kid)}/revoke`,
            {
              reason: opts.reason,
            },
          );
          if (g.json) return printJson(key);
          printFields([
            ['kid', key.kid],
            ['status', key.status],
            ['reason', key.revocation_reason],
            ['revoked_at', key.revoked_at],
          ]);
        });
      });
    });
}

function printResolution(r: Resolution): void {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  printFields([
    ['entity_id', r.entity_id],
    ['valid', r.ok ? 'yes' : 'no: no valid Trust Chain'],
    ...(r.ok
      ? ([
          ['trust_anchor', r.trust_anchor],
          ['expires_at', r.expires_at],
        ] as Array<[string, unknown]>)
      : []),
  ]);
  if (r.ok) {
    out();
    out('Trust Chain (subject first, Trust Anchor last):');
    const kindWidth = Math.max(...r.chain.map((s) => s.kind.length));
    for (const [i, s] of r.chain.entries()) {
      out(`  ${i}  ${s.kind.padEnd(kindWidth)}  ${s.iss} → ${s.sub}  exp ${time(s.exp)}`);
    }
    out();
    out('Metadata:');
    out(JSON.stringify(r.metadata ?? {}, null, 2));
    out();
    out('Trust Marks:');
    if (r.trust_marks.length === 0) out('  (none)');
    for (const m of r.trust_marks) out(`  ${m.trust_mark_type}  iss ${m.iss}  exp ${time(m.exp)}`);
  }
  out();
  out('Findings:');
  if (r.findings.length === 0) out('  (none)');
  const width = (pick: (f: Resolution['findings'][number]) => string) =>
    Math.max(...r.findings.map((f) => pick(f).length));
  const stepWidth = width((f) => f.step);
  const codeWidth = width((f) => f.code);
  const entityWidth = width((f) => f.entity_id ?? '-');
  for (const f of r.findings) {
    out(
      `  ${f.step.padEnd(stepWidth)}  ${f.code.padEnd(codeWidth)}  ${(f.entity_id ?? '-').padEnd(entityWidth)}  ${f.message}`,
    );
  }
}

function registerResolveCommand(federation: Command): void {
  federation
    .command('resolve <entityId>')
    .summary('resolve an entity’s Trust Chain, with every finding')
    .description(
      'resolve an entity’s Trust Chain as the platform would: the chain, its resolved metadata, verified trust marks and every finding with its specification step; exits 1 when no valid chain is found',
    )
    .option('--trust-anchor <url>', 'only chains ending at this configured Trust Anchor')
    .option('--entity-type <type>', 'resolve only this Entity Type’s metadata (e.g. openid_relying_party)')
    .option('--refresh', 'ignore cached chains and statements, fetch everything again')
    .addHelpText(
      'after',
      `
Findings name the OpenID Federation 1.0 step that failed, e.g.
  §3.2 step 12  bad_signature  https://rp.example  Subordinate Statement: …
--json prints the admin API response (POST /admin/v1/federation/resolve).
Exit status: 0 when a valid Trust Chain was found, 1 otherwise.`,
    )
    .action(
      (
        entityId: string,
        opts: { trustAnchor?: string; entityType?: string; refresh?: boolean },
        cmd: Command,
      ) => {
        const g = globals(cmd);
        return runAction(g.json, async () => {
          await withAdminClient(g, async (client) => {
            const resolution = await client.call<Resolution>('POST', '/federation/resolve', {
              entity_id: entityId,
              ...(opts.trustAnchor ? { trust_anchor: opts.trustAnchor } : {}),
              ...(opts.entityType ? { entity_type: opts.entityType } : {}),
              ...(opts.refresh ? { force_refresh: true } : {}),
            });
            if (g.json) printJson(resolution);
            else printResolution(resolution);
            process.exitCode = resolution.ok ? 0 : 1;
          });
        });
      },
    );
}

export function registerFederationCommands(program: Command): void {
  const federation = program
    .command('federation')
    .description(
      'OpenID Federation: subordinates, trust marks and federation keys of the platform as Trust Anchor; trust chain resolution',
    );
  registerSubordinateCommands(federation);
  registerTrustMarkCommands(federation);
  registerKeyCommands(federation);
  registerResolveCommand(federation);
}
