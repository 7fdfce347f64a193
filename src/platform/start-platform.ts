import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import swagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type PlatformEvents, type SharedSignals, startPlatformEvents } from '../audit/index.ts';
import {
  type AuthorizationServer,
  createAuthorizationServer,
  createCertificateResolver,
  type ExplicitRegistrationOptions,
  openIdProviderMetadata,
  pruneExpiredOidcModels,
  refreshFederationRegistrations,
  registerExplicitRegistration,
} from '../authorization-server/index.ts';
import { createCallerResolver, registerConsoleWeb } from '../console/index.ts';
import { registerConsoleSignIn } from '../console/sign-in/index.ts';
import { directoryIssuer } from '../directory/index.ts';
import {
  createFederationAuthority,
  DatabaseFederationKeyStore,
  type FederationAuthority,
  isFederationPath,
  registerFederationEndpoints,
  type TrustChainResolver,
} from '../federation/index.ts';
import {
  type CatalogRoute,
  catalogRoutesOf,
  createDecisionListener,
  createGateway,
  type DecisionListener,
  type Gateway,
  proxyCertificates,
} from '../gateway/index.ts';
import { CertificateAuthority } from '../pki/index.ts';
import { startSampleApi } from '../sample-api/index.ts';
import { legacyProxyEntries, type ProxyEntry } from '../shared/client-cert-headers/index.ts';
import { type Clock, systemClock } from '../shared/clock.ts';
import { createHttpsListener } from '../shared/create-https-listener.ts';
import type { GuardedFetcher } from '../shared/guarded-fetch/index.ts';
import { openStorage, type Storage } from '../storage/index.ts';
import { registerAccessReviewRoutes } from './admin-api/access-reviews-routes.ts';
import { registerAccountRoutes } from './admin-api/accounts-routes.ts';
import { registerApplicationRoutes } from './admin-api/applications-routes.ts';
import { registerOperatorAuth } from './admin-api/auth.ts';
import { registerCaRoutes } from './admin-api/ca-routes.ts';
import { registerCatalogRoutes } from './admin-api/catalog-routes.ts';
import { registerCertificateRoutes } from './admin-api/certificates-routes.ts';
import { registerDecisionRoutes } from './admin-api/decisions-routes.ts';
import type { AdminDeps } from './admin-api/deps.ts';
import { registerEnforcementCredentialRoutes } from './admin-api/enforcement-credentials-routes.ts';
import { registerEventRoutes } from './admin-api/events-routes.ts';
import { registerExternalCaRoutes } from './admin-api/external-ca-routes.ts';
import { type FederationAdminDeps, registerFederationRoutes } from './admin-api/federation/index.ts';
import { registerImportRoutes } from './admin-api/import-routes.ts';
import { registerInitialAccessTokenRoutes } from './admin-api/initial-access-tokens-routes.ts';
import { registerInvitationAdminRoutes } from './admin-api/invitations-routes.ts';
import { startListReader } from './admin-api/list-reader.ts';
import { registerOperatorAccountRoutes } from './admin-api/operator-accounts-routes.ts';
import { registerOperatorOverviewRoutes } from './admin-api/operator-overview-routes.ts';
import { registerOrganisationRoutes } from './admin-api/organisations-routes.ts';
import { registerRateLimitRoutes } from './admin-api/rate-limit-routes.ts';
import { registerRegistrationRoutes } from './admin-api/registrations-routes.ts';
import { registerRoleRequestRoutes } from './admin-api/role-requests-routes.ts';
import { registerRotationPolicyRoutes } from './admin-api/rotation-policy-routes.ts';
import { problemSchema } from './admin-api/schemas.ts';
import { registerSoftwareStatementRoutes } from './admin-api/software-statements-routes.ts';
import { registerTestplanRunRoutes } from './admin-api/testplan-runs-routes.ts';
import { caSettingsOf } from './ca-settings.ts';
import { caHousekeeping, followCaChanges, trustedCaList } from './ca-trust.ts';
import { sharedClientDecisions } from './client-decisions.ts';
import { loadConfig, type PlatformConfig } from './config.ts';
import { decisionListenerWanted, loadDecisionCallers } from './decision-callers.ts';
import { type DecisionRecorder, startDecisionRecorder } from './decision-recorder.ts';
import { createDecisionTaps, type DecisionTaps } from './decision-taps.ts';
import {
  answerAfterEnforcement,
  createFeedHub,
  createLivenessState,
  type FeedHub,
  registerAnswerAfterEnforcement,
  registerDecisionPushRoute,
  registerFeedRoute,
  registerPollRoute,
  takeEnforcementSnapshot,
} from './enforcement-feed/index.ts';
import { createEventSigningKeys, ensureEventSigningKey, registerEventsJwks } from './event-signing-keys.ts';
import { type ExpiryMonitor, expiryKeySources, startExpiryMonitor } from './expiry-monitor.ts';
import { registerExternalCaPublicRoutes } from './external-ca-public-routes.ts';
import { startExternalCas } from './external-ca-wiring.ts';
import { createPlatformResolver, type PlatformResolver } from './federation-resolver.ts';
import { gatewayDpop } from './gateway-dpop.ts';
import { createHttpsServer } from './http/create-server.ts';
import { loadKek } from './kek.ts';
import { createLogger } from './logger.ts';
import { createPlatformMetrics, startPlatformMetricsListener } from './metrics/index.ts';
import { registerJoinRoute, registerNodeJoinAdminRoutes } from './node-join.ts';
import { type Notifications, startNotifications } from './notifications.ts';
import { registerOpenApiDocuments } from './openapi-documents.ts';
import { registerPartnerApi } from './partner-api/index.ts';
import { partnerCatalogContext } from './partner-catalog/partner-catalog-context.ts';
import { registerPartnerCatalogRoutes } from './partner-catalog/register-partner-catalog-routes.ts';
import { createPartnerFetcher } from './partner-fetcher.ts';
import { platformPaths } from './paths.ts';
import { createPkiPublication, registerPkiPublicationRoutes } from './pki-publication.ts';
import { registerPublicRoutes } from './public-routes.ts';
import { openRateLimitStore } from './rate-limit-store.ts';
import { renewalSettingsOf, startRenewal, supersedeRenewedCertificates } from './renewal.ts';
import { openReplayCache } from './replay-cache.ts';
import { ensureServerTls } from './server-tls.ts';
import { registerSharedSignals } from './shared-signals.ts';
import { createSoftwareStatementKeys, registerDirectoryJwks } from './software-statement-keys.ts';
import { createTestplanSubmission, withTestplanSubmission } from './testplan-submission.ts';
import { loadUpstreamCredentials } from './upstream-credentials.ts';
import { upstreamLoginOf } from './upstream-login.ts';
import { type PlatformWebhooks, registerWebhookAdmin, startPlatformWebhooks } from './webhooks.ts';

export interface StartOptions {
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  logger?: Logger;
  /** Serves the federation resolve endpoint (§8.3) when given; without it the endpoint is not offered. */
  federationResolver?: TrustChainResolver;
}

export interface PlatformHandle {
  config: PlatformConfig;
  storage: Storage;
  ca: CertificateAuthority;
  /** Platform events (relayed from the change feed, raised by monitors) that webhooks and SSF streams follow. */
  events: PlatformEvents;
  /** Signed webhooks; `dispatcher.run()` queues and sends what is due now (tests). */
  webhooks: PlatformWebhooks;
  /** The Shared Signals transmitter (flush: queue and push what is due now). */
  sharedSignals: SharedSignals;
  /** The expiry monitor (certificates, CA certificates, signing keys); `run()` for a pass now. */
  expiry: ExpiryMonitor;
  /** Notification mail; undefined unless notifications.smtp.host is set. */
  notifications: Notifications | undefined;
  /** `decision` only when the decision listener runs (decision.callers or decision.secretFile set). */
  urls: {
    public: string;
    mtls: string;
    gateway: string;
    decision?: string;
    pkiHttp?: string;
    /** The operator-only Prometheus listener (issue 16), when it runs. */
    metrics?: string;
  };
  /** Every enforcement decision this process makes (tests, the console's decision log, metrics). */
  decisions: DecisionTaps;
  /** The console's view of those decisions; `flush()` writes clients' last-seen times now (tests). */
  decisionRecorder: DecisionRecorder;
  stop(): Promise<void>;
}

const HOUSEKEEPING_MS = 15 * 60_000;
// Federation registrations are re-evaluated this often (those near chain expiry or not checked for 10 min).
const FEDERATION_REFRESH_MS = 30_000;

/** The authorization server is the platform's federation OP when its issuer is the platform's Entity Identifier. */
const isFederationOp = (config: PlatformConfig) =>
  config.federation.entityId.replace(/\/+$/, '') === config.publicUrl.replace(/\/+$/, '');

// The public listener's own routes; everything else (discovery, JWKS, authorization, the /interaction/ login
// and consent pages…) is the AS's.
const PLATFORM_PATHS =
  /^\/(admin\/|platform\/v1\/join$|partner\/|console(\/|$|\?)|pki\/|directory\/|enforcement\/|events\/|ssf\/|\.well-known\/ssf-configuration|catalog(\.json|\/openapi\.json)?($|\?)|health$|health\?)/;

async function buildPublicServer(
  deps: AdminDeps,
  config: PlatformConfig,
  tls: object,
  logger: Logger,
  as: AuthorizationServer,
  federation: {
    authority: FederationAuthority;
    admin: FederationAdminDeps;
    registration: ExplicitRegistrationOptions;
  },
  hub: FeedHub,
  externalCas: { fetcher: GuardedFetcher },
): Promise<FastifyInstance> {
  const entityId = federation.authority.entityId;
  const app = createHttpsServer({
    tls,
    logger,
    limits: config.listeners.limits,
    uncappedAddresses: configuredProxies(config).map((p) => p.address),
    fallback: {
      wants: (url) => !PLATFORM_PATHS.test(url) && !isFederationPath(entityId, url),
      handle: answerAfterEnforcement(hub, as.handle),
    },
  });
  // Revoking calls answer once standalone gateways have applied the change.
  registerAnswerAfterEnforcement(app, hub);
  app.addSchema(problemSchema);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Accredit admin API',
        version: '1',
        description:
          'Directory, PKI, federation and audit administration. Errors are RFC 9457 problem details.',
      },
      servers: [{ url: config.publicUrl }],
      components: { securitySchemes: { operatorToken: { type: 'http', scheme: 'bearer' } } },
      security: [{ operatorToken: [] }],
    },
  });
  registerPublicRoutes(app, deps);
  registerExternalCaPublicRoutes(app, deps);
  // The published partner catalog: what each operation needs and how to ask for it.
  registerPartnerCatalogRoutes(app, { storage: deps.storage, context: partnerCatalogContext(config) });
  // The change feed for standalone enforcement points, authenticated by their own credential.
  registerFeedRoute(app, { storage: deps.storage, hub });
  // Issue 16: standalone gateways may push their decision lines into the shared decision log.
  registerDecisionPushRoute(app, {
    storage: deps.storage,
    clock: deps.clock,
    recorder: () => deps.decisionRecorder,
  });
  registerPollRoute(app, { storage: deps.storage, clock: deps.clock });
  // Issue 16: another node redeems a join token here (public listener, TLS only).
  registerJoinRoute(app, { ...deps, config, kek: federation.admin.kek, logger });
  // RFC 7591 §2.3: the directory's keys, against which registration verifies software statements.
  registerDirectoryJwks(app, deps);
  const statementKeys = createSoftwareStatementKeys(deps.storage.db, federation.admin.kek);
  // OpenID Federation 1.0 §8, §9: the Entity Configuration and the Trust Anchor / Intermediate endpoints.
  await registerFederationEndpoints(app, federation.authority);
  // §12.2: the authorization server's federation_registration_endpoint (explicit registration).
  registerExplicitRegistration(app, federation.registration);
  registerOpenApiDocuments(app);
  // Issue 15: the web console (operator view and partner portal) and the partner API it calls.
  registerConsoleWeb(app);
  // Issue 15: sign-in (an OAuth client of this AS), sign-out, the session API, invitations and members.
  if (deps.callers) {
    registerConsoleSignIn(app, {
      ...{ storage: deps.storage, clock: deps.clock, kek: federation.admin.kek, callers: deps.callers },
      ...{ publicUrl: config.publicUrl, caPem: deps.ca.chainPem, logger },
    });
  }
  if (deps.callers) {
    await registerPartnerApi(app, {
      ...deps,
      callers: deps.callers,
      urls: { public: config.publicUrl, mtls: config.mtlsUrl, gateway: config.gatewayUrl },
      dataDir: config.dataDir,
      kek: federation.admin.kek,
      statements: { issuer: directoryIssuer(config.publicUrl), signer: () => statementKeys.signer() },
      catalog: partnerCatalogContext(config),
    });
  }
  await app.register(
    async (admin) => {
      registerOperatorAuth(admin, deps);
      registerOrganisationRoutes(admin, deps);
      registerApplicationRoutes(admin, deps);
      registerImportRoutes(admin, deps, { maxBytes: config.import?.maxBytes });
      registerCertificateRoutes(admin, deps);
      registerRotationPolicyRoutes(admin, deps);
      registerCaRoutes(admin, deps, { caBundleFile: platformPaths(config.dataDir).caBundle });
      registerExternalCaRoutes(admin, deps, externalCas);
      registerCatalogRoutes(admin, deps);
      // Issue 16: rate limits per organisation, per application and for the whole catalog.
      registerRateLimitRoutes(admin, deps);
      registerFederationRoutes(admin, deps, federation.admin);
      registerRoleRequestRoutes(admin, deps);
      registerRegistrationRoutes(admin, deps, federation.admin);
      registerOperatorOverviewRoutes(admin, deps, federation.admin);
      registerSoftwareStatementRoutes(admin, deps, {
        issuer: directoryIssuer(config.publicUrl),
        signer: () => statementKeys.signer(),
      });
      registerEnforcementCredentialRoutes(admin, deps, { onRevoked: (id) => hub.dropCredential(id) });
      registerNodeJoinAdminRoutes(admin, { ...deps, config });
      registerEventRoutes(admin, deps, { keySources: expiryKeySources(config.keys.maxAgeDays) });
      registerInitialAccessTokenRoutes(admin, deps, {
        enabled: config.registration.allowInitialAccessTokens,
      });
      // Issue 14: end-user accounts and their remembered consents.
      registerAccountRoutes(admin, deps, {
        kek: federation.admin.kek,
        totpIssuer: new URL(config.publicUrl).host,
      });
      // Issue 15: test-plan runs of all organisations and the go-live gate.
      registerTestplanRunRoutes(admin, deps);
      // Issue 15: invitations into organisations, and the operator console's accounts.
      registerInvitationAdminRoutes(admin, deps, { publicUrl: config.publicUrl, kek: federation.admin.kek });
      registerOperatorAccountRoutes(admin, deps, { kek: federation.admin.kek });
      // Issue 15: the live decision log, traffic charts and access reviews of the operator console.
      registerDecisionRoutes(admin, deps);
      registerAccessReviewRoutes(admin, deps, { kek: federation.admin.kek });
    },
    { prefix: '/admin/v1' },
  );
  return app;
}

/** Opens storage, loads the CA and starts the listeners of an initialised data directory. */
/** Every TLS-terminating proxy the configuration names: `trustedProxies` (RFC 9440 only) and `proxies`. */
function configuredProxies(config: PlatformConfig): ProxyEntry[] {
  return [...legacyProxyEntries(config.trustedProxies), ...config.proxies];
}

export async function startPlatform(options: StartOptions): Promise<PlatformHandle> {
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const config = loadConfig(options.dataDir, env);
  const logger = options.logger ?? createLogger(config.logLevel);
  const kek = loadKek(options.dataDir, { create: false }, env);
  const upstreamAuth = loadUpstreamCredentials(config);
  // Issue 16: the platform's Prometheus metrics, fed as the parts below start.
  const metrics = createPlatformMetrics();
  const storage = await openStorage({ url: config.database.url, schema: config.database.schema });
  const servers: FastifyInstance[] = [];
  const rawServers: HttpsServer[] = [];
  // Closed in reverse order of opening: gateway before the AS it reads keys from, everything before storage.
  const closers: Array<() => Promise<void> | void> = [];
  let timer: NodeJS.Timeout | undefined;
  try {
    const ca = await CertificateAuthority.load(storage.db, kek, {
      ...caSettingsOf(config),
      renewal: renewalSettingsOf(config),
    });
    const tls = await ensureServerTls(config, ca, kek, clock());
    // OCSP (RFC 6960) and the plain-HTTP publication of CRLs, OCSP and CA certificates.
    const pki = createPkiPublication({
      storage,
      ca,
      kek,
      clock,
      logger,
      config,
      uncappedAddresses: configuredProxies(config).map((p) => p.address),
      onOcspAnswer: metrics.onOcspAnswer,
    });
    closers.push(() => pki.close());
    const housekeeping = async () => {
      await pki.responder.renewResponders();
      await caHousekeeping({ storage, ca, clock, logger });
      await pruneExpiredOidcModels(storage, clock());
      await supersedeRenewedCertificates(storage, ca, clock, logger);
    };
    await housekeeping();
    timer = setInterval(
      () => housekeeping().catch((err) => logger.error({ err }, 'housekeeping failed')),
      HOUSEKEEPING_MS,
    );
    timer.unref();

    await storage.feed.start();
    const events = startPlatformEvents({ storage, clock, logger });
    closers.push(() => events.close());
    // Issue 13: expiring certificates and keys raise events; security contacts and operators get mail.
    const notifications = startNotifications({
      storage,
      clock,
      logger,
      events,
      config: config.notifications,
      env,
    });
    if (notifications) closers.push(() => notifications.close());
    // The notifier's cursor exists before the monitor's first events, so a first start mails them too.
    const expiry = startExpiryMonitor({
      storage,
      clock,
      logger,
      events,
      config,
      after: notifications?.flush(),
    });
    closers.push(() => expiry.close());
    // Webhook signatures and Security Event Tokens: signed with the platform's event keys (/events/jwks).
    await ensureEventSigningKey(storage.db, kek, config.pki.keyAlgorithm, clock());
    const eventKeys = createEventSigningKeys(storage.db, kek);
    const hub = createFeedHub({ storage, clock, logger, maxClients: config.enforcementFeed.maxClients });
    closers.push(() => hub.close());
    metrics.followFeed({ storage, hub });
    metrics.followBacklog(storage);
    const fed = config.federation;
    const ownKeys = new DatabaseFederationKeyStore(storage.db, kek, fed.statementLifetimeSeconds);
    // One fetcher, one address policy for everything fetched because a partner named it (statements, jwks_uri).
    const fetcher = createPartnerFetcher(fed.fetch, ca.chainPem);
    closers.push(() => fetcher.close());
    // Bring your own CA: organisations' CRLs, fetched and verified on schedule; OCSP where configured.
    const externalCas = startExternalCas({ storage, fetch: fed.fetch, caPem: ca.chainPem, clock, logger });
    closers.push(() => externalCas.stop());
    const resolver =
      options.federationResolver ??
      createPlatformResolver({
        federation: fed,
        ownJwks: (now) => ownKeys.publishedJwks(now),
        fetcher,
        clock,
      });
    // Operators (authenticated) and the registration refresh may force a fresh resolution whenever they ask.
    const operatorResolver = (resolver as Partial<PlatformResolver>).operator ?? resolver;
    const replayCache = openReplayCache(config, storage, logger);
    closers.push(() => replayCache.close());
    // Issue 16: rate-limit counters every node shares (Redis, else the database).
    const rateLimitStore = openRateLimitStore(config, storage, logger);
    closers.push(() => rateLimitStore.close());
    const as = await createAuthorizationServer({
      storage,
      kek,
      clock,
      logger,
      issuer: config.publicUrl,
      mtlsUrl: config.mtlsUrl,
      audience: config.gateway.audience,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      trustedCas: trustedCaList(ca),
      trustedProxies: config.trustedProxies,
      proxies: config.proxies,
      fetcher,
      checkOcsp: externalCas.checkOcsp,
      // Issue 14: sign-in through the provider's existing OpenID Provider, when configured.
      ...(config.login.upstream && { upstreamLogin: upstreamLoginOf(config.login.upstream) }),
      // RFC 7591: how old a software statement may be when it is presented; whether an operator's initial
      // access token may stand in for one (§3).
      registration: {
        softwareStatementMaxAgeSeconds: config.registration.softwareStatementMaxAgeSeconds,
        allowInitialAccessTokens: config.registration.allowInitialAccessTokens,
      },
      fapi: { profile: config.fapi.profile },
      // RFC 9449: nonce policy and the cross-node jti replay cache of DPoP proofs.
      dpop: { requireNonce: config.dpop.requireNonce, replayCache },
      // §12.1: automatic registration when the authorization server is the platform's federation OP.
      ...(isFederationOp(config) ? { federation: { resolver, trustMarkTypes: fed.trustMarkTypes } } : {}),
    });
    // Issue 15: console sessions (operator accounts and partner members signed in through the AS).
    const callers = createCallerResolver({ db: storage.db, kek, clock });
    // Every decision of this process's doors, for the console's decision log and the metrics.
    const decisionTaps = createDecisionTaps();
    decisionTaps.add(metrics.onDecision);
    metrics.followProvider(as.provider);
    // Issue 16: the decision log and traffic charts, shared by every node through the database.
    const decisionRecorder = startDecisionRecorder({ taps: decisionTaps, storage, clock, logger });
    closers.push(() => decisionRecorder.close());
    metrics.followDecisionLog(decisionRecorder);
    // Issue 15: submitted test-plan runs are checked against every node's decisions of the client.
    const clientDecisions = sharedClientDecisions(storage, () => decisionRecorder.flush());
    const deps: AdminDeps = {
      storage,
      clock,
      ca,
      urlGuard: fetcher,
      callers,
      decisions: decisionTaps,
      decisionRecorder,
    };
    // Issue 16: long admin lists are read and serialised in a worker thread with its own connection (not for
    // an in-memory SQLite database, which has no second connection).
    if (!/^(sqlite:(\/\/)?)?:memory:$/.test(config.database.url)) {
      const listReader = await startListReader(config.database.url, config.database.schema);
      closers.push(() => listReader.close());
      deps.listReader = listReader;
    }
    const entityBase = fed.entityId.replace(/\/+$/, '');
    const registrationPath = `${new URL(entityBase).pathname.replace(/\/+$/, '')}/federation/registration`;
    const federation = {
      registration: {
        storage,
        resolver,
        entityId: fed.entityId,
        signer: () => ownKeys.signer(),
        trustMarkTypes: fed.trustMarkTypes,
        urlGuard: fetcher,
        clock,
        path: registrationPath,
      },
      authority: createFederationAuthority({
        // §4.1: the OP shares the platform's Entity Identifier (its issuer), so it is described here too.
        additionalMetadata: isFederationOp(config)
          ? {
              openid_provider: await openIdProviderMetadata(as, {
                federationRegistrationEndpoint: `${entityBase}/federation/registration`,
              }),
            }
          : {},
        db: storage.db,
        kek,
        clock,
        entityId: fed.entityId,
        authorityHints: fed.authorityHints,
        statementLifetimeSeconds: fed.statementLifetimeSeconds,
        trustMarkTypes: fed.trustMarkTypes,
        trustAnchors: fed.trustAnchors.map((a) => a.entityId),
        resolver,
        allowHttpLoopback: fed.fetch.allowLoopback,
      }),
      admin: {
        kek,
        entityId: fed.entityId,
        statementLifetimeSeconds: fed.statementLifetimeSeconds,
        trustMarkTypes: fed.trustMarkTypes,
        allowHttpLoopback: fed.fetch.allowLoopback,
        resolver: operatorResolver,
      },
    };
    const publicServer = await buildPublicServer(deps, config, tls, logger, as, federation, hub, externalCas);
    registerEventsJwks(publicServer, eventKeys);
    // Signed webhooks: a delivery per matching subscription, queued with the events cursor, sent guarded.
    const webhooks = startPlatformWebhooks({
      config: config.webhooks,
      caPem: ca.chainPem,
      storage,
      clock,
      logger,
      kek,
      events,
      issuer: config.publicUrl,
      signer: () => eventKeys.signer(),
    });
    closers.push(() => webhooks.close());
    await registerWebhookAdmin(publicServer, deps, webhooks, kek);
    // OpenID Shared Signals Framework 1.0 transmitter: streams, push and poll of signed SETs.
    const sharedSignals = await registerSharedSignals(publicServer, {
      ...{ config, storage, clock, logger, events, eventKeys, kek, adminDeps: deps },
      ...{ issuingCaPem: ca.issuingPem, caChainPem: ca.chainPem },
    });
    closers.push(() => sharedSignals.close());
    await registerPkiPublicationRoutes(publicServer, pki.deps);
    // §12.3: registrations are renewed or ended as their Trust Chains expire or break.
    const refreshRegistrations = () =>
      refreshFederationRegistrations({
        storage,
        resolver: operatorResolver,
        entityId: fed.entityId,
        trustMarkTypes: fed.trustMarkTypes,
        urlGuard: fetcher,
        clock,
        logger,
      }).catch((err) => logger.error({ err }, 'federation registration refresh failed'));
    const refreshTimer = setInterval(refreshRegistrations, FEDERATION_REFRESH_MS);
    refreshTimer.unref();
    closers.push(() => clearInterval(refreshTimer));
    servers.push(publicServer);
    await publicServer.listen({
      host: config.host,
      port: config.listeners.public.port,
      // Fastify cannot tell that its server factory speaks TLS: say so, rather than http://.
      listenTextResolver: (address) => `Server listening at ${address.replace(/^http:/, 'https:')}`,
    });
    const hostname = config.hostnames[0] ?? 'localhost';
    const urlOf = (server: { address(): unknown }) =>
      `https://${hostname}:${(server.address() as AddressInfo).port}`;

    // EST (RFC 7030) renewal in front of the authorization server, and the superseded-certificate sweep.
    const renewal = startRenewal({ storage, ca, config, clock, logger });
    closers.push(() => renewal.close());
    // RFC 8705 §5: the mTLS listener asks for a client certificate; who may present which one is decided
    // per client by the authorization server (tls_client_auth, self-signed, or binding only).
    const mtlsServer = createHttpsListener(
      { ...tls, minVersion: 'TLSv1.2', requestCert: true, rejectUnauthorized: false, ca: ca.chainPem },
      answerAfterEnforcement(
        hub,
        // Issue 15: sandbox clients submit their test-plan runs here, authenticated by their certificate.
        withTestplanSubmission(
          createTestplanSubmission({
            storage,
            clock,
            logger,
            resolveCertificate: createCertificateResolver({
              trustedProxies: config.trustedProxies,
              proxies: config.proxies,
              trustedCas: trustedCaList(ca),
            }),
            decisions: clientDecisions,
          }),
          renewal.mtlsHandler(as.handle),
        ),
      ),
      {
        name: 'mtls',
        limits: config.listeners.limits,
        logger,
        uncappedAddresses: configuredProxies(config).map((p) => p.address),
      },
    );
    rawServers.push(mtlsServer);
    await new Promise<void>((resolve, reject) => {
      mtlsServer.once('error', reject);
      mtlsServer.listen(config.listeners.mtls.port, config.host, () => resolve());
    });

    // The gateway learns keys from the AS's JWKS and state from the change feed, as it would in its own process.
    const sample = config.gateway.upstream ? undefined : await startSampleApi({ clock });
    if (sample) closers.push(() => sample.close());
    const liveness = await createLivenessState(storage, { clock });
    closers.push(() => liveness.close());
    // Subscribed before the table is read: a catalog change in between is held and applied once listening.
    let gatewayRef: Gateway | undefined;
    let heldRoutes: CatalogRoute[] | undefined;
    const applyRoutes = (target: Gateway, next: CatalogRoute[]) => {
      try {
        target.setRoutes(next);
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'the change feed carried an unusable access catalog');
      }
    };
    const unfollowCatalog = storage.feed.subscribe((change) => {
      const next = catalogRoutesOf(change);
      if (!next) return;
      if (!gatewayRef) heldRoutes = next;
      else applyRoutes(gatewayRef, next);
    });
    closers.push(() => {
      unfollowCatalog();
    });
    const routes = (await takeEnforcementSnapshot(storage, clock())).routes;
    const fromProxies = proxyCertificates(configuredProxies(config), clock);
    const gateway = await createGateway({
      host: config.host,
      port: config.listeners.gateway.port,
      publicUrl: config.gatewayUrl,
      tls: { cert: tls.cert, key: tls.key, passphrase: tls.passphrase, ca: ca.chainPem },
      issuer: config.publicUrl,
      audience: config.gateway.audience,
      jwksUri: `${config.publicUrl}/jwks`,
      jwksCa: ca.chainPem,
      liveness,
      routes,
      upstream: config.gateway.upstream ?? sample!.url,
      // The embedded sample's fresh per-start secret, else the operator's (undefined: the gateway warns).
      upstreamSecret: sample ? sample.gatewaySecret : upstreamAuth.secret,
      upstreamTls: upstreamAuth.tls,
      limits: config.listeners.limits,
      // Behind a TLS-terminating proxy (nginx, Envoy, ALB): the certificate it forwards, in its form, only from
      // the proxies configured (address, and their own certificate where required). A connection from such an
      // address that is not that proxy (its certificate does not match) is a client like any other: its own
      // TLS certificate counts, its headers do not. As for the authorization server's mTLS listener.
      trustedProxies: fromProxies.trustedProxies,
      certificateFromHeaders: fromProxies.certificateFromHeaders,
      // RFC 9449 nonces from the KEK (every node of this platform agrees); proof jtis in the shared replay cache.
      dpop: gatewayDpop({ kek, replayCache }),
      rateLimit: { store: rateLimitStore, onStoreError: config.rateLimit?.onStoreError ?? 'open' },
      logger,
      clock,
      onDecision: decisionTaps.emit,
    });
    closers.push(() => gateway.close());
    gatewayRef = gateway;
    if (heldRoutes) applyRoutes(gateway, heldRoutes);

    // The edges' doors (auth_request, ext_authz, AuthZEN) ask the gateway's own decision core.
    let decisionPort: number | undefined;
    let decisionListener: DecisionListener | undefined;
    if (decisionListenerWanted(config)) {
      const callers = loadDecisionCallers(config);
      const decision = await createDecisionListener({
        host: config.host,
        port: config.listeners.decision.port,
        tls: {
          cert: tls.cert,
          key: tls.key,
          ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
        },
        core: gateway.core,
        callers: callers.callers,
        ...(callers.callerCa !== undefined ? { callerCa: callers.callerCa } : {}),
        ...(callers.secret !== undefined ? { secret: callers.secret } : {}),
        certificateHeader: config.decision.certificateHeader,
        ...(config.decision.edgeUrl !== undefined ? { edgeUrl: config.decision.edgeUrl } : {}),
        limits: config.listeners.limits,
        logger,
      });
      closers.push(() => decision.close());
      decisionPort = decision.port;
      decisionListener = decision;
    }

    const pkiHttpPort = await pki.listen();
    const metricsListener = await startPlatformMetricsListener(config, metrics, logger);
    if (metricsListener) closers.push(() => metricsListener.close());
    // An issuing CA rotated in or out, the root taken offline: every listener trusts the new bundle.
    closers.push(
      followCaChanges({
        storage,
        ca,
        config,
        kek,
        clock,
        logger,
        apply: (next) => {
          const context = { cert: next.cert, key: next.key, passphrase: next.passphrase, ca: next.ca };
          (publicServer.server as HttpsServer).setSecureContext({ ...context, minVersion: 'TLSv1.2' });
          mtlsServer.setSecureContext({ ...context, minVersion: 'TLSv1.2' });
          gateway.setTls(context);
          decisionListener?.setServerCertificate(context);
        },
      }),
    );

    const urls = {
      ...(pkiHttpPort !== undefined ? { pkiHttp: `http://${hostname}:${pkiHttpPort}` } : {}),
      public: urlOf(publicServer.server),
      mtls: urlOf(mtlsServer),
      gateway: urlOf({ address: () => ({ port: gateway.port }) }),
      ...(decisionPort !== undefined ? { decision: urlOf({ address: () => ({ port: decisionPort }) }) } : {}),
      ...(metricsListener ? { metrics: metricsListener.url } : {}),
    };
    logger.info({ listeners: urls, upstream: config.gateway.upstream ?? 'embedded sample API' }, 'listening');

    return {
      config,
      storage,
      ca,
      events,
      webhooks,
      sharedSignals: sharedSignals.transmitter,
      expiry,
      notifications,
      urls,
      decisions: decisionTaps,
      decisionRecorder,
      async stop() {
        if (timer) clearInterval(timer);
        for (const close of closers.reverse()) await close();
        for (const server of rawServers) await closeRaw(server);
        for (const server of servers) await server.close();
        await storage.close();
        logger.flush();
      },
    };
  } catch (err) {
    if (timer) clearInterval(timer);
    for (const close of closers.reverse()) await Promise.resolve(close()).catch(() => {});
    for (const server of rawServers) await closeRaw(server).catch(() => {});
    for (const server of servers) await server.close().catch(() => {});
    await storage.close();
    throw err;
  }
}

function closeRaw(server: HttpsServer): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}
