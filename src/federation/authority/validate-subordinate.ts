import { createPublicKey } from 'node:crypto';
import { AppError, invalidInput } from '../../shared/app-error.ts';
import {
  combineMetadataPolicies,
  type MetadataPolicy,
  MetadataPolicyError,
} from '../metadata-policy/index.ts';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export interface EntityIdOptions {
  /** Development only: accept http:// Entity Identifiers on loopback hosts (federation.fetch.allowLoopback). */
  allowHttpLoopback?: boolean | undefined;
}

/**
 * §1.2 "Entity Identifier": an https URL with a host, optionally port and path, and no query or fragment.
 * The string is kept as given: Entity Identifiers are compared as strings, so normalising would change identity.
 */
export function validateEntityId(value: unknown, field: string, options: EntityIdOptions = {}): string {
  const fail = (why: string) => invalidInput(`${field} ${why}`, { field });
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048) {
    throw fail('must be an Entity Identifier (an https URL of at most 2048 characters)');
  }
  if (!URL.canParse(value)) throw fail('is not a URL');
  const url = new URL(value);
  const loopbackHttp = url.protocol === 'http:' && options.allowHttpLoopback === true;
  if (url.protocol !== 'https:' && !(loopbackHttp && LOOPBACK_HOSTS.has(url.hostname))) {
    throw fail('must use the https scheme (OpenID Federation 1.0 §1.2)');
  }
  if (!url.hostname) throw fail('must have a host component');
  // §1.2: an Entity Identifier MUST NOT contain query parameter or fragment components.
  if (url.search || value.includes('?')) throw fail('must not contain a query component');
  if (url.hash || value.includes('#')) throw fail('must not contain a fragment component');
  if (url.username || url.password) throw fail('must not contain user information');
  return value;
}

// Members that only a private or symmetric JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** The JWK Set of a subordinate's Federation Entity Keys (§3.1.1 `jwks`): public keys only, each with a unique kid. */
export function validateFederationJwks(
  value: unknown,
  field = 'jwks',
): { keys: Array<Record<string, unknown>> } {
  if (!isPlainObject(value) || !Array.isArray(value.keys) || value.keys.length === 0) {
    throw invalidInput(`${field} must be a JWK Set with at least one key`, { field });
  }
  if (value.keys.length > 20) throw invalidInput(`${field} holds more than 20 keys`, { field });
  const kids = new Set<string>();
  const keys = value.keys.map((key: unknown, i: number) => {
    const at = `${field}.keys[${i}]`;
    if (!isPlainObject(key)) throw invalidInput(`${at} is not a JWK`, { field: at });
    // §3.1.1: every JWK in the set MUST have a unique kid.
    if (typeof key.kid !== 'string' || key.kid.length === 0 || key.kid.length > 200) {
      throw invalidInput(`${at}.kid is required`, { field: `${at}.kid` });
    }
    if (kids.has(key.kid)) throw invalidInput(`${at}.kid is not unique`, { field: `${at}.kid` });
    kids.add(key.kid);
    const leaked = PRIVATE_MEMBERS.filter((m) => m in key);
    if (leaked.length > 0) {
      // Only the member names are reported: echoing the values would spread the secret further.
      throw invalidInput(`${at} holds private or symmetric key material (${leaked.join(', ')})`, {
        field: at,
      });
    }
    if (key.kty !== 'EC' && key.kty !== 'RSA' && key.kty !== 'OKP') {
      throw invalidInput(`${at}.kty must be EC, RSA or OKP`, { field: `${at}.kty` });
    }
    let size: number | undefined;
    try {
      const imported = createPublicKey({ key: key as never, format: 'jwk' });
      size = imported.asymmetricKeyDetails?.modulusLength;
    } catch {
      throw invalidInput(`${at} is not a valid public JWK`, { field: at });
    }
    if (key.kty === 'RSA' && (size ?? 0) < 2048) {
      throw invalidInput(`${at} is an RSA key shorter than 2048 bits`, { field: at });
    }
    return key;
  });
  return { keys };
}

const ENTITY_TYPE = /^[a-z][a-z0-9_]{0,63}$/;

export function validateEntityTypes(value: unknown, field = 'entity_types'): string[] {
  if (
    !Array.isArray(value) ||
    value.length > 20 ||
    !value.every((t) => typeof t === 'string' && ENTITY_TYPE.test(t))
  ) {
    throw invalidInput(`${field} must be a list of Entity Type Identifiers (e.g. openid_relying_party)`, {
      field,
    });
  }
  return [...new Set(value as string[])].sort();
}

/** §3.1.1 `metadata`: one JSON object per Entity Type; null is not a metadata value (§3.2 step on metadata). */
export function validateMetadata(
  value: unknown,
  field = 'metadata',
): Record<string, Record<string, unknown>> {
  if (!isPlainObject(value)) throw invalidInput(`${field} must be a JSON object`, { field });
  for (const [type, params] of Object.entries(value)) {
    if (!ENTITY_TYPE.test(type))
      throw invalidInput(`${field}: "${type}" is not an Entity Type Identifier`, { field });
    if (!isPlainObject(params))
      throw invalidInput(`${field}.${type} must be a JSON object`, { field: `${field}.${type}` });
    for (const [name, v] of Object.entries(params)) {
      if (v === null)
        throw invalidInput(`${field}.${type}.${name} must not be null`, {
          field: `${field}.${type}.${name}`,
        });
    }
  }
  return value as Record<string, Record<string, unknown>>;
}

/**
 * §6.1 `metadata_policy`: every Entity Type's policy must be valid on its own, so it is combined with an empty
 * superior policy, which runs the operator checks and the combination rules of §6.1.3.
 */
export function validateMetadataPolicy(
  value: unknown,
  crit: readonly string[] | undefined,
  field = 'metadata_policy',
): Record<string, MetadataPolicy> {
  if (!isPlainObject(value)) throw invalidInput(`${field} must be a JSON object`, { field });
  for (const [type, policy] of Object.entries(value)) {
    const at = `${field}.${type}`;
    if (!ENTITY_TYPE.test(type))
      throw invalidInput(`${field}: "${type}" is not an Entity Type Identifier`, { field });
    if (!isPlainObject(policy)) throw invalidInput(`${at} must be a JSON object`, { field: at });
    try {
      combineMetadataPolicies({}, policy as MetadataPolicy, { crit });
    } catch (err) {
      if (err instanceof MetadataPolicyError) {
        throw new AppError('invalid_policy', 400, `${at}: ${err.message}`, {
          field: at,
          section: err.section,
        });
      }
      throw err;
    }
  }
  return value as Record<string, MetadataPolicy>;
}

/** §3.1.3 `metadata_policy_crit`: non-empty; whether the operators are understood is the policy check's job. */
export function validateMetadataPolicyCrit(value: unknown, field = 'metadata_policy_crit'): string[] {
  if (
    !Array.isArray(value) ||
    value.length === 0 ||
    !value.every((v) => typeof v === 'string' && v.length > 0)
  ) {
    throw invalidInput(`${field} must be a non-empty list of operator names`, { field });
  }
  return value as string[];
}

const isStringList = (v: unknown): v is string[] =>
  Array.isArray(v) &&
  v.length <= 100 &&
  v.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 255);

/** §6.2 `constraints`: max_path_length ≥ 0, naming_constraints as RFC 5280 name subtrees, allowed_entity_types. */
export function validateConstraints(value: unknown, field = 'constraints'): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalidInput(`${field} must be a JSON object`, { field });
  if ('max_path_length' in value) {
    const n = value.max_path_length;
    // §6.2.1: MUST be greater than or equal to zero.
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 100) {
      throw invalidInput(`${field}.max_path_length must be an integer ≥ 0`, {
        field: `${field}.max_path_length`,
      });
    }
  }
  if ('naming_constraints' in value) {
    const nc = value.naming_constraints;
    const at = `${field}.naming_constraints`;
    if (!isPlainObject(nc)) throw invalidInput(`${at} must be a JSON object`, { field: at });
    for (const member of ['permitted', 'excluded'] as const) {
      if (member in nc && !isStringList(nc[member])) {
        throw invalidInput(`${at}.${member} must be a list of domain names`, { field: `${at}.${member}` });
      }
    }
  }
  if ('allowed_entity_types' in value) {
    const types = validateEntityTypes(value.allowed_entity_types, `${field}.allowed_entity_types`);
    // §6.2.3: federation_entity is always allowed and MUST NOT be included in the constraint.
    if (types.includes('federation_entity')) {
      throw invalidInput(`${field}.allowed_entity_types must not include federation_entity`, {
        field: `${field}.allowed_entity_types`,
      });
    }
  }
  return value;
}
