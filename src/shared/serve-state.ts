import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What a running `accredit serve` tells other commands: its pid and the URLs it actually bound. */
export interface ServeState {
  pid: number;
  started_at: string;
  listeners: { public: string; mtls?: string; gateway?: string };
}

const stateFile = (dataDir: string) => join(dataDir, 'run', 'serve.json');

export function writeServeState(dataDir: string, state: ServeState): void {
  mkdirSync(join(dataDir, 'run'), { recursive: true, mode: 0o700 });
  writeFileSync(stateFile(dataDir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The state of a live server, or undefined when none runs (a stale file from a crash is ignored). */
export function readServeState(dataDir: string): ServeState | undefined {
  const file = stateFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as ServeState;
    return isAlive(state.pid) ? state : undefined;
  } catch {
    return undefined;
  }
}

export function clearServeState(dataDir: string, pid: number): void {
  const file = stateFile(dataDir);
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as ServeState;
    if (state.pid === pid) rmSync(file, { force: true });
  } catch {
    // Nothing to clear.
  }
}
