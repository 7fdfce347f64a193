/** Structural JSON equality; object key order is insignificant, array order is significant. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  const bo = b as Record<string, unknown>;
  return ak.every((k) => Object.hasOwn(bo, k) && jsonEqual((a as Record<string, unknown>)[k], bo[k]));
}

export const includes = (set: readonly unknown[], item: unknown): boolean =>
  set.some((x) => jsonEqual(x, item));

export const isSubset = (sub: readonly unknown[], sup: readonly unknown[]): boolean =>
  sub.every((item) => includes(sup, item));

/** Operator values are sets (§6.1.3.1): arrays are equal when they hold the same members in any order. */
export function operandEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return isSubset(a, b) && isSubset(b, a);
  return jsonEqual(a, b);
}

/** Members of `a` in `a`'s order, then members of `b` not already present, without duplicates. */
export function union(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of [...a, ...b]) if (!includes(out, item)) out.push(structuredClone(item));
  return out;
}

/** Members of `a` (in `a`'s order) that are also in `b`, without duplicates. */
export function intersection(a: readonly unknown[], b: readonly unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of a) if (includes(b, item) && !includes(out, item)) out.push(structuredClone(item));
  return out;
}

/**
 * `scope` is a space-separated string that policy operators regard and process as an array of strings
 * (§6.1.3.1.8); any other value is returned unchanged.
 */
export function asPolicyValue(parameter: string, v: unknown): unknown {
  if (parameter === 'scope' && typeof v === 'string') return v.split(' ').filter((s) => s !== '');
  return v;
}
