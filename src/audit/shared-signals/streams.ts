import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { AppError } from '../../shared/app-error.ts';
import type { Database, Tx } from '../../storage/index.ts';
import { recordAuditEvent } from '../record-audit-event.ts';
import type { SsfReceiver } from './receivers.ts';
import {
  DELIVERY_METHODS,
  type DeliveryMethod,
  type StreamStatus,
  SUPPORTED_EVENT_TYPES,
} from './ssf-vocabulary.ts';
import { eventsDelivered, type StreamSettings } from './stream-request.ts';
import { canonicalSubject, type SubjectIdentifier } from './subject-identifier.ts';

/** Seals the receiver's push credential at rest (the platform's KEK); implemented by the composition root. */
export interface SecretSealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

/** What the transmitter says about itself in every stream (SSF 1.0 §8.1.1). */
export interface TransmitterSettings {
  issuer: string;
  /** The poll endpoint of a stream (RFC 8936), which the transmitter supplies. */
  pollUrlOf(streamId: string): string;
  minVerificationIntervalSeconds: number;
  maxStreamsPerReceiver: number;
  maxSubjectsPerStream: number;
}

export interface StreamRecord {
  streamId: string;
  receiverId: string;
  aud: string | string[];
  eventsRequested: string[];
  method: DeliveryMethod;
  endpointUrl: string | null;
  sealedAuthorization: string | null;
  description: string | null;
  status: StreamStatus;
  statusReason: string | null;
  afterSeq: number;
  lastVerificationAt: string | null;
}

type Row = Database['ssf_streams'] extends infer T ? { [K in keyof T]: T[K] } : never;

export function streamOfRow(row: Row): StreamRecord {
  return {
    streamId: row.stream_id,
    receiverId: row.receiver_id,
    aud: JSON.parse(row.aud) as string | string[],
    eventsRequested: JSON.parse(row.events_requested) as string[],
    method: row.delivery_method as DeliveryMethod,
    endpointUrl: row.endpoint_url,
    sealedAuthorization: row.authorization_header,
    description: row.description,
    status: row.status as StreamStatus,
    statusReason: row.status_reason,
    afterSeq: Number(row.after_seq),
    lastVerificationAt: row.last_verification_at,
  };
}

/** The stream configuration a receiver reads (§8.1.1): never the push credential it gave us. */
export function streamView(stream: StreamRecord, t: TransmitterSettings): Record<string, unknown> {
  return {
    stream_id: stream.streamId,
    iss: t.issuer,
    aud: stream.aud,
    events_supported: [...SUPPORTED_EVENT_TYPES],
    events_requested: stream.eventsRequested,
    events_delivered: eventsDelivered(stream.eventsRequested),
    delivery: {
      method: stream.method,
      endpoint_url:
        stream.method === DELIVERY_METHODS.poll ? t.pollUrlOf(stream.streamId) : stream.endpointUrl,
    },
    min_verification_interval: t.minVerificationIntervalSeconds,
    ...(stream.description !== null ? { description: stream.description } : {}),
  };
}

export const settingsOf = (stream: StreamRecord): StreamSettings => ({
  eventsRequested: stream.eventsRequested,
  delivery: { method: stream.method, endpointUrl: stream.endpointUrl, authorizationHeader: null },
  description: stream.description,
  aud: stream.aud,
});

/** Who subscribed to what is on the audit log: stream creation, changes, status and deletion. */
async function auditStream(
  tx: Tx,
  actor: string,
  action: string,
  streamId: string,
  details: Record<string, unknown>,
  now: Date,
): Promise<void> {
  await recordAuditEvent(tx, { actor, action, targetType: 'ssf_stream', targetId: streamId, details }, now);
}

const deliveryDetails = (s: StreamRecord) => ({
  method: s.method,
  endpoint_url: s.endpointUrl,
  events_requested: s.eventsRequested,
});

export const receiverActor = (receiver: { name: string }) => `ssf_receiver:${receiver.name}`;

const notFound = (streamId: string) =>
  new AppError('not_found', 404, `stream ${JSON.stringify(streamId.slice(0, 64))} does not exist`);

/** A receiver's stream; another receiver's is as absent as a missing one (§8.1.1.2: 404). */
export async function loadStream(
  db: Kysely<Database>,
  receiver: SsfReceiver,
  streamId: unknown,
): Promise<StreamRecord> {
  if (typeof streamId !== 'string' || streamId.length === 0) {
    throw new AppError('invalid_request', 400, 'stream_id: required', { field: 'stream_id' });
  }
  const row = await db
    .selectFrom('ssf_streams')
    .selectAll()
    .where('stream_id', '=', streamId)
    .where('receiver_id', '=', receiver.id)
    .executeTakeFirst();
  if (!row) throw notFound(streamId);
  return streamOfRow(row);
}

export async function listStreams(db: Kysely<Database>, receiver: SsfReceiver): Promise<StreamRecord[]> {
  const rows = await db
    .selectFrom('ssf_streams')
    .selectAll()
    .where('receiver_id', '=', receiver.id)
    .orderBy('created_at')
    .execute();
  return rows.map(streamOfRow);
}

async function latestEventSeq(tx: Tx): Promise<number> {
  const row = await tx.db
    .selectFrom('platform_events')
    .select((eb) => eb.fn.max('seq').as('max'))
    .executeTakeFirst();
  return row?.max == null ? 0 : Number(row.max);
}

/** §8.1.1.1: a new stream, enabled, carrying what happens from now on. */
export async function createStream(
  tx: Tx,
  receiver: SsfReceiver,
  settings: StreamSettings,
  deps: { now: Date; transmitter: TransmitterSettings; sealer: SecretSealer },
): Promise<StreamRecord> {
  const count = await tx.db
    .selectFrom('ssf_streams')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('receiver_id', '=', receiver.id)
    .executeTakeFirstOrThrow();
  // §8.1.1.1: 409 when the transmitter does not take another stream from this receiver.
  if (Number(count.n) >= deps.transmitter.maxStreamsPerReceiver) {
    throw new AppError(
      'stream_limit',
      409,
      `a receiver may have at most ${deps.transmitter.maxStreamsPerReceiver} streams`,
    );
  }
  const now = deps.now.toISOString();
  const stream: StreamRecord = {
    streamId: randomUUID(),
    receiverId: receiver.id,
    aud: settings.aud ?? receiver.name,
    eventsRequested: settings.eventsRequested,
    method: settings.delivery.method,
    endpointUrl: settings.delivery.method === DELIVERY_METHODS.push ? settings.delivery.endpointUrl : null,
    sealedAuthorization:
      settings.delivery.authorizationHeader === null
        ? null
        : deps.sealer.seal(settings.delivery.authorizationHeader),
    description: settings.description,
    status: 'enabled',
    statusReason: null,
    afterSeq: await latestEventSeq(tx),
    lastVerificationAt: null,
  };
  await tx.db
    .insertInto('ssf_streams')
    .values({
      stream_id: stream.streamId,
      receiver_id: stream.receiverId,
      aud: JSON.stringify(stream.aud),
      events_requested: JSON.stringify(stream.eventsRequested),
      delivery_method: stream.method,
      endpoint_url: stream.endpointUrl,
      authorization_header: stream.sealedAuthorization,
      description: stream.description,
      status: stream.status,
      status_reason: null,
      after_seq: stream.afterSeq,
      last_verification_at: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
  await auditStream(
    tx,
    receiverActor(receiver),
    'ssf_stream.create',
    stream.streamId,
    deliveryDetails(stream),
    deps.now,
  );
  return stream;
}

/**
 * §8.1.1.3 / §8.1.1.4: new receiver-supplied settings. A push credential is kept when the delivery is
 * unchanged and none is given (it is never echoed, so a receiver cannot repeat it); a switch of method or
 * endpoint drops it. SETs queued for the old delivery stay queued and go the new way.
 */
export async function saveStream(
  tx: Tx,
  stream: StreamRecord,
  settings: StreamSettings,
  deps: { now: Date; sealer: SecretSealer; actor: string },
): Promise<StreamRecord> {
  const endpointUrl =
    settings.delivery.method === DELIVERY_METHODS.push ? settings.delivery.endpointUrl : null;
  const sameDelivery = settings.delivery.method === stream.method && endpointUrl === stream.endpointUrl;
  const sealedAuthorization =
    settings.delivery.authorizationHeader !== null
      ? deps.sealer.seal(settings.delivery.authorizationHeader)
      : sameDelivery
        ? stream.sealedAuthorization
        : null;
  const next: StreamRecord = {
    ...stream,
    eventsRequested: settings.eventsRequested,
    method: settings.delivery.method,
    endpointUrl,
    sealedAuthorization,
    description: settings.description,
  };
  await tx.db
    .updateTable('ssf_streams')
    .set({
      events_requested: JSON.stringify(next.eventsRequested),
      delivery_method: next.method,
      endpoint_url: next.endpointUrl,
      authorization_header: next.sealedAuthorization,
      description: next.description,
      updated_at: deps.now.toISOString(),
    })
    .where('stream_id', '=', stream.streamId)
    .execute();
  await auditStream(tx, deps.actor, 'ssf_stream.update', stream.streamId, deliveryDetails(next), deps.now);
  if (!sameDelivery) {
    // Whatever was in flight for the old delivery is due again at once on the new one.
    await tx.db
      .updateTable('ssf_queued_sets')
      .set({ next_attempt_at: deps.now.toISOString(), attempts: 0, failed_at: null, last_error: null })
      .where('stream_id', '=', stream.streamId)
      .execute();
  }
  return next;
}

/** §8.1.1.5: the stream, its subjects and its queued SETs are gone. */
export async function deleteStream(
  tx: Tx,
  stream: StreamRecord,
  meta: { actor: string; now: Date },
): Promise<void> {
  await auditStream(tx, meta.actor, 'ssf_stream.delete', stream.streamId, deliveryDetails(stream), meta.now);
  await tx.db.deleteFrom('ssf_queued_sets').where('stream_id', '=', stream.streamId).execute();
  await tx.db.deleteFrom('ssf_stream_subjects').where('stream_id', '=', stream.streamId).execute();
  await tx.db.deleteFrom('ssf_streams').where('stream_id', '=', stream.streamId).execute();
}

/**
 * §8.1.2.2: paused holds events (queued, not delivered, until enabled again); disabled transmits nothing and
 * holds nothing, so what was queued is dropped and nothing more is queued.
 */
export async function setStreamStatus(
  tx: Tx,
  stream: StreamRecord,
  status: StreamStatus,
  reason: string | null,
  now: Date,
  actor = 'system',
): Promise<StreamRecord> {
  await auditStream(tx, actor, 'ssf_stream.status', stream.streamId, { status, reason }, now);
  await tx.db
    .updateTable('ssf_streams')
    .set({ status, status_reason: reason, updated_at: now.toISOString() })
    .where('stream_id', '=', stream.streamId)
    .execute();
  if (status === 'disabled') {
    await tx.db.deleteFrom('ssf_queued_sets').where('stream_id', '=', stream.streamId).execute();
  }
  if (status === 'enabled' && stream.status !== 'enabled') {
    // Held SETs are due at once.
    await tx.db
      .updateTable('ssf_queued_sets')
      .set({ next_attempt_at: now.toISOString() })
      .where('stream_id', '=', stream.streamId)
      .where('failed_at', 'is', null)
      .execute();
  }
  return { ...stream, status, statusReason: reason };
}

/**
 * §8.1.3.2 / §8.1.3.3. The stream starts with every subject (`default_subjects: ALL`); an added subject makes
 * the stream carry only added subjects; a removed subject is excluded whatever else is added.
 */
export async function changeSubject(
  tx: Tx,
  stream: StreamRecord,
  subject: SubjectIdentifier,
  mode: 'include' | 'exclude',
  deps: { now: Date; max: number },
): Promise<void> {
  const key = canonicalSubject(subject);
  await tx.db
    .deleteFrom('ssf_stream_subjects')
    .where('stream_id', '=', stream.streamId)
    .where('subject', '=', key)
    .execute();
  const count = await tx.db
    .selectFrom('ssf_stream_subjects')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('stream_id', '=', stream.streamId)
    .executeTakeFirstOrThrow();
  if (Number(count.n) >= deps.max) {
    throw new AppError('subject_limit', 400, `a stream holds at most ${deps.max} subjects`);
  }
  await tx.db
    .insertInto('ssf_stream_subjects')
    .values({ stream_id: stream.streamId, subject: key, mode, added_at: deps.now.toISOString() })
    .execute();
}

export async function markVerificationRequested(tx: Tx, stream: StreamRecord, now: Date): Promise<void> {
  await tx.db
    .updateTable('ssf_streams')
    .set({ last_verification_at: now.toISOString() })
    .where('stream_id', '=', stream.streamId)
    .execute();
}

/** Queues a signed SET for a stream, due at once. */
export async function queueSet(
  tx: Tx,
  streamId: string,
  set: { jti: string; token: string },
  now: Date,
): Promise<void> {
  await tx.db
    .insertInto('ssf_queued_sets')
    .values({
      stream_id: streamId,
      jti: set.jti,
      token: set.token,
      queued_at: now.toISOString(),
      next_attempt_at: now.toISOString(),
      last_error: null,
      failed_at: null,
    })
    .execute();
}
