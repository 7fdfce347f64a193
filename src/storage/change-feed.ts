import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import type { Engine } from './engine.ts';
import type { Database } from './schema.ts';
import { lockJournal, type Tx } from './tx.ts';

export const CHANGE_KINDS = {
  orgStatus: 'org.status',
  appStatus: 'app.status',
  certRevoked: 'cert.revoked',
  // The platform issued a certificate; entity id = serial, payload { x5t_s256, client_id, org_id, not_after,
  // renews? } (renews: the serial of the certificate it replaces, when it is a renewal).
  certIssued: 'cert.issued',
  tokenRevoked: 'token.revoked',
  // A role was granted to (or renewed for) an application, or taken from it; entity id = the client id, payload
  // { org_id, role, action: granted|revoked, expires_at }. The authorization server's token cache follows it.
  appRoles: 'app.roles',
  // Published when an application is created or its keys change;
  // payload { org_id, status, auth_method, registration_type, created, self_signed_x5t, certificate_apps }.
  appRegistered: 'app.registered',
  // A federation subordinate was added, changed or removed; entity id = its Entity Identifier, payload { status, org_id }.
  federationSubordinate: 'federation.subordinate',
  // A Trust Mark was issued or revoked; entity id = the mark's id, payload { status, sub, trust_mark_type }.
  federationTrustMark: 'federation.trust_mark',
  // The access catalog changed; entity id = the operation, payload { routes } = the whole new route table.
  catalogChanged: 'catalog.changed',
  // An organisation's own CA was registered, its CRL refreshed, or it was removed; entity id = the CA id,
  // payload { org_id, status: active|removed, certificate_pem, spki_sha256, revoked_serials, crl_next_update,
  // stale_after } (stale_after: after it, or when null, the CA vouches for nobody).
  externalCaChanged: 'external_ca.changed',
  // The platform's set of CAs changed (an issuing CA rotated in, retired or revoked; the root key taken
  // offline or back): entity id = the CA, payload { action, status, bundle_sha256 }. Trust stores reload.
  caChanged: 'ca.changed',
} as const;
export type ChangeKind = (typeof CHANGE_KINDS)[keyof typeof CHANGE_KINDS];

export interface ChangeInput {
  kind: ChangeKind;
  entityId: string;
  payload: Record<string, unknown>;
}

export interface Change extends ChangeInput {
  seq: number;
  at: string;
}

const CHANNEL = 'accredit_changes';
// Small messages between the processes sharing the database (issue 16: which changes each node's standalone
// gateways have applied), outside any transaction; only on PostgreSQL.
const SIGNAL_CHANNEL = 'accredit_signals';

/** Records an access-affecting change inside the caller's transaction: it exists exactly when the change does. */
export async function publishChange(tx: Tx, change: ChangeInput, now: Date): Promise<Change> {
  await lockJournal(tx);
  const at = now.toISOString();
  const row = await tx.db
    .insertInto('change_feed')
    .values({ at, kind: change.kind, entity_id: change.entityId, payload: JSON.stringify(change.payload) })
    .returning('seq')
    .executeTakeFirstOrThrow();
  const seq = Number(row.seq);
  // NOTIFY is transactional: listeners hear it only if and when this transaction commits.
  if (tx.engine === 'postgres') await sql`SELECT pg_notify(${CHANNEL}, ${String(seq)})`.execute(tx.db);
  const published: Change = { ...change, seq, at };
  tx.published.push(published);
  return published;
}

export type ChangeHandler = (change: Change) => void;
export type SignalHandler = (payload: string) => void;

interface FeedOptions {
  pgConfig: pg.ClientConfig | undefined;
  pollIntervalMs: number;
}

/**
 * Follows the change_feed table from a known sequence number. Woken by in-process commits, PostgreSQL
 * LISTEN/NOTIFY, and a timer for other processes on SQLite; each wake reads only rows after the last seen.
 */
export class ChangeFeed {
  readonly #db: Kysely<Database>;
  readonly #engine: Engine;
  readonly #options: FeedOptions;
  readonly #handlers = new Set<ChangeHandler>();
  readonly #signalHandlers = new Set<SignalHandler>();
  #lastSeq = -1;
  #queued: Promise<void> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #listener: pg.Client | undefined;
  #reconnect: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(db: Kysely<Database>, engine: Engine, options: FeedOptions) {
    this.#db = db;
    this.#engine = engine;
    this.#options = options;
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  async currentSeq(): Promise<number> {
    const row = await this.#db
      .selectFrom('change_feed')
      .select((eb) => eb.fn.max('seq').as('max'))
      .executeTakeFirst();
    return row?.max == null ? 0 : Number(row.max);
  }

  /**
   * Starts following after `fromSeq` (default: now). Take a snapshot of state after reading currentSeq()
   * and pass that seq here, so nothing between snapshot and subscription is lost.
   */
  async start(fromSeq?: number): Promise<void> {
    if (this.#lastSeq >= 0) return;
    this.#lastSeq = fromSeq ?? (await this.currentSeq());
    if (this.#engine === 'postgres' && this.#options.pgConfig) await this.#listen();
    const interval =
      this.#engine === 'postgres'
        ? Math.max(this.#options.pollIntervalMs, 5000)
        : this.#options.pollIntervalMs;
    this.#timer = setInterval(() => this.#wake(), interval);
    this.#timer.unref();
  }

  /**
   * LISTENs on its own connection. When the server ends it (restart, failover, pg_terminate_backend) the
   * listener is opened again, with a growing pause, and the feed is read once it is back: nothing committed
   * meanwhile is missed, and notifications are heard again without restarting the process (issue 16).
   */
  async #listen(): Promise<void> {
    const client = new pg.Client(this.#options.pgConfig);
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      if (this.#listener === client) this.#listener = undefined;
      client.end().catch(() => {});
      this.#relisten(100);
    };
    client.on('error', onLost);
    client.on('end', onLost);
    await client.connect();
    client.on('notification', (message) => {
      if (message.channel === SIGNAL_CHANNEL) {
        for (const handler of this.#signalHandlers) {
          try {
            handler(message.payload ?? '');
          } catch {}
        }
      } else this.#wake();
    });
    await client.query(`LISTEN ${CHANNEL}`);
    await client.query(`LISTEN ${SIGNAL_CHANNEL}`);
    if (this.#stopped) {
      lost = true;
      await client.end().catch(() => {});
      return;
    }
    this.#listener = client;
  }

  #relisten(delayMs: number): void {
    if (this.#stopped || this.#reconnect) return;
    this.#reconnect = setTimeout(() => {
      this.#reconnect = undefined;
      if (this.#stopped) return;
      this.#listen().then(
        () => this.#wake(),
        () => this.#relisten(Math.min(delayMs * 2, 2000)),
      );
    }, delayMs);
    this.#reconnect.unref();
    // Until it is back, the changes other processes commit are found by reading often.
    this.#wake();
  }

  /** Whether signals reach other processes (PostgreSQL with its listener). */
  get signals(): boolean {
    return this.#engine === 'postgres' && this.#options.pgConfig !== undefined;
  }

  /** Sends a signal to every process following this database, this one included; best effort. */
  async signal(payload: string): Promise<void> {
    if (!this.signals || this.#stopped) return;
    await sql`SELECT pg_notify(${SIGNAL_CHANNEL}, ${payload})`.execute(this.#db);
  }

  onSignal(handler: SignalHandler): () => void {
    this.#signalHandlers.add(handler);
    return () => this.#signalHandlers.delete(handler);
  }

  subscribe(handler: ChangeHandler): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  /** Reads and delivers everything committed before this call; resolves once delivered. */
  sync(): Promise<void> {
    if (this.#lastSeq < 0 || this.#stopped) return Promise.resolve();
    if (this.#queued) return this.#queued;
    const run = this.#chain.then(() => {
      this.#queued = undefined;
      return this.#drain();
    });
    this.#queued = run;
    this.#chain = run.catch(() => {});
    return run;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#reconnect) clearTimeout(this.#reconnect);
    await this.#chain;
    if (this.#listener) await this.#listener.end().catch(() => {});
  }

  #wake(): void {
    this.sync().catch(() => {
      // A failed read is retried at the next wake; the position only advances on delivered rows.
    });
  }

  async #drain(): Promise<void> {
    for (;;) {
      const rows = await this.#db
        .selectFrom('change_feed')
        .selectAll()
        .where('seq', '>', this.#lastSeq)
        .orderBy('seq')
        .limit(500)
        .execute();
      for (const row of rows) {
        const change: Change = {
          seq: Number(row.seq),
          at: row.at,
          kind: row.kind as ChangeKind,
          entityId: row.entity_id,
          payload: JSON.parse(row.payload) as Record<string, unknown>,
        };
        this.#lastSeq = change.seq;
        for (const handler of this.#handlers) {
          try {
            handler(change);
          } catch {
            // One subscriber's fault must not stall the others or the feed position.
          }
        }
      }
      if (rows.length < 500) break;
    }
  }
}
