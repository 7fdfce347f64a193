export {
  activeApplicationsAmong,
  activeApplicationsCreatedBy,
  listRoleHoldersPage,
  type ReviewedApplication,
  ROLE_HOLDER_PAGE_KEY,
  type RoleHolderView,
  roleHolderCounts,
} from './access-review.ts';
export {
  APPLICATION_AUTH_METHODS,
  APPLICATION_PAGE_KEY,
  type ApplicationAuthMethod,
  type ApplicationFilter,
  type ApplicationView,
  AUTH_METHODS,
  type AuthMethod,
  type CreateApplicationInput,
  certificateApplications,
  createApplication,
  deregisterApplication,
  getApplication,
  listApplications,
  listApplicationsPage,
  PUBLIC_AUTH_METHOD,
  requireApplication,
  setApplicationStatus,
  suspendApplicationsOfOrganisation,
  type UpdateRegistrationInput,
  updateApplicationProfile,
  updateRegisteredApplication,
} from './applications.ts';
export {
  type ImportApplication,
  ImportBatchError,
  type ImportFinding,
  type ImportOrganisation,
  type ImportProgress,
  type ImportSummary,
  ImportValidator,
  MAX_IMPORT_FINDINGS,
  writeImport,
} from './bulk-import.ts';
export {
  type CatalogRouteView,
  listCatalog,
  listRoles,
  type RoleView,
  scopesForRoles,
  seedCatalog,
} from './catalog.ts';
export {
  activeRevision,
  applyCatalog,
  type CatalogChangeResult,
  type CatalogRevisionView,
  listCatalogRevisions,
  normaliseCatalog,
} from './catalog-apply.ts';
export { type CatalogDiff, diffCatalogs, summariseDiff } from './catalog-diff.ts';
export {
  type CatalogDocument,
  type CatalogOperation,
  type CatalogResource,
  type CatalogRole,
  type CatalogRoutePayload,
  type CatalogScope,
  catalogRoutesPayload,
  compareOperations,
  normaliseAlternatives,
  type OperationAuth,
  type OperationDpop,
  type OperationMtls,
  readCatalog,
} from './catalog-document.ts';
export {
  type CatalogDraftView,
  type CatalogStage,
  createDraft,
  discardDraft,
  editCatalog,
  promoteDraft,
  readDraft,
} from './catalog-drafts.ts';
export {
  createCatalogResource,
  createCatalogRole,
  createCatalogScope,
  deleteCatalogResource,
  deleteCatalogRole,
  deleteCatalogScope,
  type ResourceInput,
  type RoleInput,
  type ScopeInput,
  updateCatalogResource,
  updateCatalogRole,
  updateCatalogScope,
} from './catalog-entries.ts';
export { type CatalogFinding, catalogFindings } from './catalog-findings.ts';
export * from './catalog-import/index.ts';
export {
  type CatalogEdited,
  type CatalogEditMeta,
  type CatalogOperationInput,
  type CatalogOperationView,
  createCatalogOperation,
  deleteCatalogOperation,
  updateCatalogOperation,
} from './catalog-operations.ts';
export { SEED_RESOURCES, SEED_ROLES, SEED_ROUTES, SEED_SCOPES } from './catalog-seed.ts';
export { assertFetchableMetadata } from './check-fetched-metadata.ts';
export type { ActionMeta } from './context.ts';
export {
  type ApplicationWithOrganisation,
  claimSoftwareStatement,
  type DirectoryStore,
  directoryStore,
  lockOrganisationOfApplication,
  recordSoftwareStatementClient,
  type SoftwareStatementRecord,
} from './directory-store.ts';
export {
  type ApplicationEnforcementView,
  type DirectoryEnforcementSnapshot,
  directoryEnforcementSnapshot,
} from './enforcement-snapshot.ts';
export { expiringSoftwareStatementKeys } from './expiring-software-statement-keys.ts';
export {
  type Environment,
  GO_LIVE_REQUIREMENTS,
  GO_LIVE_RUN_MAX_AGE_DAYS,
  type GoLiveStatus,
  getTestplanRun,
  goLive,
  goLiveStatus,
  listTestplanRuns,
  liveOrganisations,
  organisationLiveAt,
  recordTestplanRun,
  revokeGoLive,
  type SubmittingApplication,
  submittingApplication,
  type TestplanOutcome,
  type TestplanRunInput,
  type TestplanRunSummary,
  type TestplanRunView,
} from './go-live.ts';
export {
  acceptInvitation,
  changeMemberRole,
  createInvitation,
  DEFAULT_INVITATION_TTL_MS,
  findInvitationByToken,
  type InvitationLookup,
  type InvitationStatus,
  type InvitationView,
  listInvitations,
  listMembers,
  type MemberView,
  removeMember,
  revokeInvitation,
} from './invitations.ts';
export { offboardOrganisation, type RevokeOrganisationCertificates } from './offboard-organisation.ts';
export {
  listMemberships,
  MEMBER_ROLES,
  type MemberRole,
  type MembershipView,
  memberRoleAtLeast,
  memberRoleOf,
  putMember,
} from './organisation-members.ts';
export {
  addContact,
  CONTACT_KINDS,
  type ContactInput,
  type CreateOrganisationInput,
  createOrganisation,
  getOrganisation,
  listOrganisations,
  listOrganisationsPage,
  ORG_STATUSES,
  ORGANISATION_PAGE_KEY,
  type OrganisationView,
  type OrgStatus,
  organisationNames,
  removeContact,
  requireOrganisation,
  setOrganisationStatus,
} from './organisations.ts';
export { directoryOverviewCounts, type StatusCounts } from './overview-counts.ts';
export {
  getRateLimit,
  type RateLimitSubject,
  type RateLimitView,
  rateLimitSnapshot,
  removeRateLimit,
  setRateLimit,
} from './rate-limits.ts';
export {
  approveOrganisationRole,
  grantApplicationRole,
  liveRoles,
  type RoleGrantView,
  revokeApplicationRole,
  roleGrants,
  withdrawOrganisationRole,
} from './role-grants.ts';
export {
  createRoleRequest,
  decideRoleRequest,
  getRoleRequest,
  listRoleRequests,
  listRoleRequestsPage,
  type RoleRequestStatus,
  type RoleRequestView,
  withdrawRoleRequest,
} from './role-requests.ts';
export { HTTP_METHODS, validateRoutePattern } from './route-pattern.ts';
export {
  DIRECTORY_JWKS_PATH,
  DIRECTORY_PATH,
  directoryIssuer,
  getSoftwareStatement,
  type IssuedSoftwareStatement,
  type IssueSoftwareStatementInput,
  issueSoftwareStatement,
  listSoftwareStatements,
  publishedSoftwareStatementJwks,
  revokeSoftwareStatement,
  SOFTWARE_STATEMENT_LIFETIME,
  type SoftwareStatementClaims,
  type SoftwareStatementSigner,
  type SoftwareStatementView,
} from './software-statements.ts';
export { assertClientJwks, lintClientJwks } from './validate-client-jwks.ts';
