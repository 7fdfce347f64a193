import { createHash } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import { CHANGE_KINDS, type Change, type Storage } from '../../storage/index.ts';
import type { KeyAlgorithm } from '../keys.ts';
import { buildOcspResponse, ocspErrorResponse, type SingleAnswer } from './build-ocsp-response.ts';
import { certificateStatus } from './certificate-status.ts';
import { loadOcspAuthorities, type OcspAuthorities, type OcspAuthority } from './ocsp-authorities.ts';
import { OcspRequestError, type OcspResponseStatus } from './ocsp-errors.ts';
import { parseOcspRequest, type RequestedCertId } from './parse-ocsp-request.ts';
import { ensureResponder, renewAt, type StoredResponder } from './responder-store.ts';

const MINUTE_MS = 60_000;
// Bounds the memory an attacker asking for random serials can make the cache hold.
const MAX_CACHED = 50_000;
// A one-CertID request is about 80 octets; longer ones (signed requests, extensions) are answered uncached.
const MAX_CACHED_REQUEST_BYTES = 512;
// A CertID naming no known CA reloads the CA list (a CA added by another process), at most this often.
const RELOAD_INTERVAL_MS = 10_000;

export interface OcspResponderOptions {
  storage: Storage;
  kek: string;
  clock: Clock;
  /** Lifetime of each delegated responder certificate; renewed at half of it. */
  responderDays: number;
  /** nextUpdate − thisUpdate of each response (RFC 6960 §4.2.2.1); cached answers are re-signed at half. */
  validityMinutes: number;
  keyAlgorithm: KeyAlgorithm;
  logger?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Called with the status of every response (metrics); must be cheap and must not throw. */
  onAnswer?: (status: OcspResponseStatus) => void;
}

/** An OCSPResponse and, for a cacheable one (no nonce), what HTTP caches need (RFC 5019 §6.2). */
export interface OcspAnswer {
  der: Buffer;
  status: OcspResponseStatus;
  cacheable?: { thisUpdate: Date; nextUpdate: Date; etag: string };
}

interface CacheEntry {
  answer: OcspAnswer;
  caId: string;
  serial: string;
  refreshAt: number;
}

/**
 * The OCSP responder (RFC 6960) for every CA the platform holds a key for: each CertID is matched to a CA by
 * its issuerNameHash and issuerKeyHash, answered good, revoked (time and reason) or unknown, and signed by
 * that CA's delegated responder. Responses without a nonce are kept per request until a change-feed entry
 * touches the serial or half their validity has passed; nonce requests are signed fresh.
 */
export class OcspResponder {
  readonly #options: OcspResponderOptions;
  #authorities: Promise<OcspAuthorities>;
  #lastReload = 0;
  readonly #responders = new Map<string, StoredResponder>();
  readonly #pending = new Map<string, Promise<StoredResponder | undefined>>();
  readonly #cache = new Map<string, CacheEntry>();
  readonly #bySerial = new Map<string, Set<string>>();
  // Bumped by every invalidation: a lookup that raced one is answered but not kept.
  #epoch = 0;
  #unfollow: (() => void) | undefined;

  constructor(options: OcspResponderOptions) {
    this.#options = options;
    this.#authorities = loadOcspAuthorities(options.storage.db, options.kek);
    this.#lastReload = options.clock().getTime();
  }

  /** Follows the change feed so a revocation is answered on the very next request, in every process. */
  follow(): () => void {
    this.#unfollow ??= this.#options.storage.feed.subscribe((change) => this.onChange(change));
    return () => {
      this.#unfollow?.();
      this.#unfollow = undefined;
    };
  }

  onChange(change: Change): void {
    if (change.kind === CHANGE_KINDS.certRevoked || change.kind === CHANGE_KINDS.certIssued) {
      this.#epoch++;
      this.#forgetSerial(change.entityId.toLowerCase());
    } else if (String(change.kind).startsWith('ca.')) {
      // A CA was added, rotated or retired: everything may have changed.
      this.#epoch++;
      this.#cache.clear();
      this.#bySerial.clear();
      this.#reload();
    }
  }

  /** The CAs as last loaded (for caIssuers publication). */
  authorities(): Promise<OcspAuthorities> {
    return this.#authorities;
  }

  /** Issues responder certificates that are missing or past half their life (housekeeping). */
  async renewResponders(): Promise<void> {
    this.#reload();
    const authorities = await this.#authorities;
    for (const ca of authorities.all) {
      if (!ca.privateKey) continue;
      // One CA's failure (an expired CA, a database hiccup) leaves the others renewed; retried next time.
      await this.#responder(ca).catch((err) =>
        this.#options.logger?.error(
          { err: (err as Error).message, ca: ca.id },
          'OCSP responder renewal failed',
        ),
      );
    }
  }

  /** Answers one DER OCSPRequest; never throws: failures are OCSP error statuses (RFC 6960 §2.3). */
  async respond(der: Uint8Array): Promise<OcspAnswer> {
    const answer = await this.#answer(der);
    this.#options.onAnswer?.(answer.status);
    return answer;
  }

  async #answer(der: Uint8Array): Promise<OcspAnswer> {
    try {
      return await this.#respond(der);
    } catch (err) {
      if (err instanceof OcspRequestError) return { der: ocspErrorResponse(err.status), status: err.status };
      this.#options.logger?.error({ err: (err as Error).message }, 'OCSP request failed');
      return { der: ocspErrorResponse('internalError'), status: 'internalError' };
    }
  }

  async #respond(der: Uint8Array): Promise<OcspAnswer> {
    const now = this.#options.clock();
    // A request without nonce says the same every time: its own bytes key the cache, so a hit costs no
    // parsing at all (pkijs' schema walk is most of a cached answer's cost otherwise).
    const cacheKey =
      der.byteLength <= MAX_CACHED_REQUEST_BYTES ? Buffer.from(der).toString('latin1') : undefined;
    const cached = cacheKey === undefined ? undefined : this.#cache.get(cacheKey);
    if (cached && now.getTime() < cached.refreshAt) return cached.answer;
    const request = parseOcspRequest(der);
    const single = request.certIds.length === 1 && !request.nonce ? request.certIds[0] : undefined;
    const ca = await this.#authorityOf(request.certIds, now);
    const responder = await this.#responder(ca);
    // RFC 5019 §2.2.3 / RFC 6960 §2.3: a CA without a usable key here is not one we answer for.
    if (!responder || responder.notAfter <= now) {
      throw new OcspRequestError('unauthorized', 'no responder for this CA');
    }
    const epoch = this.#epoch;
    const answers: SingleAnswer[] = [];
    for (const id of request.certIds) {
      answers.push({
        certId: id.certId,
        status: await certificateStatus(this.#options.storage.db, ca, id.serialHex),
      });
    }
    const thisUpdate = now;
    // §4.2.2.1: nextUpdate, and never later than the responder certificate stays valid.
    const nextUpdate = new Date(
      Math.min(now.getTime() + this.#options.validityMinutes * MINUTE_MS, responder.notAfter.getTime()),
    );
    const response = buildOcspResponse({
      responder: responder.key,
      answers,
      producedAt: now,
      thisUpdate,
      nextUpdate,
      nonce: request.nonce,
    });
    const answer: OcspAnswer = { der: response, status: 'successful' };
    if (!request.nonce) {
      answer.cacheable = {
        thisUpdate,
        nextUpdate,
        etag: `"${createHash('sha256').update(response).digest('base64url')}"`,
      };
    }
    if (single && cacheKey !== undefined && epoch === this.#epoch && single.serialHex !== undefined) {
      const refreshAt = now.getTime() + Math.floor((nextUpdate.getTime() - now.getTime()) / 2);
      this.#remember(cacheKey, { answer, caId: ca.id, serial: single.serialHex, refreshAt });
    }
    return answer;
  }

  #remember(key: string, entry: CacheEntry): void {
    if (this.#cache.size >= MAX_CACHED) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#forgetKey(oldest);
    }
    this.#cache.set(key, entry);
    const keys = this.#bySerial.get(entry.serial) ?? new Set<string>();
    keys.add(key);
    this.#bySerial.set(entry.serial, keys);
  }

  #forgetKey(key: string): void {
    const entry = this.#cache.get(key);
    if (!entry) return;
    this.#cache.delete(key);
    const keys = this.#bySerial.get(entry.serial);
    keys?.delete(key);
    if (keys?.size === 0) this.#bySerial.delete(entry.serial);
  }

  #forgetSerial(serial: string): void {
    for (const key of this.#bySerial.get(serial) ?? []) this.#cache.delete(key);
    this.#bySerial.delete(serial);
  }

  #forgetCa(caId: string): void {
    for (const [key, entry] of this.#cache) if (entry.caId === caId) this.#forgetKey(key);
  }

  #reload(): void {
    this.#lastReload = this.#options.clock().getTime();
    const next = loadOcspAuthorities(this.#options.storage.db, this.#options.kek);
    // A failed reload keeps the last good list.
    this.#authorities = next.catch(() => this.#authorities);
  }

  /** One CA for every CertID: a response is signed by one responder, which speaks for one CA (§4.2.2.2). */
  async #authorityOf(ids: RequestedCertId[], now: Date): Promise<OcspAuthority> {
    let authorities = await this.#authorities;
    const find = () =>
      ids.map((id) =>
        id.hash ? authorities.byCertId(id.hash, id.issuerNameHash, id.issuerKeyHash) : undefined,
      );
    let found = find();
    if (found.some((ca) => !ca) && now.getTime() - this.#lastReload >= RELOAD_INTERVAL_MS) {
      this.#reload();
      authorities = await this.#authorities;
      found = find();
    }
    const first = found[0];
    if (!first || found.some((ca) => ca?.id !== first.id)) {
      throw new OcspRequestError('unauthorized', 'a CertID names an issuer this responder does not serve');
    }
    return first;
  }

  async #responder(ca: OcspAuthority): Promise<StoredResponder | undefined> {
    const now = this.#options.clock();
    const current = this.#responders.get(ca.id);
    if (current && now < renewAt(current)) return current;
    let pending = this.#pending.get(ca.id);
    if (!pending) {
      pending = ensureResponder(
        this.#options.storage,
        ca,
        this.#options.kek,
        { lifetimeDays: this.#options.responderDays, keyAlgorithm: this.#options.keyAlgorithm },
        now,
      ).finally(() => this.#pending.delete(ca.id));
      this.#pending.set(ca.id, pending);
    }
    let next: StoredResponder | undefined;
    try {
      next = await pending;
    } catch (err) {
      // The current responder, if any, still signs until it expires; the renewal is tried again next time.
      this.#options.logger?.error(
        { err: (err as Error).message, ca: ca.id },
        'OCSP responder renewal failed',
      );
      if (current && now < current.notAfter) return current;
      throw new OcspRequestError('tryLater', 'no OCSP responder certificate available');
    }
    if (next && next.serial !== current?.serial) {
      this.#responders.set(ca.id, next);
      // Cached responses carry the previous responder's certificate and nextUpdate bound: sign anew.
      this.#epoch++;
      this.#forgetCa(ca.id);
    }
    return next;
  }
}
