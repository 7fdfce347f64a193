import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { CliError } from './cli-error.ts';

export const ROOT_PASSPHRASE_ENV = 'ACCREDIT_ROOT_KEY_PASSPHRASE';

/** Asks on the terminal without echoing what is typed. */
function prompt(question: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve) => {
    rl.question(question, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}

/**
 * The passphrase of an exported root key: from a file (its first line), from ACCREDIT_ROOT_KEY_PASSPHRASE,
 * or typed at the terminal (twice when it protects a new export). Never from a command-line argument,
 * which other users of the host can read in the process list.
 */
export async function rootPassphrase(options: {
  file?: string | undefined;
  confirm?: boolean;
}): Promise<string> {
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
    } catch {
      throw new CliError(`cannot read the passphrase file ${options.file}`, 'unreadable');
    }
    return text.split(/\r?\n/)[0] ?? '';
  }
  const fromEnv = process.env[ROOT_PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CliError(
      `no passphrase: use --passphrase-file, set ${ROOT_PASSPHRASE_ENV}, or run on a terminal`,
      'no_passphrase',
    );
  }
  const first = await prompt('root key passphrase: ');
  if (options.confirm) {
    const again = await prompt('again: ');
    if (again !== first) throw new CliError('the passphrases differ', 'no_passphrase');
  }
  return first;
}
