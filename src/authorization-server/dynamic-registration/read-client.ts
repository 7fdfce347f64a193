import { getApplication } from '../../directory/index.ts';
import { authenticateRegistration } from './authenticate-registration.ts';
import { clientInformation } from './client-information.ts';
import type { DynamicRegistrationOptions } from './options.ts';

/** RFC 7592 §2.1: the client's current registration (its access token is not repeated: only its hash is kept). */
export async function readClient(
  options: DynamicRegistrationOptions,
  clientId: string,
  token: string | undefined,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const registration = await authenticateRegistration(options.storage, clientId, token, options.clock());
  const app = await getApplication(options.storage.db, clientId);
  return { status: 200, body: clientInformation(app, registration, { mtlsUrl: options.mtlsUrl }) };
}
