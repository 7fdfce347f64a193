import pino, { type Logger } from 'pino';
import type { GatewayReason } from './gateway-error.ts';

/** One line per decision (step 7). Never the token, only its jti. */
export interface DecisionRecord {
  /** Which door asked: gateway, auth_request, ext_authz, authzen, aws-lambda. */
  door?: string;
  decision: 'allow' | 'deny';
  reason: GatewayReason;
  status: number;
  method: string;
  /** The catalog pattern that matched, e.g. /v1/accounts/{id}. */
  route: string | undefined;
  path: string;
  client_id: string | undefined;
  org_id: string | undefined;
  jti: string | undefined;
  cert_subject: string | undefined;
  cert_x5t_s256: string | undefined;
  request_id: string;
  latency_ms: number;
  /** `unchecked`: the rate-limit store failed and the request was admitted without its limits (fail-open). */
  rate_limit?: 'unchecked';
}

/**
 * A decision as a shared line — written to the platform's decision log, pushed by a standalone gateway, answered
 * by the admin API: absent values as null, the door named, a latency that is not a number as 0.
 */
export function decisionLineFields(entry: DecisionRecord) {
  return {
    door: entry.door ?? 'gateway',
    decision: entry.decision,
    reason: entry.reason,
    status: entry.status,
    method: entry.method,
    route: entry.route ?? null,
    path: entry.path,
    client_id: entry.client_id ?? null,
    org_id: entry.org_id ?? null,
    jti: entry.jti ?? null,
    cert_subject: entry.cert_subject ?? null,
    cert_x5t_s256: entry.cert_x5t_s256 ?? null,
    request_id: entry.request_id,
    latency_ms: Number.isFinite(entry.latency_ms) ? entry.latency_ms : 0,
  };
}

/** A shared line read back (a database row, a pushed line) as the record taps and the console take. */
export function decisionRecordOf(line: {
  door: string;
  decision: 'allow' | 'deny';
  reason: string;
  status: number | string;
  method: string;
  route?: string | null;
  path: string;
  client_id?: string | null;
  org_id?: string | null;
  jti?: string | null;
  cert_subject?: string | null;
  cert_x5t_s256?: string | null;
  request_id: string;
  latency_ms: number | string;
}): DecisionRecord {
  return {
    door: line.door,
    decision: line.decision,
    reason: line.reason as GatewayReason,
    status: Number(line.status),
    method: line.method,
    route: line.route ?? undefined,
    path: line.path,
    client_id: line.client_id ?? undefined,
    org_id: line.org_id ?? undefined,
    jti: line.jti ?? undefined,
    cert_subject: line.cert_subject ?? undefined,
    cert_x5t_s256: line.cert_x5t_s256 ?? undefined,
    request_id: line.request_id,
    latency_ms: Number(line.latency_ms),
  };
}

export interface GatewayStats {
  allowed: Record<string, number>;
  denied: Record<string, number>;
}

export interface DecisionLog {
  record(entry: DecisionRecord): void;
  stats(): GatewayStats;
}

const MESSAGE = 'gateway decision';
const RECORD_KEYS: ReadonlyArray<keyof DecisionRecord> = [
  'door',
  'decision',
  'reason',
  'status',
  'method',
  'route',
  'path',
  'client_id',
  'org_id',
  'jti',
  'cert_subject',
  'cert_x5t_s256',
  'request_id',
  'latency_ms',
  'rate_limit',
];

type PinoInternals = Record<symbol, unknown>;
const S = pino.symbols as unknown as Record<string, symbol>;

/**
 * The decision line, written as pino itself would write it (level, time, bindings, fields, msg — the same
 * bytes), from one JSON.stringify of a flat record: pino's per-field serialisation cost as much as the whole
 * scope check (bench/gateway). Used only when nothing could change the line — no formatter, mixin, hook,
 * serializer or redaction touching these fields, a plain destination — otherwise the logger writes it.
 */
function fastLineWriter(logger: Logger): ((level: number, entry: DecisionRecord) => void) | undefined {
  const l = logger as unknown as PinoInternals;
  const stream = l[S.streamSym!] as ({ write(line: string): unknown } & PinoInternals) | undefined;
  const formatters = l[S.formattersSym!] as { log?: unknown } | undefined;
  const hooks = l[S.hooksSym!] as { streamWrite?: unknown } | undefined;
  const serializers = (l[S.serializersSym!] ?? {}) as Record<string, unknown>;
  const stringifiers = (l[S.stringifiersSym!] ?? {}) as Record<string | symbol, unknown>;
  const lsCache = l[S.lsCacheSym!] as Record<number, string> | undefined;
  const time = l[S.timeSym!] as (() => string) | undefined;
  const end = l[S.endSym!];
  if (
    !stream ||
    typeof stream.write !== 'function' ||
    stream[S.needsMetadataGsym!] === true ||
    formatters?.log !== undefined ||
    hooks?.streamWrite !== undefined ||
    l[S.mixinSym!] !== undefined ||
    l[S.messageKeySym!] !== 'msg' ||
    typeof time !== 'function' ||
    typeof end !== 'string' ||
    !lsCache ||
    stringifiers[S.wildcardFirstSym!] !== undefined ||
    RECORD_KEYS.some((k) => serializers[k] !== undefined || stringifiers[k] !== undefined)
  ) {
    return undefined;
  }
  const tail = `,"msg":${JSON.stringify(MESSAGE)}${end}`;
  return (level, entry) => {
    // Bindings are read per line: a child logger or setBindings() may change them.
    const fields = JSON.stringify(entry);
    stream.write(
      `${lsCache[level]}${time.call(logger)}${l[S.chindingsSym!] as string},${fields.slice(1, -1)}${tail}`,
    );
  };
}

/** Writes decision lines and keeps counters by decision and reason, to be exported as metrics later. */
export function createDecisionLog(logger: Logger, onDecision?: (entry: DecisionRecord) => void): DecisionLog {
  const allowed = new Map<string, number>();
  const denied = new Map<string, number>();
  const fast = fastLineWriter(logger);
  const INFO = 30;
  const WARN = 40;
  return {
    record(entry) {
      const counters = entry.decision === 'allow' ? allowed : denied;
      counters.set(entry.reason, (counters.get(entry.reason) ?? 0) + 1);
      onDecision?.(entry);
      const level = entry.status >= 500 ? WARN : INFO;
      if (logger.levelVal > level) return;
      if (fast) fast(level, entry);
      else if (level === WARN) logger.warn(entry, MESSAGE);
      else logger.info(entry, MESSAGE);
    },
    stats() {
      return { allowed: Object.fromEntries(allowed), denied: Object.fromEntries(denied) };
    },
  };
}
