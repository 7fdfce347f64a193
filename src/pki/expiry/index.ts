export {
  expiringCaCertificates,
  expiringPartnerCertificates,
  expiringPartnerCertificatesPage,
} from './expiring-certificates.ts';
export {
  daysLeft,
  type ExpiringView,
  expiringView,
  listExpiring,
  listExpiringPage,
} from './list-expiring.ts';
export {
  crossedThreshold,
  DEFAULT_EXPIRY_THRESHOLDS,
  type ExpiryMonitorOptions,
  type ExpiryMonitorResult,
  runExpiryMonitor,
} from './run-expiry-monitor.ts';
