import { type ENDPOINT_PARAMETERS, ENTITY_CONFIGURATION_PATH } from '../constants.ts';

/** Where each federation endpoint lives, relative to the Entity Identifier (§8; §9 for the configuration). */
export const FEDERATION_ENDPOINT_PATHS = {
  fetch: '/federation/fetch',
  list: '/federation/list',
  resolve: '/federation/resolve',
  trustMark: '/federation/trust-mark',
  trustMarkStatus: '/federation/trust-mark-status',
  trustMarkList: '/federation/trust-mark-list',
  historicalKeys: '/federation/historical-keys',
} as const satisfies Record<keyof typeof ENDPOINT_PARAMETERS, string>;

export type FederationEndpoint = keyof typeof FEDERATION_ENDPOINT_PATHS;

/** §9: a trailing "/" of the Entity Identifier is removed before a path is appended. */
export const entityIdBase = (entityId: string): string => entityId.replace(/\/+$/, '');

/** The path of the Entity Identifier on this server ('' at the root), under which every route is registered. */
export const federationRoutePrefix = (entityId: string): string =>
  new URL(entityIdBase(entityId)).pathname.replace(/\/+$/, '');

export function federationEndpointUrls(entityId: string): Record<FederationEndpoint, string> {
  const base = entityIdBase(entityId);
  return Object.fromEntries(
    Object.entries(FEDERATION_ENDPOINT_PATHS).map(([name, path]) => [name, `${base}${path}`]),
  ) as Record<FederationEndpoint, string>;
}

export const entityConfigurationUrl = (entityId: string): string =>
  `${entityIdBase(entityId)}${ENTITY_CONFIGURATION_PATH}`;

/** Whether a request path (query ignored) is one of the federation routes of this Entity Identifier. */
export function isFederationPath(entityId: string, url: string): boolean {
  const path = url.split('?')[0] ?? '';
  const prefix = federationRoutePrefix(entityId);
  return path === `${prefix}${ENTITY_CONFIGURATION_PATH}` || path.startsWith(`${prefix}/federation/`);
}
