import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File name → content; names are plain file names inside the kit directory. */
export type KitFiles = Record<string, string | Buffer>;

/**
 * Writes each file that differs from what is on disk as a temporary file renamed over the old one, so a
 * reading nginx or Envoy sees the old file or the new one, never a partial one. CA certificates and CRLs
 * are public: 0644, for edges that run as another user.
 */
export function replaceChanged(dir: string, files: KitFiles): { changed: string[]; unchanged: string[] } {
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o755);
  }
  const changed: string[] = [];
  const unchanged: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
    if (existsSync(path) && readFileSync(path).equals(bytes)) {
      unchanged.push(name);
      continue;
    }
    const temp = join(dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(temp, bytes, { mode: 0o644 });
    chmodSync(temp, 0o644);
    renameSync(temp, path);
    changed.push(name);
  }
  return { changed, unchanged };
}
