export {
  clientSubject,
  organisationSubject,
  type SignalContext,
  type SignalOfEvent,
  signalOfEvent,
} from './map-platform-event.ts';
export { type PollAnswer, PollError, type PollRequest, pollOnce, readPollRequest } from './poll-sets.ts';
export { duePushStreams, type PushDeps, pruneQueuedSets, pushDueSets } from './push-sets.ts';
export { queueSignals } from './queue-signals.ts';
export {
  findSsfReceiver,
  issueSsfReceiver,
  listSsfReceiversPage,
  revokeSsfReceiver,
  SSF_RECEIVER_PAGE_KEY_LENGTH,
  type SsfReceiver,
  type SsfReceiverFilter,
  type SsfReceiverView,
} from './receivers.ts';
export { type SetContent, signSet } from './sign-set.ts';
export {
  DELIVERY_METHODS,
  type DeliveryMethod,
  SET_MEDIA_TYPE,
  SET_TYP,
  SSF_EVENT_TYPES,
  SSF_PATHS,
  STREAM_STATUSES,
  type StreamStatus,
  SUPPORTED_EVENT_TYPES,
} from './ssf-vocabulary.ts';
export {
  eventsDelivered,
  readStreamRequest,
  type StreamSettings,
  type TransmitterSupplied,
} from './stream-request.ts';
export {
  changeSubject,
  createStream,
  deleteStream,
  listStreams,
  loadStream,
  markVerificationRequested,
  queueSet,
  receiverActor,
  type SecretSealer,
  type StreamRecord,
  saveStream,
  setStreamStatus,
  settingsOf,
  streamView,
  type TransmitterSettings,
} from './streams.ts';
export {
  canonicalSubject,
  type SubjectIdentifier,
  subjectCovers,
  subjectProblem,
} from './subject-identifier.ts';
export {
  type SharedSignals,
  type SharedSignalsOptions,
  SSF_CONSUMER,
  startSharedSignals,
} from './transmitter.ts';
