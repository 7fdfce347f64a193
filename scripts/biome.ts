// Runs the Biome binary for this platform. The registry this project installs from carries only the Linux
// builds, and @biomejs/biome's optional per-platform dependencies then break `npm ci`; so the binary
// package is a direct optional dependency and this finds it.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const pkg = `@biomejs/cli-${process.platform}-${process.arch}`;
let bin: string;
try {
  bin = join(
    dirname(require.resolve(`${pkg}/package.json`)),
    process.platform === 'win32' ? 'biome.exe' : 'biome',
  );
} catch {
  process.stderr.write(
    `biome: ${pkg} is not installed; run \`npm install --save-optional ${pkg}\` on this platform\n`,
  );
  process.exit(1);
}
const result = spawnSync(bin, process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
