export { type BacklogCounts, countBacklogs } from './backlog-counts.ts';
export * from './events/index.ts';
export {
  type AuditEntry,
  type AuditSearch,
  listAuditEvents,
  searchAuditEvents,
} from './list-audit-events.ts';
export * from './notifications/index.ts';
export { type AuditEvent, recordAuditEvent } from './record-audit-event.ts';
export * from './shared-signals/index.ts';
export { type AuditChainResult, verifyAuditChain } from './verify-audit-chain.ts';
export * from './webhooks/index.ts';
