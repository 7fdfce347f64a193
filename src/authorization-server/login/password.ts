import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../shared/app-error.ts';

/**
 * argon2id (RFC 9106) with the OWASP Password Storage Cheat Sheet's first recommended configuration:
 * 19 MiB of memory, 2 passes, 1 lane, a 16-byte random salt and a 32-byte tag. Node's own implementation
 * (`crypto.argon2`, Node ≥ 24.7), never a hand-rolled KDF.
 */
export const ARGON2_PARAMETERS = { memory: 19_456, passes: 2, parallelism: 1, tagLength: 32 } as const;

// NIST SP 800-63B §5.1.1.2: at least 8 characters; a generous maximum bounds the KDF's input.
export const MIN_PASSWORD_LENGTH = 8;
export const MAX_PASSWORD_LENGTH = 1024;

export class PasswordPolicyError extends AppError {
  constructor(message: string) {
    super('invalid_password', 400, message);
  }
}

/** Refuses a password outside the length policy (counted in Unicode code points, NFC). */
export function checkPasswordPolicy(password: string): void {
  const length = [...password.normalize('NFC')].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw new PasswordPolicyError(`a password has at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  if (length > MAX_PASSWORD_LENGTH) {
    throw new PasswordPolicyError(`a password has at most ${MAX_PASSWORD_LENGTH} characters`);
  }
}

function derive(
  password: string,
  salt: Buffer,
  p: { memory: number; passes: number; parallelism: number; tagLength: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    argon2(
      'argon2id',
      { message: Buffer.from(password.normalize('NFC'), 'utf8'), nonce: salt, ...p },
      (err, tag) => (err ? reject(err) : resolve(Buffer.from(tag))),
    ),
  );
}

/** The PHC string format of the reference implementation: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  checkPasswordPolicy(password);
  const salt = randomBytes(16);
  const tag = await derive(password, salt, ARGON2_PARAMETERS);
  const { memory: m, passes: t, parallelism: p } = ARGON2_PARAMETERS;
  return `$argon2id$v=19$m=${m},t=${t},p=${p}$${salt.toString('base64url')}$${tag.toString('base64url')}`;
}

const PHC =
  /^\$argon2id\$v=19\$m=(\d{1,7}),t=(\d{1,3}),p=(\d{1,2})\$([A-Za-z0-9_-]{16,})\$([A-Za-z0-9_-]{16,})$/;

/** Whether `password` matches a stored hash; compares in constant time; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = PHC.exec(stored);
  if (!match) return false;
  const [, m, t, p, salt, hash] = match as unknown as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64url');
  if ([...password].length > MAX_PASSWORD_LENGTH) return false;
  const tag = await derive(password, Buffer.from(salt, 'base64url'), {
    memory: Number(m),
    passes: Number(t),
    parallelism: Number(p),
    tagLength: expected.length,
  });
  return tag.length === expected.length && timingSafeEqual(tag, expected);
}

let dummy: Promise<string> | undefined;

/**
 * Spends the time a real verification spends when there is no account (or no password) to check, so the
 * answer's timing does not tell which usernames exist.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword('accredit-dummy-password');
  await verifyPassword(password, await dummy);
  return false;
}

/** Whether a stored hash uses weaker parameters than today's (rehash on the next successful login). */
export function needsRehash(stored: string): boolean {
  const match = PHC.exec(stored);
  if (!match) return true;
  return (
    Number(match[1]) < ARGON2_PARAMETERS.memory ||
    Number(match[2]) < ARGON2_PARAMETERS.passes ||
    Number(match[3]) < ARGON2_PARAMETERS.parallelism
  );
}
