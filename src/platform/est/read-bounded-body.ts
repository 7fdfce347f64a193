import type { IncomingMessage } from 'node:http';

/** The request body up to `max` bytes; `too_large` as soon as it is known to be larger (declared or sent). */
export function readBoundedBody(req: IncomingMessage, max: number): Promise<Buffer | 'too_large'> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) return Promise.resolve('too_large');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        done = true;
        req.off('data', onData);
        req.resume();
        resolve('too_large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.once('error', (err) => {
      if (!done) reject(err);
    });
  });
}
