import { AppError } from '../shared/app-error.ts';
import { nameSkeleton } from '../shared/name-skeleton.ts';

// X.520 caps organizationName at 64 characters, and the name goes into every certificate the org receives.
const MAX_LENGTH = 64;

// Characters that show nothing, or show as something else, would let two names that display alike be distinct.
const REFUSED: Array<[RegExp, string]> = [
  [/\p{Cc}/u, 'a control character'],
  [/[\u{e0000}-\u{e007f}]/u, 'a tag character'],
  [/\p{Variation_Selector}/u, 'a variation selector'],
  [/\p{Bidi_Control}/u, 'a bidi control character'],
  [/\p{Cf}/u, 'an invisible format character'],
  [/\p{Default_Ignorable_Code_Point}/u, 'an invisible character'],
  [/[\p{Zl}\p{Zp}]/u, 'a line or paragraph separator'],
  [/\p{Co}/u, 'a private-use character'],
  [/\p{Cs}/u, 'an unpaired surrogate'],
  [/\p{Cn}/u, 'an unassigned code point'],
];

// Scripts whose letters stand in for each other (UTS #39 §5.2 keeps Cyrillic and Greek out of Latin words).
const LOOKALIKE_SCRIPTS: Array<[string, RegExp]> = [
  ['Latin', /\p{Script=Latin}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Armenian', /\p{Script=Armenian}/u],
  ['Cherokee', /\p{Script=Cherokee}/u],
];

const codePoint = (char: string): string =>
  `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

export interface OrganisationName {
  /** As stored and put in certificates: NFC, single ASCII spaces, nothing invisible. */
  name: string;
  /** Case-insensitive equality. */
  key: string;
  /** UTS #39 skeleton: equal for names that look alike. */
  skeleton: string;
}

/**
 * Normalises an organisation name (NFC; every Unicode space becomes one ASCII space; trimmed) and refuses
 * characters that are invisible or display as something else, naming the first one by its code point.
 */
export function validateOrganisationName(raw: unknown): OrganisationName {
  if (typeof raw !== 'string')
    throw new AppError('invalid_input', 400, 'name must be a string', { field: 'name' });
  const nfc = raw.normalize('NFC');
  for (const char of nfc) {
    const refused = REFUSED.find(([re]) => re.test(char));
    if (refused) {
      const at = codePoint(char);
      throw new AppError('invalid_name_character', 400, `name must not contain ${at}, ${refused[1]}`, {
        field: 'name',
        code_point: at,
      });
    }
  }
  const name = nfc.replace(/\p{Zs}+/gu, ' ').trim();
  if (name.length === 0 || name.length > MAX_LENGTH) {
    throw new AppError('invalid_input', 400, `name must be 1 to ${MAX_LENGTH} characters`, { field: 'name' });
  }
  return { name, key: name.toLocaleLowerCase('en'), skeleton: nameSkeleton(name) };
}

/** Refuses a word that mixes letters of scripts that pass for each other ("Pаypal" with a Cyrillic а). */
export function refuseMixedScripts(name: string): void {
  for (const word of name.split(' ')) {
    const scripts = LOOKALIKE_SCRIPTS.filter(([, re]) => [...word].some((char) => re.test(char))).map(
      ([script]) => script,
    );
    if (scripts.length > 1) {
      throw new AppError(
        'mixed_script_name',
        400,
        `name mixes ${scripts.join(' and ')} letters in the word "${word}"`,
        { field: 'name', scripts },
      );
    }
  }
}
