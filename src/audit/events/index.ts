export {
  type ConsumeOptions,
  consumeEvents,
  type EventHandler,
  listPlatformEvents,
} from './consume-events.ts';
export { cursorOf } from './event-cursor.ts';
export { EVENTS_JWKS_PATH, type EventSigner } from './event-signer.ts';
export {
  EVENT_TYPES,
  type EventSubject,
  type EventType,
  isEventType,
  type PlatformEvent,
  type PlatformEventInput,
} from './event-types.ts';
export { eventsOfChange } from './events-of-change.ts';
export { type PlatformEvents, type PlatformEventsOptions, startPlatformEvents } from './platform-events.ts';
export { type RecordOptions, recordedDedupeKeys, recordPlatformEvent } from './record-platform-event.ts';
export { RELAY_CONSUMER, relayChanges } from './relay-changes.ts';
