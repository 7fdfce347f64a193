import type { CaSettings } from '../pki/index.ts';
import type { PlatformConfig } from './config.ts';
import { CRL_PATH, issuingCrlPath, ROOT_CRL_PATH } from './paths.ts';

/**
 * Where each CA publishes its CRL and for how long a CRL holds: the original issuing CA at CRL_PATH (every
 * certificate it issued names it), later generations at /pki/issuing/<id>.crl, the root at ROOT_CRL_PATH.
 */
export function caSettingsOf(config: PlatformConfig): CaSettings {
  return {
    partnerCertDays: config.pki.partnerCertDays,
    crlValidityHours: config.pki.crlValidityHours,
    crlUrl: `${config.publicUrl}${CRL_PATH}`,
    rootCrlUrl: `${config.publicUrl}${ROOT_CRL_PATH}`,
    rootCrlValidityHours: config.pki.rootCrlValidityDays * 24,
    issuingCrlUrlOf: (id) => `${config.publicUrl}${issuingCrlPath(id)}`,
  };
}
