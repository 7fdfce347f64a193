import type { CaSettings } from '../pki/index.ts';
import type { PlatformConfig } from './config.ts';
import { CA_CERT_DIR, CRL_PATH, issuingCrlPath, OCSP_PATH, ROOT_CRL_PATH } from './paths.ts';

// Publication URLs are on the plain-http base (pki.publicHttpUrl): relying parties fetch them without TLS.
export const crlUrlOf = (config: PlatformConfig) => `${config.pki.publicHttpUrl}${CRL_PATH}`;
export const rootCrlUrlOf = (config: PlatformConfig) => `${config.pki.publicHttpUrl}${ROOT_CRL_PATH}`;
export const ocspUrlOf = (config: PlatformConfig) => `${config.pki.publicHttpUrl}${OCSP_PATH}`;
export const caCertUrlOf = (config: PlatformConfig) => (skiHex: string) =>
  `${config.pki.publicHttpUrl}${CA_CERT_DIR}/${skiHex}.cer`;

/**
 * Where certificates point relying parties (CRL distribution points and AIA: OCSP, caIssuers) and for how
 * long a CRL holds: the original issuing CA's CRL at CRL_PATH (every certificate it issued names it), later
 * generations at /pki/issuing/<id>.crl, the root's at ROOT_CRL_PATH — all on the plain-http base.
 */
export function caSettingsOf(config: PlatformConfig): CaSettings {
  return {
    partnerCertDays: config.pki.partnerCertDays,
    crlValidityHours: config.pki.crlValidityHours,
    crlUrl: crlUrlOf(config),
    rootCrlUrl: rootCrlUrlOf(config),
    rootCrlValidityHours: config.pki.rootCrlValidityDays * 24,
    issuingCrlUrlOf: (id) => `${config.pki.publicHttpUrl}${issuingCrlPath(id)}`,
    ocspUrl: ocspUrlOf(config),
    caCertUrlOf: caCertUrlOf(config),
  };
}
