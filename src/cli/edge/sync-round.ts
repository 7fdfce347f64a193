import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CheckedChain, checkChainMaterial } from '../../pki/index.ts';
import { CliError } from '../cli-error.ts';
import { type EdgeSource, fetchChain } from './fetch-chain.ts';
import { type EdgeTarget, KIT, kitMaterial } from './kit-material.ts';
import type { KitFiles } from './replace-files.ts';
import { replaceChanged } from './replace-files.ts';

export interface CrlSummary {
  level: 'root' | 'issuing';
  issuer: string;
  crl_number: number;
  this_update: string;
  next_update: string;
  revoked: number;
}

export interface RoundResult {
  at: string;
  changed: string[];
  unchanged: string[];
  crls: CrlSummary[];
  reload: { command: string; exit_code: number; output: string } | null;
}

export const summariseCrls = (chain: CheckedChain): CrlSummary[] =>
  chain.crls.map((c) => ({
    level: c.level,
    issuer: c.issuer,
    crl_number: c.crlNumber,
    this_update: c.thisUpdate.toISOString(),
    next_update: c.nextUpdate.toISOString(),
    revoked: c.revoked,
  }));

/** Fetches and checks the chain; with `pinToKit`, the root must be the one the kit in `dir` already trusts. */
export async function fetchCheckedMaterial(
  target: EdgeTarget,
  source: EdgeSource,
  dir: string,
  now: Date,
  pinToKit: boolean,
): Promise<{ files: KitFiles; chain: CheckedChain }> {
  const fetched = await fetchChain(source);
  const current = join(dir, KIT.bundle);
  let chain: CheckedChain;
  try {
    chain = await checkChainMaterial({
      bundlePem: fetched.bundlePem,
      crls: fetched.crls,
      now,
      pinnedBundlePem: pinToKit && existsSync(current) ? readFileSync(current, 'utf8') : undefined,
    });
  } catch (err) {
    throw new CliError(
      `refused what ${source.platformUrl} served: ${(err as Error).message}`,
      'bad_material',
    );
  }
  return {
    files: kitMaterial(target, fetched.bundlePem, chain, {
      caPems: fetched.externalCaPems,
      crlsPem: fetched.externalCrlsPem,
    }),
    chain,
  };
}

/** The reload command runs through the shell, as an operator would type it; its output is kept for the report. */
function runReload(command: string): { command: string; exit_code: number; output: string } {
  const run = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', timeout: 120_000 });
  const output = `${run.stdout ?? ''}${run.stderr ?? ''}`.trim().slice(-2000);
  return { command, exit_code: run.status ?? 1, output };
}

/**
 * One sync: fetch, check, replace the files that changed (atomically), and run the reload command only if
 * something did. A fetch or check failure leaves every file as it was: a stale CRL beats a broken one.
 */
export async function syncRound(options: {
  target: EdgeTarget;
  source: EdgeSource;
  dir: string;
  now: Date;
  reload?: string | undefined;
}): Promise<RoundResult> {
  const { files, chain } = await fetchCheckedMaterial(
    options.target,
    options.source,
    options.dir,
    options.now,
    true,
  );
  const { changed, unchanged } = replaceChanged(options.dir, files);
  const reload = options.reload && changed.length > 0 ? runReload(options.reload) : null;
  return { at: options.now.toISOString(), changed, unchanged, crls: summariseCrls(chain), reload };
}
