import type { ServerResponse } from 'node:http';

/**
 * RFC 7030 §4.2.3 (and §4.1.3): an error is a 4xx/5xx whose body, without a content type of its own, is a
 * human-readable plain-text message. Ours starts with a stable code: `code: message`.
 */
export function sendEstError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  const body = `${code}: ${message}\n`;
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    // A body left unread (refused before it was read, or too large) is not drained: the connection ends.
    ...(res.req?.complete === false ? { connection: 'close' } : {}),
    ...headers,
  });
  res.end(body);
}
