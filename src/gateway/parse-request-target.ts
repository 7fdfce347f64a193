import { GATEWAY_REASONS, GatewayError } from './gateway-error.ts';

export interface RequestTarget {
  /** The path exactly as received: forwarded unchanged, so the upstream sees what was checked. */
  path: string;
  /** The raw query including its leading `?`, or ''. */
  query: string;
  /** Raw (still percent-encoded) path segments; `/` is zero segments. */
  segments: string[];
}

const MAX_TARGET = 4096;
const HEX = /^[0-9A-Fa-f]{2}$/;

function invalidPath(message: string): GatewayError {
  return new GatewayError(GATEWAY_REASONS.invalidPath, 400, message);
}

// Rejects what could make the upstream resolve a different path than the one matched here.
function checkSegment(segment: string): void {
  if (segment === '.' || segment === '..') throw invalidPath('dot segments are not allowed in the path');
  if (!segment.includes('%')) return;
  for (let i = segment.indexOf('%'); i !== -1; i = segment.indexOf('%', i + 1)) {
    const hex = segment.slice(i + 1, i + 3);
    if (!HEX.test(hex)) throw invalidPath('the path has an invalid percent-encoding');
    const byte = Number.parseInt(hex, 16);
    if (byte === 0x2f || byte === 0x5c) throw invalidPath('encoded slashes are not allowed in the path');
    if (byte < 0x20 || byte === 0x7f) throw invalidPath('encoded control characters are not allowed');
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(segment);
  } catch {
    throw invalidPath('the path has an invalid percent-encoding');
  }
  if (decoded === '.' || decoded === '..') throw invalidPath('dot segments are not allowed in the path');
}

/**
 * Splits an origin-form request target (RFC 9112 §3.2.1) and refuses path tricks: dot segments (raw or
 * encoded, RFC 3986 §5.2.4), encoded `/` or `\`, backslashes, control and non-ASCII characters.
 */
export function parseRequestTarget(url: string | undefined): RequestTarget {
  if (!url?.startsWith('/')) throw invalidPath('the request target must be an absolute path');
  if (url.length > MAX_TARGET) throw invalidPath('the request target is too long');
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const query = q === -1 ? '' : url.slice(q);
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 0x5c || c === 0x23) {
      throw invalidPath('the path contains a character that is not allowed');
    }
  }
  const segments = path === '/' ? [] : path.slice(1).split('/');
  for (const segment of segments) checkSegment(segment);
  return { path, query, segments };
}
