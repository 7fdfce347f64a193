export const CSR_FINDING_CODES = {
  malformedPem: 'malformed_pem',
  malformedCsr: 'malformed_csr',
  badSignature: 'bad_signature',
  unsupportedSignatureAlgorithm: 'unsupported_signature_algorithm',
  weakKey: 'weak_key',
  unsupportedKey: 'unsupported_key',
} as const;

export type CsrFindingCode = (typeof CSR_FINDING_CODES)[keyof typeof CSR_FINDING_CODES];

export type CsrFinding = {
  code: CsrFindingCode;
  field: string;
  message: string;
  reference?: string;
};
