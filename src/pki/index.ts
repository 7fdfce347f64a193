export {
  type CaMaterial,
  type CreateIssuingCaOptions,
  type CreateRootCaOptions,
  createIssuingCa,
  createRootCa,
  type ReissueIssuingCaOptions,
  reissueIssuingCa,
} from './ca-certificates.ts';
export { type AuthorityView, listAuthorities, trustBundle } from './ca-records.ts';
export {
  CA_LEVELS,
  type CaLevel,
  type CaRef,
  type CaSettings,
  CertificateAuthority,
  type CertificateView,
  getCertificate,
  type IssuingCaView,
  listCertificates,
  storeCertificateAuthorities,
} from './certificate-authority.ts';
export { type CertificateRecord, type CertificateStore, certificateStore } from './certificate-store.ts';
export { type CheckedChain, type CheckedCrl, checkChainMaterial } from './chain-material.ts';
export { type BuildCrlOptions, buildCrl, type CrlEntry, crlDerToPem } from './crl.ts';
export { type CsrValidation, MAX_CSR_PEM_BYTES, validateCsr } from './csr.ts';
export { CSR_FINDING_CODES, type CsrFinding, type CsrFindingCode } from './csr-finding.ts';
export { type CreateCsrOptions, createCsr } from './csr-generator.ts';
export { type CertificateEnforcementView, pkiEnforcementSnapshot } from './enforcement-snapshot.ts';
export { PkiError, type PkiErrorOptions } from './errors.ts';
export type { IssuedCertificate } from './issued-certificate.ts';
export type { CertificateIssuer } from './issuer.ts';
export { describePublicKey } from './key-description.ts';
export { decryptPrivateKey, encryptPrivateKey } from './key-encryption.ts';
export { generateKeyPair, KEY_ALGORITHMS, type KeyAlgorithm, type KeyPair } from './keys.ts';
export {
  type BuildPartnerCertificateOptions,
  buildPartnerCertificate,
  type PartnerCertificate,
  type PartnerSubject,
} from './partner-certificate.ts';
export { derToPem, pemToDer } from './pem.ts';
export { retireExpendedIssuing, retireIssuing } from './retire-issuing-ca.ts';
export {
  isRevocationReason,
  parseRevocationReason,
  REVOCATION_REASONS,
  type RevocationReason,
} from './revocation-reasons.ts';
export { revokeIssuing } from './revoke-issuing-ca.ts';
export { formatRfc4514 } from './rfc4514.ts';
export {
  exportRootKey,
  importRootKey,
  MIN_ROOT_PASSPHRASE_LENGTH,
  publishRootCrl,
  readRootKeyExport,
  rootCrlHoursOf,
  takeRootOffline,
} from './root-key.ts';
export { rotateIssuing } from './rotate-issuing-ca.ts';
export { randomSerialHex } from './serial.ts';
export {
  type IssueServerCertificateOptions,
  issueServerCertificate,
  type ServerCertificate,
} from './server-certificate.ts';
export { x5tS256 } from './thumbprint.ts';
