import { ENTITY_CONFIGURATION_PATH } from '../constants.ts';

/** §1.2: an Entity Identifier is an https URL with a host, optionally port and path, and no query or fragment. */
export function isEntityIdentifier(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 2048 || value.includes('#'))
    return false;
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (
    url.protocol === 'https:' &&
    url.hostname !== '' &&
    url.search === '' &&
    !value.includes('?') &&
    url.username === '' &&
    url.password === ''
  );
}

/** §9: the Entity Configuration lives at the Entity Identifier, trailing "/" removed, + /.well-known/openid-federation. */
export function entityConfigurationUrl(entityId: string): string {
  return `${entityId.replace(/\/+$/, '')}${ENTITY_CONFIGURATION_PATH}`;
}
