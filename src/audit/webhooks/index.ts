export {
  type AttemptOutcome,
  type AttemptView,
  type ClaimedDelivery,
  claimDueDeliveries,
  DELIVERY_STATUSES,
  type DeliveryQuery,
  type DeliveryStatus,
  type DeliveryView,
  enqueueDeliveries,
  getDelivery,
  listDeliveries,
  PING_EVENT_TYPE,
  payloadOf,
  pruneDeliveries,
  queuePing,
  redeliver,
  settleAttempt,
  settleAttempts,
  subscriptionMatches,
  type WebhookPayload,
} from './deliveries.ts';
export {
  startWebhookDispatcher,
  WEBHOOK_CONSUMER,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
  webhookRequest,
} from './dispatcher.ts';
export {
  DEFAULT_RETRY_POLICY,
  DEFAULT_RETRY_SCHEDULE_SECONDS,
  nextAttemptAt,
  type RetryPolicy,
} from './retry-policy.ts';
export { hmacKeyOf, newWebhookSecret, openSecret, sealSecret } from './secret-box.ts';
export { standardWebhookSignature, WEBHOOK_JWT_TYP, webhookJws } from './sign-webhook.ts';
export {
  type CreateSubscriptionInput,
  createWebhookSubscription,
  getWebhookSubscription,
  listWebhookSubscriptions,
  ROTATION_OVERLAP,
  removeWebhookSubscription,
  rotateWebhookSecret,
  signingSecretsOf,
  type UpdateSubscriptionInput,
  updateWebhookSubscription,
  WEBHOOK_SCHEMES,
  type WebhookMeta,
  type WebhookScheme,
  type WebhookSubscriptionView,
  WebhookUrlRefused,
} from './subscriptions.ts';
