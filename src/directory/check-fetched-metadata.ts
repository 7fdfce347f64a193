import { invalidInput } from '../shared/app-error.ts';
import { FetchError, type UrlGuard } from '../shared/guarded-fetch/index.ts';

/** Client metadata members naming a URL the platform fetches: the authorization server reads jwks_uri. */
const FETCHED_MEMBERS = ['jwks_uri'] as const;

/**
 * Refuses client metadata naming a URL the platform would not fetch (loopback, private, link-local, metadata
 * service: no SSRF), before anything is stored. Checked outside the transaction: it may wait on DNS. Values
 * that are not https URLs at all are left to the metadata validation of createApplication.
 */
export async function assertFetchableMetadata(
  metadata: Record<string, unknown> | undefined,
  urlGuard: UrlGuard,
): Promise<void> {
  for (const member of FETCHED_MEMBERS) {
    const value = metadata?.[member];
    if (typeof value !== 'string' || !URL.canParse(value) || new URL(value).protocol !== 'https:') continue;
    try {
      await urlGuard.assertFetchable(value);
    } catch (err) {
      if (!(err instanceof FetchError)) throw err;
      throw invalidInput(`metadata.${member} is not a URL the platform fetches: ${err.message}`, {
        field: `metadata.${member}`,
        reason: err.code,
      });
    }
  }
}
