import type { FastifyReply } from 'fastify';

/** A signed federation artefact with its media type (§8); fresh on every request, so never cached by proxies. */
export function sendJwt(reply: FastifyReply, mediaType: string, jwt: string): FastifyReply {
  return reply.code(200).header('content-type', mediaType).header('cache-control', 'no-store').send(jwt);
}

/** A JSON listing (§8.2.2, §8.5.2). */
export function sendJsonArray(reply: FastifyReply, items: string[]): FastifyReply {
  return reply
    .code(200)
    .header('content-type', 'application/json')
    .header('cache-control', 'no-store')
    .send(JSON.stringify(items));
}
