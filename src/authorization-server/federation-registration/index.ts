export { type ExplicitRegistrationOptions, registerExplicitRegistration } from './explicit-registration.ts';
export { type FederatedClient, federatedClientFrom } from './federated-client.ts';
export {
  removeSubordinateEndingRegistrations,
  revokeTrustMarkEndingRegistration,
  updateSubordinateEndingRegistrations,
} from './federation-change-reactions.ts';
export {
  type RefreshOptions,
  type RefreshOutcome,
  refreshFederationRegistrations,
} from './refresh-registrations.ts';
export {
  endFederationRegistration,
  endFederationRegistrationsVia,
  type FederationRegistration,
  type FederationRegistrationInput,
  registerFederationClient,
} from './register-federation-client.ts';
