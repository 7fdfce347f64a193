import { readFileSync } from 'node:fs';

let cached: number | undefined | null = null;

/**
 * This process's soft RLIMIT_NOFILE (Node raises it to the hard limit at start), read once from
 * /proc/self/limits; undefined where that file does not exist (not Linux) or says "unlimited".
 */
export function openFilesLimit(): number | undefined {
  if (cached !== null) return cached;
  cached = undefined;
  try {
    const line = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line?.[1] !== undefined) cached = Number(line[1]);
  } catch {
    // No procfs: the descriptor budget is not enforced, the connection caps still are.
  }
  return cached;
}
