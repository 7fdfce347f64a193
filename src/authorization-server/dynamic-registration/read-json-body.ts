import type { IncomingMessage } from 'node:http';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../shared/json-depth.ts';
import { invalidRequest, RegistrationError } from './registration-error.ts';

// A statement with its keys and the metadata around it fit easily; anything larger is not a registration.
export const MAX_REGISTRATION_BODY_BYTES = 64 * 1024;

/** RFC 7591 §3.1, RFC 7592 §2.2: the request is a JSON object sent as application/json. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') throw invalidRequest('the request body must be application/json');
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_REGISTRATION_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REGISTRATION_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  // Metadata and JWKs are shallow; deeper nesting would only overflow the stack of what walks it later.
  if (exceedsJsonDepth(text, MAX_JSON_DEPTH)) {
    throw new RegistrationError(
      'invalid_client_metadata',
      400,
      `the client metadata nests deeper than ${MAX_JSON_DEPTH} levels`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidRequest('the request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw invalidRequest('the request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

const tooLarge = () =>
  new RegistrationError(
    'invalid_request',
    413,
    `the request body is larger than ${MAX_REGISTRATION_BODY_BYTES} bytes`,
  );
