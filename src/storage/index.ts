export {
  CHANGE_KINDS,
  type Change,
  ChangeFeed,
  type ChangeInput,
  type ChangeKind,
  publishChange,
} from './change-feed.ts';
export { changesAfter, changesOfKind, type RecordedChange } from './changes-of-kind.ts';
export { ENGINES, type Engine } from './engine.ts';
export { hasChange } from './has-change.ts';
export { bytewiseKeyset, keysetAfter } from './keyset.ts';
export { createStorageRateLimitStore } from './rate-limit-store.ts';
export { createStorageReplayCache } from './replay-cache.ts';
export type { AccountTable, AuditLogTable, CaStatus, CatalogStatus, Database } from './schema.ts';
export { engineOf, openStorage, type Storage, type StorageOptions } from './storage.ts';
export { lockJournal, type Tx } from './tx.ts';
