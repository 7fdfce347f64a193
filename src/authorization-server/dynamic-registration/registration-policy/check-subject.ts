import { type Draft, metadataFinding } from './draft.ts';

// RFC 8705 §2.1.2 names four SAN alternatives; this server pins the exact subject of a certificate it issued.
const UNSUPPORTED_SUBJECT_FIELDS = [
  'tls_client_auth_san_dns',
  'tls_client_auth_san_uri',
  'tls_client_auth_san_ip',
  'tls_client_auth_san_email',
] as const;

/**
 * tls_client_auth: the exact subject of an active certificate the platform issued to an active application of
 * the client's own organisation, and the one the statement names when there is one; never a pattern, never
 * another organisation's certificate, never that of a suspended or deleted application (the token endpoint
 * checks the same of the certificate presented).
 */
export function checkSubject(d: Draft): void {
  if (d.request.tls_client_auth_ca_id !== undefined) {
    checkExternalSubject(d);
    return;
  }
  for (const field of UNSUPPORTED_SUBJECT_FIELDS) {
    if (d.request[field] !== undefined) {
      metadataFinding(d, field, 'not supported: use tls_client_auth_subject_dn', 'RFC 8705 §2.1.2');
    }
  }
  const requested = d.request.tls_client_auth_subject_dn;
  if (d.authMethod !== 'tls_client_auth') {
    if (requested !== undefined) {
      metadataFinding(d, 'tls_client_auth_subject_dn', 'only applies to tls_client_auth', 'RFC 8705 §2.1.2');
    }
    return;
  }
  const value = requested ?? d.statement?.tlsClientAuthSubjectDn;
  if (typeof value !== 'string' || value.length === 0) {
    metadataFinding(
      d,
      'tls_client_auth_subject_dn',
      'tls_client_auth needs the certificate subject',
      'RFC 8705 §2.1.2',
    );
    return;
  }
  const named = d.statement?.tlsClientAuthSubjectDn;
  if (named !== undefined && value !== named) {
    metadataFinding(
      d,
      'tls_client_auth_subject_dn',
      'must be the certificate subject the software statement names',
      'RFC 7591 §3.1.1',
    );
  }
  if (!d.context.certificateSubjects.has(value)) {
    metadataFinding(
      d,
      'tls_client_auth_subject_dn',
      `is not the subject of an active certificate the platform issued to an active application of organisation ${d.context.orgId}`,
      'RFC 8705 §2.1',
    );
  }
  d.subjectDn = value;
}

const ALL_SUBJECT_FIELDS = ['tls_client_auth_subject_dn', ...UNSUPPORTED_SUBJECT_FIELDS] as const;

/**
 * Bring your own CA: a client naming `tls_client_auth_ca_id` is matched by a certificate of that CA (one its
 * organisation registered: the directory checks it, and canonicalises the value) with exactly one subject
 * DN or subjectAltName (RFC 8705 §2.1.2). A software statement naming a subject binds the client to it.
 */
function checkExternalSubject(d: Draft): void {
  const caId = d.request.tls_client_auth_ca_id;
  if (d.authMethod !== 'tls_client_auth' || typeof caId !== 'string' || caId.length === 0) {
    metadataFinding(
      d,
      'tls_client_auth_ca_id',
      'only a CA id, and only for tls_client_auth',
      'RFC 8705 §2.1.2',
    );
    return;
  }
  const present = ALL_SUBJECT_FIELDS.filter((f) => d.request[f] !== undefined);
  const property = present[0];
  if (present.length !== 1 || property === undefined) {
    metadataFinding(
      d,
      'tls_client_auth_subject_dn',
      'exactly one subject value is required',
      'RFC 8705 §2.1.2',
    );
    return;
  }
  const named = d.statement?.tlsClientAuthSubjectDn;
  if (named !== undefined && (property !== 'tls_client_auth_subject_dn' || d.request[property] !== named)) {
    metadataFinding(
      d,
      property,
      'must be the certificate subject the software statement names',
      'RFC 7591 §3.1.1',
    );
    return;
  }
  d.externalSubject = { property, value: d.request[property], caId };
}
