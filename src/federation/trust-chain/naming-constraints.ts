/**
 * RFC 5280 §4.2.1.10 DNS name constraint matching, as §6.2.2 uses it on the host of an Entity Identifier:
 * "host.example.com" names exactly that host; ".example.com" names every host below example.com (one or more
 * labels added) but not example.com itself. Comparison is case-insensitive.
 */
export function matchesNameConstraint(host: string, constraint: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  const c = constraint.toLowerCase().replace(/\.$/, '');
  if (c.startsWith('.')) return h.endsWith(c) && h.length > c.length;
  return h === c;
}

export type NamingVerdict = 'ok' | 'excluded' | 'not_permitted';

/** §6.2.2: an excluded match wins over any permitted one; with a permitted list, the host must match one. */
export function checkNamingConstraints(
  entityId: string,
  constraints: { permitted?: string[]; excluded?: string[] },
): NamingVerdict {
  const host = new URL(entityId).hostname.replace(/^\[|\]$/g, '');
  if (constraints.excluded?.some((c) => matchesNameConstraint(host, c))) return 'excluded';
  if (
    constraints.permitted !== undefined &&
    !constraints.permitted.some((c) => matchesNameConstraint(host, c))
  ) {
    return 'not_permitted';
  }
  return 'ok';
}
