/**
 * How deep a JSON body may nest. Nothing we accept needs more than a handful of levels (JWKs, metadata,
 * policies); deeper input only exists to exhaust the stack of whatever walks it later (JSON.stringify,
 * validators, policy merges), which answers a RangeError, a 500.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`, found by one scan of the raw text before
 * anything parses or walks it, so the check itself uses no recursion. Exact for valid JSON (brackets inside
 * strings are skipped); for invalid text the answer does not matter, JSON.parse refuses it anyway.
 */
export function exceedsJsonDepth(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  // Every level costs at least one byte: short text cannot be too deep.
  if (text.length <= maxDepth) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > maxDepth) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
