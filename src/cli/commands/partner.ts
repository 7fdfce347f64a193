import type { Command } from 'commander';
import { printFields, printJson } from '../output.ts';
import { runAction } from '../run-action.ts';
import { globals } from './globals.ts';

// Loaded only by the partner commands that use them: key generation needs the X.509 stack, token and
// call need openid-client and undici.
const keygen = () => import('../partner/generate-partner-key.ts');
const partner = () => import('../partner/index.ts');
const renewal = () => import('../partner/renew-certificate.ts');

interface CredentialOptions {
  cert: string;
  key: string;
  scope?: string;
  clientId?: string;
  issuer?: string;
  ca?: string;
}

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function credentialOptions(cmd: Command): Command {
  return cmd
    .requiredOption('--cert <file>', 'client certificate PEM issued by the platform (`accredit cert issue`)')
    .requiredOption('--key <file>', 'its private key (PEM, unencrypted)')
    .option('--scope <scopes>', 'space-separated scopes to request (default: what the server grants)')
    .option('--client-id <id>', 'client_id (default: the certificate subject CN)')
    .option(
      '--issuer <url>',
      'authorization server issuer (env ACCREDIT_ISSUER; default: the platform running in --dir)',
    )
    .option('--ca <file>', 'CA bundle to trust (env ACCREDIT_CA_BUNDLE; default: DIR/ca/bundle.pem)');
}

export function registerPartnerCommands(program: Command): void {
  const cmd = program
    .command('partner')
    .description('the partner side: make a key and CSR, get a certificate-bound token, call the API');

  cmd
    .command('keygen')
    .description('create a private key (DIR/client.key, 0600) and a PKCS#10 CSR for it (DIR/client.csr)')
    .requiredOption('--out <dir>', 'directory to create (mode 0700)')
    .option('--alg <alg>', 'ES256 | ES384 | PS256 (RSA 3072) | EdDSA (Ed25519)', 'ES256')
    .option('--force', 'replace an existing key')
    .action((opts: { out: string; alg: string; force?: boolean }, c: Command) => {
      const g = globals(c);
      return runAction(g.json, async () => {
        const { generatePartnerKey, parseKeyAlgorithm } = await keygen();
        const made = await generatePartnerKey({
          out: opts.out,
          alg: parseKeyAlgorithm(opts.alg),
          force: opts.force === true,
        });
        const next = `accredit cert issue --app <client_id> --csr ${made.csr} --out ${made.dir}/client.crt`;
        if (g.json) return printJson({ ...made, next });
        printFields([
          ['key', `${made.key} (${made.key_description}, mode 0600; keep it secret)`],
          ['csr', made.csr],
        ]);
        process.stdout.write(`next: send the CSR to the platform operator, who runs\n  ${next}\n`);
      });
    });

  cmd
    .command('renew')
    .description(
      'renew the certificate with a new key: EST simplereenroll (RFC 7030) over mTLS with the current one; the files are replaced atomically, the old pair kept as *.previous',
    )
    .requiredOption('--cert <file>', 'the current client certificate PEM (replaced by the new one)')
    .requiredOption('--key <file>', 'its private key (replaced by the new key)')
    .option('--alg <alg>', 'ES256 | ES384 | PS256 (RSA 3072) | EdDSA (Ed25519); default: as the current key')
    .option(
      '--est-url <url>',
      'EST server base URL, the mTLS listener (env ACCREDIT_EST_URL; default: the platform running in --dir)',
    )
    .option('--ca <file>', 'CA bundle to trust (env ACCREDIT_CA_BUNDLE; default: DIR/ca/bundle.pem)')
    .action((opts: { cert: string; key: string; alg?: string; estUrl?: string; ca?: string }, c: Command) => {
      const g = globals(c);
      return runAction(g.json, async () => {
        const p = await partner();
        const { renewPartnerCertificate } = await renewal();
        const { parseKeyAlgorithm } = await keygen();
        const renewed = await renewPartnerCertificate({
          certFile: opts.cert,
          keyFile: opts.key,
          estUrl: p.resolveEstUrl(opts.estUrl, g.dataDir),
          ca: p.resolveCa(opts.ca, g.dataDir),
          alg: opts.alg === undefined ? undefined : parseKeyAlgorithm(opts.alg),
        });
        if (g.json) return printJson(renewed);
        printFields([
          ['serial', `${renewed.serial} (renews ${renewed.previous_serial})`],
          ['x5t#S256', renewed.x5t_s256],
          ['key', `${renewed.key} (${renewed.key_description}, new)`],
          ['cert', renewed.cert],
          ['valid', `${renewed.not_before} – ${renewed.not_after}`],
          ['previous', `${renewed.previous_cert}, ${renewed.previous_key}`],
        ]);
        process.stdout.write(
          'next: get a token with the new certificate; the old one is revoked as superseded shortly after\n',
        );
      });
    });

  credentialOptions(
    cmd
      .command('token')
      .description(
        'get an access token: client credentials with tls_client_auth over the mTLS endpoint (RFC 8705)',
      ),
  ).action((opts: CredentialOptions, c: Command) => {
    const g = globals(c);
    return runAction(g.json, async () => {
      const p = await partner();
      const credentials = p.loadCredentials(opts.cert, opts.key);
      const issuer = p.resolveIssuer(opts.issuer, g.dataDir);
      const agent = p.createMtlsAgent(credentials, p.resolveCa(opts.ca, g.dataDir));
      try {
        const clientId = p.clientIdFor(credentials, opts.clientId);
        const token = await p.requestToken({ issuer, clientId, scope: opts.scope, agent });
        if (g.json) return printJson(token);
        const expiresIn = token.expires_in;
        printFields([
          ['client_id', clientId],
          ['token_type', token.token_type === 'bearer' ? 'Bearer' : token.token_type],
          ['scope', token.scope ?? '(none)'],
          [
            'expires_in',
            expiresIn === undefined
              ? 'not stated'
              : `${expiresIn} s (until ${new Date(Date.now() + expiresIn * 1000).toISOString()})`,
          ],
          ['bound_to', `x5t#S256 ${credentials.thumbprint}`],
          ['access_token', token.access_token],
        ]);
      } finally {
        await agent.close();
      }
    });
  });

  credentialOptions(
    cmd
      .command('call <method> <path>')
      .description(
        'call the API through the gateway over mTLS with a certificate-bound token (cached next to the key); exit 0 only for 2xx',
      ),
  )
    .option('--data <json>', 'JSON request body, or @file (@- for stdin)')
    .option('--header <header>', "extra request header 'name: value' (repeatable)", collect)
    .option('--gateway <url>', 'gateway base URL (env ACCREDIT_GATEWAY_URL; default: the platform in --dir)')
    .action(
      (
        method: string,
        path: string,
        opts: CredentialOptions & { data?: string; header?: string[]; gateway?: string },
        c: Command,
      ) => {
        const g = globals(c);
        return runAction(g.json, async () => {
          const p = await partner();
          const verb = p.parseMethod(method);
          const url = p.targetUrl(p.resolveGateway(opts.gateway, g.dataDir), path);
          const headers = p.parseHeaders(opts.header ?? []);
          const body = opts.data === undefined ? undefined : p.readJsonData(opts.data);
          if (body !== undefined && headers['content-type'] === undefined) {
            headers['content-type'] = 'application/json';
          }
          const credentials = p.loadCredentials(opts.cert, opts.key);
          const agent = p.createMtlsAgent(credentials, p.resolveCa(opts.ca, g.dataDir));
          try {
            // The liveness probe needs only the certificate; an explicit Authorization header is the caller's.
            const needsToken = url.pathname !== '/health' && headers.authorization === undefined;
            const cache = new p.SavedAccessTokens(opts.key);
            const send = async (fresh: boolean) => {
              if (!needsToken)
                return {
                  res: await p.callGateway({ method: verb, url, headers, body }, agent),
                  fromCache: false,
                };
              if (fresh) cache.delete(credentials.thumbprint, opts.scope);
              const token = await p.obtainToken({
                credentials,
                issuer: p.resolveIssuer(opts.issuer, g.dataDir),
                clientId: opts.clientId,
                scope: opts.scope,
                agent,
                cache,
              });
              const withToken = { ...headers, authorization: `Bearer ${token.accessToken}` };
              return {
                res: await p.callGateway({ method: verb, url, headers: withToken, body }, agent),
                fromCache: token.fromCache,
              };
            };
            let { res, fromCache } = await send(false);
            // A cached token the gateway no longer accepts (revoked, keys rotated): one retry with a new one.
            if (res.status === 401 && fromCache) ({ res } = await send(true));
            if (g.json) printJson({ status: res.status, headers: res.headers, body: res.body });
            else {
              process.stdout.write(`HTTP ${res.status}\n`);
              const shown = res.isJson ? JSON.stringify(res.body, null, 2) : String(res.body);
              if (shown !== '') process.stdout.write(shown.endsWith('\n') ? shown : `${shown}\n`);
            }
            process.exitCode = res.status >= 200 && res.status < 300 ? 0 : 1;
          } finally {
            await agent.close();
          }
        });
      },
    );
}
