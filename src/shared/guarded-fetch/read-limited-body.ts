import { FetchError } from './fetch-error.ts';

/**
 * Reads a response body up to `limit` bytes and stops reading (destroying the stream) as soon as it is
 * exceeded, so an oversized or endless answer costs at most `limit` bytes of memory.
 */
export async function readLimitedBody(
  body: AsyncIterable<Uint8Array> & { destroy(error?: Error): unknown },
  limit: number,
  url: string,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > limit) {
      const err = new FetchError('response_too_large', `response from ${url} exceeds ${limit} bytes`);
      body.destroy(err);
      throw err;
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks, size);
}
