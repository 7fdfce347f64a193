import { type Draft, metadataFinding } from '../dynamic-registration/registration-policy/draft.ts';
import { FAPI_CLIENT_METADATA } from './fapi-profile.ts';

/**
 * Dynamic registration (RFC 7591 §2, §3.1.1) of `fapi_profile`. The software statement carries the profile the
 * operator set on the software (`2.0` or `off`), and its value stands for the client unless the request asks
 * for something stricter: a client may always ask to be held to the FAPI 2.0 Security Profile (`2.0`), never
 * to be exempt from it (`off`) unless its statement says so — an exemption is an operator's decision, not a
 * partner's. Nothing from either: the platform's profile applies.
 */
export function checkFapiProfile(d: Draft): void {
  const requested = d.request[FAPI_CLIENT_METADATA];
  const granted = d.statement?.fapiProfile;
  if (requested === undefined) {
    if (granted !== undefined) d.fapiProfile = granted;
    return;
  }
  if (requested === '2.0' || (requested === 'off' && granted === 'off')) {
    d.fapiProfile = requested;
    return;
  }
  metadataFinding(
    d,
    FAPI_CLIENT_METADATA,
    requested === 'off'
      ? 'a client cannot exempt itself from the FAPI 2.0 profile: only a software statement the operator issued for exempt software can'
      : 'must be "2.0" (FAPI 2.0 Security Profile)',
    'RFC 7591 §3.1.1',
  );
}
