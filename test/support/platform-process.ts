import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * A free port below the kernel's ephemeral range (32768+ on Linux), so that nothing binding port 0
 * meanwhile (the platform's sample API, clients) can be handed the same one before the platform binds it.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws on a non-zero exit, the caller asserts on it. */
export function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 10 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** A real `accredit serve` in a child process over a fresh data directory. */
export class PlatformProcess {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly port: number;
  readonly ports: { public: number; mtls: number; gateway: number; pkiHttp: number };
  #child: ChildProcess | undefined;
  output = '';

  private constructor(
    dir: string,
    ports: { public: number; mtls: number; gateway: number; pkiHttp: number },
    env: NodeJS.ProcessEnv,
  ) {
    this.dir = dir;
    this.port = ports.public;
    this.ports = ports;
    this.env = env;
  }

  static async create(extraEnv: NodeJS.ProcessEnv = {}): Promise<PlatformProcess> {
    const dir = mkdtempSync(join(tmpdir(), 'accredit-e2e-'));
    const ports = {
      public: await freePort(),
      mtls: await freePort(),
      gateway: await freePort(),
      pkiHttp: await freePort(),
    };
    return new PlatformProcess(dir, ports, {
      ACCREDIT_DIR: '',
      ACCREDIT_KEK: '',
      ACCREDIT_OPERATOR_TOKEN: '',
      ACCREDIT_PUBLIC_PORT: String(ports.public),
      ACCREDIT_MTLS_PORT: String(ports.mtls),
      ACCREDIT_GATEWAY_PORT: String(ports.gateway),
      ACCREDIT_PKI_HTTP_PORT: String(ports.pkiHttp),
      ACCREDIT_LOG_LEVEL: 'info',
      ...extraEnv,
    });
  }

  get url(): string {
    return `https://localhost:${this.port}`;
  }

  get mtlsUrl(): string {
    return `https://localhost:${this.ports.mtls}`;
  }

  get gatewayUrl(): string {
    return `https://localhost:${this.ports.gateway}`;
  }

  /** The plain-HTTP PKI publication listener (CRLs, OCSP, CA certificates). */
  get pkiHttpUrl(): string {
    return `http://localhost:${this.ports.pkiHttp}`;
  }

  get caBundle(): string {
    return join(this.dir, 'ca', 'bundle.pem');
  }

  cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    return run(process.execPath, [CLI, '--dir', this.dir, ...args], { ...this.env, ...env });
  }

  /** Starts `serve`; with `maxOpenFiles`, under that soft and hard RLIMIT_NOFILE (Node raises soft to hard). */
  async start(args: string[] = [], options: { maxOpenFiles?: number } = {}): Promise<void> {
    const command = [process.execPath, CLI, '--dir', this.dir, 'serve', ...args];
    const [file, ...argv] =
      options.maxOpenFiles === undefined
        ? command
        : ['/bin/sh', '-c', `ulimit -n ${options.maxOpenFiles} && exec "$@"`, 'sh', ...command];
    const child = spawn(file!, argv, {
      env: { ...process.env, ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    child.stdout.on('data', (d) => {
      this.output += String(d);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`platform did not start:\n${this.output}`)), 30_000);
      child.stderr.on('data', (d) => {
        this.output += String(d);
        if (this.output.includes('accredit: serving')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`platform exited with ${code}:\n${this.output}`));
      });
    });
  }

  /** The process id of the running `serve` (the shell of `maxOpenFiles` execs into it). */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Whether `serve` is still running. */
  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** SIGTERM and wait; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return child?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    return exited;
  }

  cleanup(): void {
    this.#child?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The partner side with plain OpenSSL: a new EC key and a CSR, or a self-signed certificate when `days` is set. */
export function opensslKeyAndRequest(opts: {
  key: string;
  out: string;
  subject: string;
  curve?: 'P-256' | 'P-384';
  selfSignedDays?: number;
}): Promise<RunResult> {
  const mode = opts.selfSignedDays === undefined ? ['-new'] : ['-x509', '-days', String(opts.selfSignedDays)];
  return run('openssl', [
    'req',
    ...mode,
    '-newkey',
    'ec',
    '-pkeyopt',
    `ec_paramgen_curve:${opts.curve ?? 'P-256'}`,
    '-nodes',
    '-keyout',
    opts.key,
    '-out',
    opts.out,
    '-subj',
    opts.subject,
  ]);
}
