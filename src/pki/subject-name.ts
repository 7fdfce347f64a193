import { PkiError } from './errors.ts';
import { x509 } from './x509.ts';

export const NAME_OIDS = {
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  // X.520 (2012) §6.4.4 organizationIdentifier, as used by ETSI EN 319 412-1 and PSD2 certificates.
  organizationIdentifier: '2.5.4.97',
} as const;

export type NameAttribute = { oid: string; value: string; maxLength: number; field: string };

/**
 * Structured X.501 Name, one attribute per RDN, every value a UTF8String (RFC 5280 §4.1.2.6).
 * Values go in as `{ utf8String }` objects: @peculiar/x509 parses plain string values (a leading '#'
 * becomes raw hex DER, quotes and backslashes are unescaped), so only the object form is literal.
 */
export function buildName(attributes: NameAttribute[]): x509.Name {
  const rdns = attributes.map(({ oid, value, maxLength, field }) => {
    if (typeof value !== 'string' || value.length === 0) {
      throw new PkiError('invalid_subject', `${field} must be a non-empty string`, { status: 400 });
    }
    // RFC 5280 Appendix A upper bounds (ub-common-name, ub-organization-name: 64).
    if ([...value].length > maxLength) {
      throw new PkiError('invalid_subject', `${field} must be at most ${maxLength} characters`, {
        status: 400,
      });
    }
    // Control characters would forge lines in logs that print subjects; bidi overrides (CVE-2021-42574)
    // would make one name display as another.
    if (/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u.test(value)) {
      throw new PkiError('invalid_subject', `${field} must not contain control or bidi override characters`, {
        status: 400,
      });
    }
    if (value.trim() !== value) {
      throw new PkiError('invalid_subject', `${field} must not start or end with whitespace`, {
        status: 400,
      });
    }
    if (!value.isWellFormed()) {
      throw new PkiError('invalid_subject', `${field} is not well-formed Unicode`, { status: 400 });
    }
    return { [oid]: [{ utf8String: value }] };
  });
  return new x509.Name(rdns);
}
