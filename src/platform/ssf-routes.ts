import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  changeSubject,
  createStream,
  DELIVERY_METHODS,
  deleteStream,
  type EventSigner,
  eventsDelivered,
  findSsfReceiver,
  listStreams,
  loadStream,
  markVerificationRequested,
  PollError,
  pollOnce,
  queueSet,
  readPollRequest,
  readStreamRequest,
  receiverActor,
  type SecretSealer,
  type SharedSignals,
  SSF_EVENT_TYPES,
  SSF_PATHS,
  type SsfReceiver,
  STREAM_STATUSES,
  type StreamRecord,
  type StreamSettings,
  type StreamStatus,
  SUPPORTED_EVENT_TYPES,
  type SubjectIdentifier,
  saveStream,
  setStreamStatus,
  settingsOf,
  signSet,
  streamView,
  subjectProblem,
  type TransmitterSettings,
} from '../audit/index.ts';
import { AppError } from '../shared/app-error.ts';
import type { Clock } from '../shared/clock.ts';
import { FetchError, type UrlGuard } from '../shared/guarded-fetch/index.ts';
import type { Storage } from '../storage/index.ts';
import { problem, sendProblem } from './http/problem.ts';

export interface SsfRouteOptions {
  storage: Storage;
  clock: Clock;
  transmitter: SharedSignals;
  settings: TransmitterSettings;
  sealer: SecretSealer;
  signer: () => Promise<EventSigner>;
  /** The push endpoint's address policy, checked when a receiver names it (and again at every connect). */
  urlGuard: UrlGuard;
  jwksUri: string;
  /** Longest a poll with returnImmediately false is held open (RFC 8936 §2.4). */
  pollMaxWaitMs: number;
  /** Most SETs one poll answer carries. */
  pollMaxEvents: number;
  /** How long a polled, unacknowledged SET waits before it is offered again. */
  redeliverAfterMs: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    ssfReceiver?: SsfReceiver;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const badRequest = (message: string, field?: string) =>
  new AppError('invalid_request', 400, message, field ? { field } : undefined);

/**
 * OpenID Shared Signals Framework 1.0 transmitter endpoints on the public listener: the configuration metadata
 * (§7), the stream management API (§8: streams, status, subjects, verification), and RFC 8936 polling.
 * Receivers authenticate with an operator-granted bearer token (RFC 6750), advertised in
 * `authorization_schemes`; each sees and manages only its own streams.
 */
export function registerSsfRoutes(app: FastifyInstance, options: SsfRouteOptions): void {
  const { storage, clock, settings, transmitter } = options;
  const base = settings.issuer.replace(/\/+$/, '');
  const issuerPath = new URL(base).pathname.replace(/\/+$/, '');

  // §7.2: the metadata at /.well-known/ssf-configuration, with the issuer's path (if any) after it.
  app.get(`${SSF_PATHS.configuration}${issuerPath}`, { schema: { hide: true } }, async (_request, reply) =>
    reply.header('cache-control', 'public, max-age=300').send({
      spec_version: '1_0',
      issuer: settings.issuer,
      jwks_uri: options.jwksUri,
      delivery_methods_supported: [DELIVERY_METHODS.push, DELIVERY_METHODS.poll],
      configuration_endpoint: `${base}${SSF_PATHS.streams}`,
      status_endpoint: `${base}${SSF_PATHS.status}`,
      add_subject_endpoint: `${base}${SSF_PATHS.addSubject}`,
      remove_subject_endpoint: `${base}${SSF_PATHS.removeSubject}`,
      verification_endpoint: `${base}${SSF_PATHS.verify}`,
      // Bearer tokens an operator grants (`accredit ssf receiver add`).
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6750' }],
      default_subjects: 'ALL',
      critical_subject_members: ['tenant'],
    }),
  );

  app.register(async (ssf) => {
    ssf.decorateRequest('ssfReceiver', undefined);
    ssf.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization ?? '';
      const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(header);
      const receiver = match?.[1] ? await findSsfReceiver(storage.db, match[1]) : undefined;
      if (receiver) {
        request.ssfReceiver = receiver;
        return;
      }
      // RFC 6750 §3: the challenge; invalid_token when a token was offered and is not (or no longer) good.
      reply.header(
        'www-authenticate',
        match ? 'Bearer realm="accredit-ssf", error="invalid_token"' : 'Bearer realm="accredit-ssf"',
      );
      if (request.url.startsWith(`${SSF_PATHS.poll}/`)) {
        // RFC 8936 §2.4.4 / RFC 8935 §2.3 error shape on the delivery endpoint.
        return reply
          .code(401)
          .send({ err: 'authentication_failed', description: 'a receiver bearer token is required' });
      }
      return sendProblem(reply, problem(401, 'unauthorized', 'a receiver bearer token is required'));
    });

    const receiverOf = (request: FastifyRequest): SsfReceiver => request.ssfReceiver!;
    const ours = (stream?: StreamRecord) => ({
      ...(stream ? { stream_id: stream.streamId } : {}),
      iss: settings.issuer,
      aud: stream?.aud ?? '',
      events_supported: SUPPORTED_EVENT_TYPES,
      events_delivered: stream ? eventsDelivered(stream.eventsRequested) : [],
      min_verification_interval: settings.minVerificationIntervalSeconds,
      ...(stream ? { delivery_endpoint_url: settings.pollUrlOf(stream.streamId) } : {}),
    });
    async function checkPushEndpoint(next: StreamSettings): Promise<void> {
      if (next.delivery.method !== DELIVERY_METHODS.push || next.delivery.endpointUrl === null) return;
      try {
        await options.urlGuard.assertFetchable(next.delivery.endpointUrl);
      } catch (err) {
        if (err instanceof FetchError) {
          throw badRequest(`delivery.endpoint_url: ${err.message} (${err.code})`, 'delivery.endpoint_url');
        }
        throw err;
      }
    }

    // §8.1.1.1 create.
    ssf.post(SSF_PATHS.streams, { schema: { hide: true } }, async (request, reply) => {
      const next = readStreamRequest(request.body, 'create', ours());
      await checkPushEndpoint(next);
      const stream = await storage.transaction((tx) =>
        createStream(tx, receiverOf(request), next, {
          now: clock(),
          transmitter: settings,
          sealer: options.sealer,
        }),
      );
      return reply.code(201).header('cache-control', 'no-store').send(streamView(stream, settings));
    });

    // §8.1.1.2 read: one stream, or all of this receiver's (an empty list when none).
    ssf.get(SSF_PATHS.streams, { schema: { hide: true } }, async (request, reply) => {
      const streamId = (request.query as { stream_id?: unknown }).stream_id;
      reply.header('cache-control', 'no-store');
      if (streamId === undefined) {
        const all = await listStreams(storage.db, receiverOf(request));
        return all.map((s) => streamView(s, settings));
      }
      return streamView(await loadStream(storage.db, receiverOf(request), streamId), settings);
    });

    // §8.1.1.3 update (PATCH) and §8.1.1.4 replace (PUT): stream_id in the body.
    const change = (mode: 'update' | 'replace') => async (request: FastifyRequest, reply: FastifyReply) => {
      const body = request.body;
      if (!isObject(body)) throw badRequest('body: expected a JSON object', 'body');
      const current = await loadStream(storage.db, receiverOf(request), body.stream_id);
      const next = readStreamRequest(body, mode, ours(current), settingsOf(current));
      // Resolved outside the transaction: a slow name server must not hold the database's write lock.
      await checkPushEndpoint(next);
      const saved = await storage.transaction(async (tx) =>
        saveStream(tx, await loadStream(tx.db, receiverOf(request), current.streamId), next, {
          now: clock(),
          sealer: options.sealer,
          actor: receiverActor(receiverOf(request)),
        }),
      );
      transmitter.queued([saved.streamId]);
      return reply.header('cache-control', 'no-store').send(streamView(saved, settings));
    };
    ssf.patch(SSF_PATHS.streams, { schema: { hide: true } }, change('update'));
    ssf.put(SSF_PATHS.streams, { schema: { hide: true } }, change('replace'));

    // §8.1.1.5 delete.
    ssf.delete(SSF_PATHS.streams, { schema: { hide: true } }, async (request, reply) => {
      const streamId = (request.query as { stream_id?: unknown }).stream_id;
      await storage.transaction(async (tx) =>
        deleteStream(tx, await loadStream(tx.db, receiverOf(request), streamId), {
          actor: receiverActor(receiverOf(request)),
          now: clock(),
        }),
      );
      return reply.code(204).send();
    });

    const statusView = (s: StreamRecord) => ({
      stream_id: s.streamId,
      status: s.status,
      ...(s.statusReason ? { reason: s.statusReason } : {}),
    });

    // §8.1.2.1 read status.
    ssf.get(SSF_PATHS.status, { schema: { hide: true } }, async (request, reply) => {
      const streamId = (request.query as { stream_id?: unknown }).stream_id;
      const stream = await loadStream(storage.db, receiverOf(request), streamId);
      return reply.header('cache-control', 'no-store').send(statusView(stream));
    });

    // §8.1.2.2 update status: enabled, paused (held), disabled (dropped).
    ssf.post(SSF_PATHS.status, { schema: { hide: true } }, async (request, reply) => {
      const body = request.body;
      if (!isObject(body)) throw badRequest('body: expected a JSON object', 'body');
      const status = body.status;
      if (typeof status !== 'string' || !(STREAM_STATUSES as readonly string[]).includes(status)) {
        throw badRequest(`status: one of ${STREAM_STATUSES.join(', ')}`, 'status');
      }
      const reason = body.reason;
      if (reason !== undefined && (typeof reason !== 'string' || reason.length > 256)) {
        throw badRequest('reason: a string of at most 256 characters', 'reason');
      }
      const updated = await storage.transaction(async (tx) =>
        setStreamStatus(
          tx,
          await loadStream(tx.db, receiverOf(request), body.stream_id),
          status as StreamStatus,
          (reason as string | undefined) ?? null,
          clock(),
          receiverActor(receiverOf(request)),
        ),
      );
      if (updated.status === 'enabled') transmitter.queued([updated.streamId]);
      return reply.header('cache-control', 'no-store').send(statusView(updated));
    });

    const subjectOf = (body: Record<string, unknown>): SubjectIdentifier => {
      const problemText = subjectProblem(body.subject);
      if (problemText) throw badRequest(problemText, 'subject');
      return body.subject as SubjectIdentifier;
    };

    // §8.1.3.2 add subject: 200.
    ssf.post(SSF_PATHS.addSubject, { schema: { hide: true } }, async (request, reply) => {
      const body = request.body;
      if (!isObject(body)) throw badRequest('body: expected a JSON object', 'body');
      const subject = subjectOf(body);
      if (body.verified !== undefined && typeof body.verified !== 'boolean') {
        throw badRequest('verified: a boolean', 'verified');
      }
      // §8.1.3.2: 403 when the receiver may not add this subject: a scoped receiver names another tenant.
      const tenant = (subject as { tenant?: { id?: unknown } }).tenant;
      const scope = receiverOf(request).orgId;
      if (scope !== null && tenant !== undefined && tenant.id !== scope) {
        throw new AppError('forbidden', 403, 'this receiver hears only about its own organisation');
      }
      await storage.transaction(async (tx) =>
        changeSubject(tx, await loadStream(tx.db, receiverOf(request), body.stream_id), subject, 'include', {
          now: clock(),
          max: settings.maxSubjectsPerStream,
        }),
      );
      return reply.code(200).send();
    });

    // §8.1.3.3 remove subject: 204.
    ssf.post(SSF_PATHS.removeSubject, { schema: { hide: true } }, async (request, reply) => {
      const body = request.body;
      if (!isObject(body)) throw badRequest('body: expected a JSON object', 'body');
      const subject = subjectOf(body);
      await storage.transaction(async (tx) =>
        changeSubject(tx, await loadStream(tx.db, receiverOf(request), body.stream_id), subject, 'exclude', {
          now: clock(),
          max: settings.maxSubjectsPerStream,
        }),
      );
      return reply.code(204).send();
    });

    // §8.1.4.2: a verification event on the stream, at most once per min_verification_interval (else 429).
    ssf.post(SSF_PATHS.verify, { schema: { hide: true } }, async (request, reply) => {
      const body = request.body;
      if (!isObject(body)) throw badRequest('body: expected a JSON object', 'body');
      const state = body.state;
      if (state !== undefined && (typeof state !== 'string' || state.length > 256)) {
        throw badRequest('state: a string of at most 256 characters', 'state');
      }
      const now = clock();
      const signer = await options.signer();
      const streamId = await storage.transaction(async (tx) => {
        const stream = await loadStream(tx.db, receiverOf(request), body.stream_id);
        if (stream.status === 'disabled') {
          throw new AppError(
            'stream_disabled',
            409,
            'a disabled stream transmits nothing, not even a verification',
          );
        }
        const last = stream.lastVerificationAt
          ? Date.parse(stream.lastVerificationAt)
          : Number.NEGATIVE_INFINITY;
        const waitMs = last + settings.minVerificationIntervalSeconds * 1000 - now.getTime();
        if (waitMs > 0) {
          reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
          throw new AppError(
            'too_many_requests',
            429,
            'verification requested more often than min_verification_interval',
          );
        }
        await markVerificationRequested(tx, stream, now);
        // §8.1.4.1: the stream itself is the subject, an opaque identifier.
        const set = await signSet(
          signer,
          {
            iss: settings.issuer,
            aud: stream.aud,
            subId: { format: 'opaque', id: stream.streamId },
            type: SSF_EVENT_TYPES.verification,
            payload: state === undefined ? {} : { state },
          },
          now,
        );
        await queueSet(tx, stream.streamId, set, now);
        return stream.streamId;
      });
      transmitter.queued([streamId]);
      return reply.code(204).send();
    });

    // RFC 8936 §2.4: poll, with acknowledgements, and long polling bounded by pollMaxWaitMs.
    ssf.post(`${SSF_PATHS.poll}/:streamId`, { schema: { hide: true } }, async (request, reply) => {
      const { streamId } = request.params as { streamId: string };
      reply.header('cache-control', 'no-store');
      let poll: ReturnType<typeof readPollRequest>;
      try {
        poll = readPollRequest(request.body, options.pollMaxEvents);
      } catch (err) {
        if (err instanceof PollError)
          return reply.code(err.status).send({ err: err.err, description: err.message });
        throw err;
      }
      const receiver = receiverOf(request);
      const deadline = Date.now() + options.pollMaxWaitMs;
      const closed = new AbortController();
      // The receiver gave up (its response closed before we answered): stop holding the poll.
      reply.raw.once('close', () => closed.abort());
      try {
        let answer = await pollOnce(storage, receiver, streamId, poll, {
          now: clock(),
          redeliverAfterMs: options.redeliverAfterMs,
          takeSets: true,
        });
        const done = { ...poll, ack: [], setErrs: {} };
        while (
          !poll.returnImmediately &&
          poll.maxEvents > 0 &&
          Object.keys(answer.sets).length === 0 &&
          !closed.signal.aborted
        ) {
          const left = deadline - Date.now();
          if (left <= 0) break;
          // Woken at once by this node's queue; other nodes' SETs are found within a second.
          const open = await transmitter.waitForSets(streamId, Math.min(left, 1000), closed.signal);
          // The receiver went away, or the platform is stopping: answer what there is (nothing).
          if (!open || closed.signal.aborted) break;
          answer = await pollOnce(storage, receiver, streamId, done, {
            now: clock(),
            redeliverAfterMs: options.redeliverAfterMs,
            takeSets: true,
          });
        }
        return reply.send(answer);
      } catch (err) {
        if (err instanceof AppError && err.status === 404) {
          return reply.code(404).send({ err: 'not_found', description: err.message });
        }
        throw err;
      }
    });
  });
}
