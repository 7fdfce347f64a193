import { type Draft, metadataFinding } from '../dynamic-registration/registration-policy/draft.ts';
import { FAPI_CLIENT_METADATA } from './fapi-profile.ts';

/**
 * Dynamic registration (RFC 7591 §2) of `fapi_profile`: a client may ask to be held to the FAPI 2.0 Security
 * Profile (`2.0`) whatever the platform's setting, never to be exempt from it: `off` is an operator's
 * decision on the application (directory metadata), not a partner's. Absent: the platform's profile applies.
 */
export function checkFapiProfile(d: Draft): void {
  const value = d.request[FAPI_CLIENT_METADATA];
  if (value === undefined) return;
  if (value === '2.0') {
    d.fapiProfile = '2.0';
    return;
  }
  metadataFinding(
    d,
    FAPI_CLIENT_METADATA,
    value === 'off'
      ? 'a client cannot exempt itself from the FAPI 2.0 profile; an operator decides that'
      : 'must be "2.0" (FAPI 2.0 Security Profile)',
    'RFC 7591 §2',
  );
}
