import { seedCatalog } from '../../src/directory/index.ts';
import { openStorage, type Storage } from '../../src/storage/index.ts';
import type { EngineTarget } from './engines.ts';

export const META = { actor: 'operator:test', now: new Date('2026-03-01T10:00:00.000Z') };

/** A fresh database on the target engine with the seed catalog, as `accredit init` leaves it. */
export async function seededStorage(target: EngineTarget): Promise<Storage> {
  const storage = await openStorage(target.freshOptions());
  await storage.transaction((tx) => seedCatalog(tx));
  return storage;
}
