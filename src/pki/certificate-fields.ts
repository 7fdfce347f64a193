import { createPublicKey, type KeyObject } from 'node:crypto';
import { PkiError } from './errors.ts';

const DAY_MS = 86_400_000;

/** The end of a validity period of `days` whole days from `now`. */
export function validityEnd(now: Date, days: number): Date {
  if (!Number.isInteger(days) || days <= 0) {
    throw new PkiError('invalid_validity', 'validityDays must be a positive integer', { status: 400 });
  }
  return new Date(now.getTime() + days * DAY_MS);
}

export function toPublicKey(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key);
}

export function spkiOf(key: KeyObject): Buffer {
  return toPublicKey(key).export({ type: 'spki', format: 'der' });
}
