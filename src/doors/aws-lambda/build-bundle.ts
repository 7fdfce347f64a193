import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const ENTRY = fileURLToPath(new URL('./handler.ts', import.meta.url));

export interface LambdaBundle {
  /** The single-file ESM bundle: the function's handler is `index.handler`. */
  file: string;
  bytes: number;
  /** Every source file the bundle holds, relative to the project (for the check that no platform role is in). */
  inputs: string[];
}

const README = `# Accredit AWS Lambda authorizer

Zip this folder's \`index.mjs\` and deploy it as a Lambda function:

- runtime \`nodejs24.x\`, handler \`index.handler\`, architecture of your choice (the bundle is plain JavaScript);
- memory 256 MB or more (certificate and signature checks are CPU work), timeout 5 s or more;
- environment: \`ACCREDIT_PLATFORM_URL\`, \`ACCREDIT_CA_BUNDLE\` (PEM text, or a file shipped beside
  \`index.mjs\`), \`ACCREDIT_ENFORCEMENT_CREDENTIAL\` (from \`accredit gateway credential issue\`; keep it in a
  secret store and pass it as an environment variable), \`ACCREDIT_AUDIENCE\`; optional
  \`ACCREDIT_RESPONSE_MODE\` (iam | simple), \`ACCREDIT_POLICY_RESOURCE\` (exact | wildcard),
  \`ACCREDIT_REFRESH_MS\`, \`ACCREDIT_STALE_AFTER_MS\`, \`ACCREDIT_STRIP_PREFIX\`, \`ACCREDIT_ISSUER\`,
  \`ACCREDIT_JWKS_URI\`, \`ACCREDIT_LOG_LEVEL\`.

Attach it to API Gateway as a REQUEST authorizer (REST API) or a Lambda authorizer with payload format 2.0
(HTTP API). Read docs/aws-lambda.md of the Accredit repository before enabling authorizer caching.
`;

/**
 * Bundles the handler and everything it loads into one ESM file with esbuild (target Node 24), plus a README:
 * a folder ready to zip. CommonJS dependencies (pino) get `require` from `createRequire`, as ESM has none.
 */
export async function buildLambdaBundle(outDir: string): Promise<LambdaBundle> {
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, 'index.mjs');
  const result = await build({
    entryPoints: [ENTRY],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    metafile: true,
    legalComments: 'eof',
    logLevel: 'silent',
    banner: {
      js: "import { createRequire as __accreditCreateRequire } from 'node:module';\nconst require = __accreditCreateRequire(import.meta.url);",
    },
  });
  writeFileSync(join(outDir, 'README.md'), README);
  const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]!]!.bytes;
  return { file, bytes, inputs: Object.keys(result.metafile.inputs) };
}

/** `npm run build:lambda -- --out DIR` (default dist/aws-lambda). */
async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: 'dist/aws-lambda' } } });
  const bundle = await buildLambdaBundle(resolve(values.out));
  process.stdout.write(`wrote ${bundle.file} (${bundle.bytes} bytes, ${bundle.inputs.length} modules)\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`build:lambda: ${(err as Error).message}\n`);
    process.exitCode = 1;
  });
}
