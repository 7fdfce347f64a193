import type { Kysely } from 'kysely';
import type { Engine } from '../engine.ts';

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the evolving Database type.
type AnyDb = Kysely<any>;

/**
 * OpenID Shared Signals Framework 1.0 transmitter (issue 13): receivers (operator-granted bearer credentials,
 * optionally scoped to one organisation), their event streams and subject filters, and the Security Event
 * Tokens queued for each stream until pushed (RFC 8935) or polled and acknowledged (RFC 8936).
 */
export function sharedSignalsMigration(engine: Engine) {
  const serial = engine === 'postgres' ? 'bigserial' : 'integer';
  return {
    async up(db: AnyDb): Promise<void> {
      await db.schema
        .createTable('ssf_receivers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('org_id', 'text')
        // SHA-256 of the bearer token: a database leak grants nothing.
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema
        .createTable('ssf_streams')
        .addColumn('stream_id', 'text', (c) => c.primaryKey())
        .addColumn('receiver_id', 'text', (c) => c.notNull())
        // JSON: a string or an array of strings (SSF 1.0 §8.1.1).
        .addColumn('aud', 'text', (c) => c.notNull())
        .addColumn('events_requested', 'text', (c) => c.notNull())
        .addColumn('delivery_method', 'text', (c) => c.notNull())
        .addColumn('endpoint_url', 'text')
        // Sealed with the platform's KEK: the receiver's credential for its own push endpoint.
        .addColumn('authorization_header', 'text')
        .addColumn('description', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        // The last platform event when the stream was created: it carries only what happens afterwards.
        .addColumn('after_seq', 'integer', (c) => c.notNull())
        .addColumn('last_verification_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ssf_streams_receiver').on('ssf_streams').column('receiver_id').execute();
      await db.schema
        .createTable('ssf_stream_subjects')
        .addColumn('stream_id', 'text', (c) => c.notNull())
        // Canonical JSON of the RFC 9493 subject identifier.
        .addColumn('subject', 'text', (c) => c.notNull())
        // include (add_subject: only included subjects, once any is) or exclude (remove_subject).
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('ssf_stream_subjects_pk', ['stream_id', 'subject'])
        .execute();
      await db.schema
        .createTable('ssf_queued_sets')
        .addColumn('seq', serial, (c) =>
          engine === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('stream_id', 'text', (c) => c.notNull())
        .addColumn('jti', 'text', (c) => c.notNull().unique())
        // The signed SET (compact JWS): pushed and polled SETs are the same token.
        .addColumn('token', 'text', (c) => c.notNull())
        .addColumn('queued_at', 'text', (c) => c.notNull())
        // Push: next attempt (backoff); poll: when an unacknowledged SET is offered again.
        .addColumn('next_attempt_at', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        // Push gave up (permanent refusal or too many attempts): kept for the operator, never sent again.
        .addColumn('failed_at', 'text')
        .execute();
      await db.schema
        .createIndex('ssf_queued_sets_stream')
        .on('ssf_queued_sets')
        .columns(['stream_id', 'seq'])
        .execute();
    },
  };
}
