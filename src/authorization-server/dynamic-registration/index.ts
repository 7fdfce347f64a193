export { REGISTRATION_PATH, registrationClientUri } from './client-information.ts';
export { createDynamicRegistration } from './create-dynamic-registration.ts';
export type { DynamicRegistrationOptions } from './options.ts';
export {
  REGISTRATION_ERRORS,
  type RegistrationErrorCode,
  type RegistrationFinding,
} from './registration-error.ts';
