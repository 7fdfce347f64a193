/**
 * RFC 9493 subject identifiers, as SSF 1.0 §3 uses them: simple formats, and the `complex` subject whose
 * members (user, device, session, application, tenant, org_unit, group) are themselves simple identifiers.
 */
export type SubjectIdentifier = { format: string; [member: string]: unknown };

const COMPLEX_MEMBERS = ['user', 'device', 'session', 'application', 'tenant', 'org_unit', 'group'] as const;

// RFC 9493 §3.2: the members each simple format requires (all strings).
const FORMAT_MEMBERS: Record<string, readonly string[]> = {
  account: ['uri'],
  email: ['email'],
  iss_sub: ['iss', 'sub'],
  opaque: ['id'],
  phone_number: ['phone_number'],
  did: ['url'],
  uri: ['uri'],
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** A finding about a subject a receiver sent (undefined: acceptable). */
export function subjectProblem(value: unknown, path = 'subject', nested = false): string | undefined {
  if (!isObject(value)) return `${path}: expected a subject identifier object`;
  const format = value.format;
  if (typeof format !== 'string') return `${path}.format: required (RFC 9493 §3)`;
  if (format === 'complex' && !nested) {
    const members = Object.keys(value).filter((k) => k !== 'format');
    if (members.length === 0) return `${path}: a complex subject needs at least one member (SSF 1.0 §3.2)`;
    for (const member of members) {
      if (!(COMPLEX_MEMBERS as readonly string[]).includes(member))
        return `${path}.${member}: not a member of a complex subject`;
      const problem = subjectProblem(value[member], `${path}.${member}`, true);
      if (problem) return problem;
    }
    return undefined;
  }
  const required = FORMAT_MEMBERS[format];
  if (!required)
    return `${path}.format: ${JSON.stringify(format).slice(0, 40)} is not a subject format this transmitter uses`;
  for (const member of required) {
    const v = value[member];
    if (typeof v !== 'string' || v.length === 0 || v.length > 512)
      return `${path}.${member}: required string`;
  }
  for (const key of Object.keys(value)) {
    if (key !== 'format' && !required.includes(key))
      return `${path}.${key}: not a member of format ${format}`;
  }
  return undefined;
}

/** One spelling per identifier (members sorted), so equal subjects compare equal as strings. */
export function canonicalSubject(subject: SubjectIdentifier): string {
  const sort = (v: unknown): unknown =>
    isObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sort(v[k])]),
        )
      : v;
  return JSON.stringify(sort(subject));
}

/**
 * Whether a receiver's subject filter covers an event's `sub_id`: the same identifier; a simple filter equal
 * to one member of a complex subject; or a complex filter whose every member equals the event's same member
 * (a filter `{format: complex, tenant: …}` covers every event about that organisation).
 */
export function subjectCovers(filter: SubjectIdentifier, subId: SubjectIdentifier): boolean {
  const want = canonicalSubject(filter);
  if (want === canonicalSubject(subId)) return true;
  if (subId.format !== 'complex') return false;
  const members = Object.entries(subId).filter(([k]) => k !== 'format');
  if (filter.format !== 'complex') {
    return members.some(([, v]) => isObject(v) && canonicalSubject(v as SubjectIdentifier) === want);
  }
  return Object.entries(filter)
    .filter(([k]) => k !== 'format')
    .every(([k, v]) => {
      const mine = subId[k];
      return (
        isObject(mine) &&
        isObject(v) &&
        canonicalSubject(mine as SubjectIdentifier) === canonicalSubject(v as SubjectIdentifier)
      );
    });
}
