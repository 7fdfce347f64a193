// @peculiar/x509 2.x resolves its algorithm providers through tsyringe, which refuses to load without
// Reflect.getMetadata; reflect-metadata is not a dependency, so this installs the three calls tsyringe
// makes (x509 declares no constructor parameter types, so nothing is ever looked up). No-op when a real
// polyfill is present. Delete this file once reflect-metadata is added to package.json.
type MetadataKey = unknown;
type Target = object;

const store = new WeakMap<Target, Map<MetadataKey, unknown>>();

function getOwnMetadata(key: MetadataKey, target: Target): unknown {
  return store.get(target)?.get(key);
}

function getMetadata(key: MetadataKey, target: Target): unknown {
  for (let o: Target | null = target; o !== null; o = Object.getPrototypeOf(o)) {
    const value = getOwnMetadata(key, o);
    if (value !== undefined) return value;
  }
  return undefined;
}

function defineMetadata(key: MetadataKey, value: unknown, target: Target): void {
  let map = store.get(target);
  if (!map) {
    map = new Map();
    store.set(target, map);
  }
  map.set(key, value);
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') {
  Object.assign(reflect, { getMetadata, getOwnMetadata, defineMetadata });
}
