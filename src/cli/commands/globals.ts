import type { Command } from 'commander';
import { resolveDataDir } from '../../shared/data-dir.ts';

export interface GlobalOptions {
  dataDir: string;
  json: boolean;
  url: string | undefined;
}

export function globals(cmd: Command): GlobalOptions {
  const o = cmd.optsWithGlobals() as { dir?: string; json?: boolean; url?: string };
  return { dataDir: resolveDataDir(o.dir), json: o.json === true, url: o.url };
}

export const commaList = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
