import { isIP } from 'node:net';
import { PkiError } from '../errors.ts';
import { formatRfc4514 } from '../rfc4514.ts';
import { x509 } from '../x509.ts';

/** RFC 8705 §2.1.2: the client metadata that names the one certificate subject value a client is matched by. */
export const TLS_CLIENT_AUTH_PROPERTIES = [
  'tls_client_auth_subject_dn',
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;
export type TlsClientAuthProperty = (typeof TLS_CLIENT_AUTH_PROPERTIES)[number];

const SAN_TYPE: Record<Exclude<TlsClientAuthProperty, 'tls_client_auth_subject_dn'>, string> = {
  tls_client_auth_san_dns: 'dns',
  tls_client_auth_san_uri: 'url',
  tls_client_auth_san_ip: 'ip',
  tls_client_auth_san_email: 'email',
};

function invalid(property: string, message: string): PkiError {
  return new PkiError('invalid_tls_client_auth_value', `${property}: ${message}`, { status: 400 });
}

function canonicalIp(value: string): string | undefined {
  const v = isIP(value);
  if (v === 4)
    return value
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  if (v === 6) return new URL(`http://[${value}]/`).hostname.slice(1, -1);
  return undefined;
}

function canonicalEmail(value: string): string | undefined {
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return undefined;
  // RFC 5280 §4.2.1.6 / §7.5: the local part is case-sensitive, the domain part is not.
  return `${value.slice(0, at)}@${value.slice(at + 1).toLowerCase()}`;
}

/** An RFC 4514 string in the platform's one spelling, so two spellings of one DN compare equal (as DNs). */
function canonicalDn(value: string): string {
  // @peculiar/x509 reads a DN string first RDN first; RFC 4514 §2.1 writes the last RDN first: reverse it.
  const parsed = new x509.Name(value).toJSON();
  if (parsed.length === 0) throw new Error('empty DN');
  return formatRfc4514(new x509.Name([...parsed].reverse()).toArrayBuffer());
}

/**
 * The registered value in canonical form, or a 400 naming the property: an RFC 4514 DN parsed and re-written,
 * a DNS name in lower case (RFC 4343), an IP address in its canonical text, an absolute URI, an address.
 */
export function canonicalTlsClientAuthValue(property: TlsClientAuthProperty, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    throw invalid(property, 'must be a non-empty string');
  }
  switch (property) {
    case 'tls_client_auth_subject_dn':
      try {
        return canonicalDn(value);
      } catch {
        throw invalid(property, 'is not an RFC 4514 distinguished name (use upper-case short names or OIDs)');
      }
    case 'tls_client_auth_san_dns':
      if (
        !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(
          value,
        )
      ) {
        throw invalid(property, 'is not a DNS name');
      }
      return value.toLowerCase();
    case 'tls_client_auth_san_uri':
      if (!URL.canParse(value)) throw invalid(property, 'is not an absolute URI');
      return value;
    case 'tls_client_auth_san_ip': {
      const ip = canonicalIp(value);
      if (ip === undefined) throw invalid(property, 'is not an IPv4 or IPv6 address');
      return ip;
    }
    case 'tls_client_auth_san_email': {
      const email = canonicalEmail(value);
      if (email === undefined) throw invalid(property, 'is not an email address');
      return email;
    }
  }
}

/**
 * RFC 8705 §2.1.2: the certificate carries exactly the registered value — its subject DN (compared as a DN),
 * or one subjectAltName entry of the registered kind. `expected` is the canonical registered value.
 */
export function certificateIdentityMatches(
  leafDer: Uint8Array,
  property: TlsClientAuthProperty,
  expected: string,
): boolean {
  const cert = new x509.X509Certificate(leafDer);
  if (property === 'tls_client_auth_subject_dn') {
    return formatRfc4514(cert.subjectName.toArrayBuffer()) === expected;
  }
  const type = SAN_TYPE[property];
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  for (const name of san?.names.items ?? []) {
    if (name.type !== type) continue;
    const value =
      type === 'dns'
        ? name.value.toLowerCase()
        : type === 'ip'
          ? canonicalIp(name.value)
          : type === 'email'
            ? canonicalEmail(name.value)
            : name.value;
    if (value === expected) return true;
  }
  return false;
}
