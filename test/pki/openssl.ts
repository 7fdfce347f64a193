import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type OpensslResult = { status: number; stdout: string; stderr: string; stdoutBytes: Buffer };

/** Runs the real openssl CLI; fixtures are generated at test time rather than kept on disk. */
export function openssl(
  args: string[],
  options: { input?: string | Buffer; cwd?: string } = {},
): OpensslResult {
  const run = spawnSync('openssl', args, { input: options.input, cwd: options.cwd, maxBuffer: 1 << 24 });
  if (run.error) throw run.error;
  return {
    status: run.status ?? -1,
    stdout: run.stdout.toString('utf8'),
    stderr: run.stderr.toString('utf8'),
    stdoutBytes: run.stdout,
  };
}

/** Like openssl() but fails the test with stderr when openssl exits non-zero. */
export function opensslOk(
  args: string[],
  options: { input?: string | Buffer; cwd?: string } = {},
): OpensslResult {
  const result = openssl(args, options);
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${result.stderr}`);
  return result;
}

export class TempDir {
  readonly path = mkdtempSync(join(tmpdir(), 'accredit-pki-'));

  file(name: string): string {
    return join(this.path, name);
  }

  write(name: string, data: string | Buffer): string {
    const path = this.file(name);
    writeFileSync(path, data);
    return path;
  }

  read(name: string): string {
    return readFileSync(this.file(name), 'utf8');
  }

  remove(): void {
    rmSync(this.path, { recursive: true, force: true });
  }
}

/** Generates a private key with `openssl genpkey` and returns its path. */
export function genpkey(dir: TempDir, name: string, args: string[]): string {
  const path = dir.file(`${name}.key`);
  opensslOk(['genpkey', ...args, '-out', path]);
  return path;
}

/** A CSR (PEM) for an existing key; the subject is whatever the requester claims. */
export function csrFor(keyPath: string, extra: string[] = [], subject = '/CN=partner'): string {
  return opensslOk(['req', '-new', '-key', keyPath, '-subj', subject, ...extra]).stdout;
}

/** Seconds since the epoch, for `openssl verify -attime`. */
export function epoch(date: Date): string {
  return String(Math.floor(date.getTime() / 1000));
}
