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
  CERTIFICATE_PAGE_KEY_LENGTH,
  CertificateAuthority,
  type CertificateFilter,
  type CertificateView,
  countCertificates,
  getCertificate,
  type IssuingCaView,
  listCertificates,
  listCertificatesPage,
  skiHexOfPem,
  storeCertificateAuthorities,
} from './certificate-authority.ts';
export { type CertificateRecord, type CertificateStore, certificateStore } from './certificate-store.ts';
export { type CheckedChain, type CheckedCrl, checkChainMaterial } from './chain-material.ts';
export { type BuildCrlOptions, buildCrl, type CrlEntry, crlDerToPem } from './crl.ts';
export { type CsrValidation, MAX_CSR_PEM_BYTES, validateCsr } from './csr.ts';
export { CSR_FINDING_CODES, type CsrFinding, type CsrFindingCode } from './csr-finding.ts';
export { type CreateCsrOptions, createCsr } from './csr-generator.ts';
export {
  type CertificateEnforcementView,
  type ExternalCaEnforcementView,
  externalCaEnforcementSnapshot,
  pkiEnforcementSnapshot,
} from './enforcement-snapshot.ts';
export { PkiError, type PkiErrorOptions } from './errors.ts';
export { base64Lines, certificatesOfCms, certsOnlyCms, splitCertificatePems } from './est/certs-only.ts';
export { MAX_EST_BODY_BYTES, pkcs10BodyToPem } from './est/pkcs10-body.ts';
export * from './expiry/index.ts';
export {
  canonicalTlsClientAuthValue,
  certificateIdentityMatches,
  TLS_CLIENT_AUTH_PROPERTIES,
  type TlsClientAuthProperty,
} from './external-ca/certificate-identity.ts';
export { createOcspChecker, type OcspChecker, type OcspStatus, queryOcsp } from './external-ca/check-ocsp.ts';
export {
  EXTERNAL_CA_DEFAULTS,
  EXTERNAL_CA_PAGE_KEY_LENGTH,
  type ExternalCaStore,
  type ExternalCaView,
  externalCaEdgeMaterial,
  externalCaStore,
  type RegisterExternalCaInput,
  registerExternalCa,
  removeExternalCa,
} from './external-ca/external-cas.ts';
export { parseExternalCa, spkiSha256 } from './external-ca/parse-external-ca.ts';
export { refreshExternalCa, startExternalCrlRefresher } from './external-ca/refresh-external-crl.ts';
export {
  EXTERNAL_CERTIFICATE_REFUSALS,
  type ExternalCertificateVerdict,
  verifyExternalCertificate,
} from './external-ca/verify-external-certificate.ts';
export { normaliseSerial, verifyExternalCrl } from './external-ca/verify-external-crl.ts';
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
export {
  checkRenewal,
  DEFAULT_RENEWAL_SETTINGS,
  type RenewalSettings,
  renewalWindowOpensAt,
  supersedeDueAt,
} from './renewal/renewal-rules.ts';
export {
  effectiveRotationPolicy,
  MAX_LIFETIME_DAYS,
  POLICY_KEY_ALGORITHMS,
  type PolicyKeyAlgorithm,
  policyAlgorithmsOf,
  ROTATION_POLICY_SCOPES,
  type RotationPolicy,
  type RotationPolicyScope,
  type RotationPolicySettings,
  removeRotationPolicy,
  rotationPolicyStore,
  type StoredRotationPolicy,
  setRotationPolicy,
  validateRotationPolicySettings,
} from './renewal/rotation-policy.ts';
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
