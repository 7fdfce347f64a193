/** Object identifiers of RFC 6960 and RFC 5280 used by the responder. */
export const OCSP_OIDS = {
  /** id-pkix-ocsp-basic (RFC 6960 §4.2.1): the only response type the responder produces. */
  basic: '1.3.6.1.5.5.7.48.1.1',
  /** id-pkix-ocsp-nonce (RFC 6960 §4.4.1, RFC 8954). */
  nonce: '1.3.6.1.5.5.7.48.1.2',
  /** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1). */
  noCheck: '1.3.6.1.5.5.7.48.1.5',
  /** id-kp-OCSPSigning (RFC 6960 §4.2.2.2). */
  ocspSigning: '1.3.6.1.5.5.7.3.9',
} as const;

/** CertID hash algorithms the responder matches (RFC 6960 §4.1.1 leaves the choice to the client). */
export const CERT_ID_HASHES: Readonly<Record<string, { name: string; length: number }>> = {
  '1.3.14.3.2.26': { name: 'sha1', length: 20 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', length: 32 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', length: 48 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', length: 64 },
};
