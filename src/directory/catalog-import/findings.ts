/**
 * One thing an OpenAPI import has to say about the document. `error`s make the import unusable (the caller
 * must not apply it); `warning`s are accepted but worth reading (something the gateway will not enforce, a
 * scope nobody declared). Each points at the place in the document it is about, so a provider can fix it.
 */
export interface ImportFinding {
  severity: 'error' | 'warning';
  /** Stable, snake_case: what a caller or a test branches on. */
  code: string;
  /** RFC 6901 JSON pointer into the OpenAPI document; `''` is the whole document. */
  pointer: string;
  detail: string;
}

/** RFC 6901: `~` and `/` are escaped inside a token. */
export function pointerOf(...tokens: ReadonlyArray<string | number>): string {
  return tokens.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

export const error = (code: string, pointer: string, detail: string): ImportFinding => ({
  severity: 'error',
  code,
  pointer,
  detail,
});

export const warning = (code: string, pointer: string, detail: string): ImportFinding => ({
  severity: 'warning',
  code,
  pointer,
  detail,
});

export const hasErrors = (findings: readonly ImportFinding[]): boolean =>
  findings.some((f) => f.severity === 'error');

/** A plain JSON object (not an array, not null): what every OpenAPI object is. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
