import { invalidInput } from './app-error.ts';

// Control characters and bidi overrides make names that display as something else in consoles and logs.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point.
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** Validates a display name and returns it with the key used for case-insensitive uniqueness. */
export function normaliseName(field: string, raw: unknown, maxLength = 200): { name: string; key: string } {
  if (typeof raw !== 'string') throw invalidInput(`${field} must be a string`, { field });
  const name = raw.normalize('NFC').trim().replace(/\s+/g, ' ');
  if (name.length === 0 || name.length > maxLength) {
    throw invalidInput(`${field} must be 1 to ${maxLength} characters`, { field });
  }
  if (FORBIDDEN.test(name)) throw invalidInput(`${field} contains control characters`, { field });
  return { name, key: name.toLocaleLowerCase('en') };
}
