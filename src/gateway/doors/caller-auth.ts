import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';

/** Who may ask the decision listener: edges an operator named, never anyone who can reach the port. */
export interface DecisionCallers {
  /**
   * Client certificates of the edges: a SHA-256 thumbprint (hex, colons allowed, or base64url x5t#S256)
   * pins one certificate; anything else is a subject (e.g. `CN=edge-1`) that must chain to `callerCa`.
   */
  callers?: string[];
  /** Shared secret an edge sends in x-accredit-decision-secret (or as Bearer on the AuthZEN endpoints). */
  secret?: string;
}

export const DECISION_SECRET_HEADER = 'x-accredit-decision-secret';

const HEX_THUMBPRINT = /^[0-9A-Fa-f]{2}(?::?[0-9A-Fa-f]{2}){31}$/;
const B64_THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Returns the check of one request: a pinned or (chained and named) client certificate on the connection,
 * or the shared secret, compared in constant time over SHA-256 digests (no length leak either).
 */
export function createCallerCheck(config: DecisionCallers & { callerCa?: string }) {
  const pins = new Set<string>();
  const subjects = new Set<string>();
  for (const entry of config.callers ?? []) {
    if (HEX_THUMBPRINT.test(entry)) {
      pins.add(Buffer.from(entry.replaceAll(':', ''), 'hex').toString('base64url'));
    } else if (B64_THUMBPRINT.test(entry)) pins.add(entry);
    else subjects.add(entry.trim());
  }
  // Without a CA of its own the listener would judge chains against the system store: any public CA could
  // then vouch for "CN=edge-1". Names mean something only under the operator's CA.
  if (subjects.size > 0 && config.callerCa === undefined) {
    throw new Error(
      `decision.callers: ${[...subjects][0]} is not a SHA-256 thumbprint; naming callers by subject needs decision.callerCaFile`,
    );
  }
  const secret = config.secret === undefined ? undefined : digest(config.secret);
  const perSocket = new WeakMap<TLSSocket, boolean>();

  function byCertificate(socket: TLSSocket): boolean {
    const known = perSocket.get(socket);
    if (known !== undefined) return known;
    const peer = socket.getPeerX509Certificate?.();
    let ok = false;
    if (peer !== undefined) {
      const x5t = createHash('sha256').update(peer.raw).digest('base64url');
      const subject = peer.subject.split('\n').join(', ');
      ok = pins.has(x5t) || (socket.authorized === true && subjects.has(subject));
    }
    perSocket.set(socket, ok);
    return ok;
  }

  return function isAuthenticatedCaller(req: IncomingMessage, allowBearer: boolean): boolean {
    if ((pins.size > 0 || subjects.size > 0) && byCertificate(req.socket as TLSSocket)) return true;
    if (secret === undefined) return false;
    let offered = req.headers[DECISION_SECRET_HEADER];
    if (offered === undefined && allowBearer) {
      const auth = req.headers.authorization;
      if (auth !== undefined && /^bearer /i.test(auth)) offered = auth.slice(7).trim();
    }
    if (typeof offered !== 'string' || offered === '') return false;
    return timingSafeEqual(digest(offered), secret);
  };
}
