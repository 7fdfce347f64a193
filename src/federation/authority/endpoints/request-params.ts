import { FederationError } from '../../federation-error.ts';
import { validateEntityId } from '../validate-subordinate.ts';

/** Query or form parameters as Fastify and URLSearchParams give them: a repeated name becomes an array. */
export type Params = Record<string, string | string[] | undefined>;

const invalid = (message: string) => new FederationError('invalid_request', 400, message);

/** A parameter that may appear once; §8.9 invalid_request when it is repeated or empty, or absent but required. */
export function singleParam(params: Params, name: string, required: true): string;
export function singleParam(params: Params, name: string, required?: false): string | undefined;
export function singleParam(params: Params, name: string, required = false): string | undefined {
  const value = params[name];
  if (value === undefined) {
    if (required) throw invalid(`required parameter ${name} is missing`);
    return undefined;
  }
  if (Array.isArray(value)) throw invalid(`parameter ${name} must appear once`);
  if (value.length === 0) throw invalid(`parameter ${name} is empty`);
  if (value.length > 4096) throw invalid(`parameter ${name} is too long`);
  return value;
}

/** A parameter that MAY occur multiple times (entity_type, trust_anchor). */
export function multiParam(params: Params, name: string): string[] {
  const value = params[name];
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  if (values.length > 20) throw invalid(`parameter ${name} is repeated too often`);
  for (const v of values) {
    if (v.length === 0 || v.length > 4096) throw invalid(`parameter ${name} is empty or too long`);
  }
  return [...new Set(values)];
}

/** A Boolean parameter (§8.2.1 trust_marked, intermediate): true or false. */
export function booleanParam(params: Params, name: string): boolean | undefined {
  const value = singleParam(params, name);
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw invalid(`parameter ${name} must be true or false`);
  return value === 'true';
}

/** An Entity Identifier parameter; a malformed one is invalid_request, not not_found. */
export function entityIdParam(params: Params, name: string, allowHttpLoopback: boolean): string {
  const value = singleParam(params, name, true);
  try {
    return validateEntityId(value, name, { allowHttpLoopback });
  } catch {
    throw invalid(`parameter ${name} is not an Entity Identifier (https URL without query or fragment)`);
  }
}
