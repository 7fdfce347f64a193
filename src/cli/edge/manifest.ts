import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CliError } from '../cli-error.ts';
import { EDGE_TARGETS, type EdgeTarget, KIT } from './kit-material.ts';

/** What `edge export` leaves for `edge sync`: which edge, which platform, and the files sync may rewrite. */
export interface EdgeManifest {
  for: EdgeTarget;
  platform_url: string;
  /** The bundle the platform's TLS certificate chains to, when export was told one; else the kit's own. */
  ca_file?: string;
  /** The certificate and CRL files; configuration files are the operator's once written and never synced. */
  material: string[];
  config: string[];
  exported_at: string;
}

export function readManifest(dir: string): EdgeManifest {
  const file = join(dir, KIT.manifest);
  if (!existsSync(file)) {
    throw new CliError(
      `${dir} holds no edge kit (${KIT.manifest}): run \`accredit edge export\` first`,
      'no_kit',
    );
  }
  let manifest: EdgeManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as EdgeManifest;
  } catch {
    throw new CliError(`${file} is not valid JSON`, 'bad_kit');
  }
  if (
    !EDGE_TARGETS.includes(manifest.for) ||
    typeof manifest.platform_url !== 'string' ||
    (manifest.ca_file !== undefined && typeof manifest.ca_file !== 'string')
  ) {
    throw new CliError(`${file} is not an edge kit manifest`, 'bad_kit');
  }
  return manifest;
}

export function manifestJson(manifest: EdgeManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}
