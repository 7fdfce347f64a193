import { AppError } from '../../shared/app-error.ts';
import { DELIVERY_METHODS, type DeliveryMethod, SUPPORTED_EVENT_TYPES } from './ssf-vocabulary.ts';

/** What a receiver may set on a stream (SSF 1.0 §8.1.1: the Receiver-Supplied properties). */
export interface StreamSettings {
  eventsRequested: string[];
  delivery: { method: DeliveryMethod; endpointUrl: string | null; authorizationHeader: string | null };
  description: string | null;
  aud: string | string[] | null;
}

/** The Transmitter-Supplied properties a request may repeat but never change (§8.1.1.3, §8.1.1.4). */
export interface TransmitterSupplied {
  stream_id?: string;
  iss: string;
  aud: string | string[];
  events_supported: readonly string[];
  events_delivered: readonly string[];
  min_verification_interval: number;
  delivery_endpoint_url?: string;
}

const MAX_EVENTS = 32;
const MAX_URI = 512;
const MAX_DESCRIPTION = 256;
const MAX_HEADER = 4096;

const bad = (field: string, message: string) =>
  new AppError('invalid_request', 400, `${field}: ${message}`, { field });

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function eventsOf(value: unknown): string[] {
  if (!Array.isArray(value)) throw bad('events_requested', 'expected an array of event type URIs');
  if (value.length > MAX_EVENTS) throw bad('events_requested', `at most ${MAX_EVENTS} event types`);
  const out: string[] = [];
  for (const item of value) {
    if (typeof item !== 'string' || item.length === 0 || item.length > MAX_URI) {
      throw bad('events_requested', 'each event type is a non-empty URI string');
    }
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

function audOf(value: unknown): string | string[] {
  const ok = (s: unknown) => typeof s === 'string' && s.length > 0 && s.length <= MAX_URI;
  if (ok(value)) return value as string;
  if (Array.isArray(value) && value.length > 0 && value.length <= 8 && value.every(ok))
    return value as string[];
  throw bad('aud', 'a string or a non-empty array of strings');
}

function deliveryOf(value: unknown): StreamSettings['delivery'] {
  if (!isObject(value)) throw bad('delivery', 'expected an object with a method');
  for (const key of Object.keys(value)) {
    if (!['method', 'endpoint_url', 'authorization_header'].includes(key)) {
      throw bad(`delivery.${key}`, 'not a delivery parameter of this transmitter');
    }
  }
  const method = value.method;
  if (method !== DELIVERY_METHODS.push && method !== DELIVERY_METHODS.poll) {
    throw bad('delivery.method', `one of ${DELIVERY_METHODS.push} (push) or ${DELIVERY_METHODS.poll} (poll)`);
  }
  const header = value.authorization_header;
  if (
    header !== undefined &&
    (typeof header !== 'string' ||
      header.length === 0 ||
      header.length > MAX_HEADER ||
      !/^[\x20-\x7e]+$/.test(header))
  ) {
    throw bad('delivery.authorization_header', `visible ASCII, at most ${MAX_HEADER} characters`);
  }
  if (method === DELIVERY_METHODS.push) {
    // SSF 1.0 §8.1.1: with push, the Receiver supplies endpoint_url (RFC 8935 §2: an https URL).
    const url = value.endpoint_url;
    if (typeof url !== 'string' || url.length > 2048)
      throw bad('delivery.endpoint_url', 'required for push delivery');
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw bad('delivery.endpoint_url', 'not an absolute URL');
    }
    if (parsed.protocol !== 'https:')
      throw bad('delivery.endpoint_url', 'must be an https URL (RFC 8935 §4)');
    if (parsed.username || parsed.password) throw bad('delivery.endpoint_url', 'must not carry credentials');
    if (parsed.hash) throw bad('delivery.endpoint_url', 'must not have a fragment');
    return { method, endpointUrl: parsed.href, authorizationHeader: header ?? null };
  }
  // With poll the Transmitter supplies endpoint_url; a Receiver-sent one is checked against ours by the caller.
  if (header !== undefined) throw bad('delivery.authorization_header', 'only for push delivery');
  const url = value.endpoint_url;
  if (url !== undefined && typeof url !== 'string') throw bad('delivery.endpoint_url', 'expected a string');
  return { method, endpointUrl: (url as string | undefined) ?? null, authorizationHeader: null };
}

/** Transmitter-Supplied values a request repeats must equal ours (§8.1.1.3, §8.1.1.4). */
function checkTransmitterSupplied(body: Record<string, unknown>, ours: TransmitterSupplied): void {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const sameSet = (a: unknown, b: readonly string[]) =>
    Array.isArray(a) && a.length === b.length && a.every((x) => b.includes(x as string));
  if (body.iss !== undefined && body.iss !== ours.iss)
    throw bad('iss', "is the transmitter's and cannot be changed");
  if (body.stream_id !== undefined && ours.stream_id !== undefined && body.stream_id !== ours.stream_id) {
    throw bad('stream_id', 'cannot be changed');
  }
  if (body.events_supported !== undefined && !sameSet(body.events_supported, ours.events_supported)) {
    throw bad('events_supported', 'is set by the transmitter');
  }
  if (
    body.min_verification_interval !== undefined &&
    !same(body.min_verification_interval, ours.min_verification_interval)
  ) {
    throw bad('min_verification_interval', 'is set by the transmitter');
  }
}

const KNOWN = new Set([
  'stream_id',
  'iss',
  'aud',
  'events_supported',
  'events_requested',
  'events_delivered',
  'delivery',
  'min_verification_interval',
  'description',
  'inactivity_timeout',
]);

/**
 * A create (POST, §8.1.1.1), replace (PUT, §8.1.1.4) or update (PATCH, §8.1.1.3) request, against the
 * current settings for an update. Unknown or malformed members are a 400 with the field named.
 */
export function readStreamRequest(
  body: unknown,
  mode: 'create' | 'replace' | 'update',
  ours: TransmitterSupplied,
  current?: StreamSettings,
): StreamSettings {
  if (!isObject(body)) throw bad('body', 'expected a JSON object');
  for (const key of Object.keys(body))
    if (!KNOWN.has(key)) throw bad(key, 'not a stream configuration property');
  checkTransmitterSupplied(body, ours);
  const base: StreamSettings =
    mode === 'update' && current
      ? current
      : {
          eventsRequested: [...SUPPORTED_EVENT_TYPES],
          delivery: { method: DELIVERY_METHODS.poll, endpointUrl: null, authorizationHeader: null },
          description: null,
          aud: null,
        };
  const next: StreamSettings = { ...base };
  if (body.events_requested !== undefined) next.eventsRequested = eventsOf(body.events_requested);
  if (body.delivery !== undefined) next.delivery = deliveryOf(body.delivery);
  if (body.description !== undefined) {
    if (
      body.description !== null &&
      (typeof body.description !== 'string' || body.description.length > MAX_DESCRIPTION)
    ) {
      throw bad('description', `a string of at most ${MAX_DESCRIPTION} characters`);
    }
    next.description = (body.description as string | null) ?? null;
  }
  if (body.aud !== undefined) {
    const aud = audOf(body.aud);
    // §8.1.1: aud "cannot be updated".
    if (mode !== 'create' && JSON.stringify(aud) !== JSON.stringify(ours.aud))
      throw bad('aud', 'cannot be updated');
    next.aud = aud;
  }
  if (mode === 'replace' && current) next.aud = current.aud;
  if (
    next.delivery.method === DELIVERY_METHODS.poll &&
    next.delivery.endpointUrl !== null &&
    mode !== 'create' &&
    ours.delivery_endpoint_url !== undefined &&
    next.delivery.endpointUrl !== ours.delivery_endpoint_url
  ) {
    throw bad('delivery.endpoint_url', 'is supplied by the transmitter for poll delivery');
  }
  return next;
}

/** events_delivered: what was requested and this transmitter supports (§8.1.1). */
export const eventsDelivered = (requested: readonly string[]): string[] =>
  requested.filter((t) => SUPPORTED_EVENT_TYPES.includes(t));
