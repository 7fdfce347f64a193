/** Event type URIs this transmitter sends: CAEP 1.0 §3, RISC 1.0 §2, SSF 1.0 §8.1.4 and §8.1.5. */
export const SSF_EVENT_TYPES = {
  credentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  accountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  accountEnabled: 'https://schemas.openid.net/secevent/risc/event-type/account-enabled',
  accountPurged: 'https://schemas.openid.net/secevent/risc/event-type/account-purged',
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
  streamUpdated: 'https://schemas.openid.net/secevent/ssf/event-type/stream-updated',
} as const;

/**
 * What a receiver may request (`events_supported`). Verification and stream-updated are the framework's own
 * events: sent on every stream whatever it requested (SSF 1.0 §8.1.4, §8.1.5).
 */
export const SUPPORTED_EVENT_TYPES: readonly string[] = [
  SSF_EVENT_TYPES.credentialChange,
  SSF_EVENT_TYPES.sessionRevoked,
  SSF_EVENT_TYPES.accountDisabled,
  SSF_EVENT_TYPES.accountEnabled,
  SSF_EVENT_TYPES.accountPurged,
];

/** SSF 1.0 §7.1.1 delivery method URIs. */
export const DELIVERY_METHODS = {
  push: 'urn:ietf:rfc:8935',
  poll: 'urn:ietf:rfc:8936',
} as const;

export type DeliveryMethod = (typeof DELIVERY_METHODS)[keyof typeof DELIVERY_METHODS];

export const STREAM_STATUSES = ['enabled', 'paused', 'disabled'] as const;
export type StreamStatus = (typeof STREAM_STATUSES)[number];

/** RFC 8417 §2.3: the media type and JOSE `typ` of a Security Event Token. */
export const SET_TYP = 'secevent+jwt';
export const SET_MEDIA_TYPE = 'application/secevent+jwt';

/** Where the transmitter's endpoints live under the public listener. */
export const SSF_PATHS = {
  configuration: '/.well-known/ssf-configuration',
  streams: '/ssf/streams',
  status: '/ssf/status',
  addSubject: '/ssf/subjects/add',
  removeSubject: '/ssf/subjects/remove',
  verify: '/ssf/verify',
  poll: '/ssf/poll',
} as const;
