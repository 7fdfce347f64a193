import { PkiError } from './errors.ts';

const BOUNDARY = /-----(BEGIN|END) ([A-Z0-9 ]+)-----/g;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export type PemBlock = { label: string; der: Buffer };

function malformed(message: string): PkiError {
  return new PkiError('malformed_pem', message, { status: 400 });
}

// RFC 7468 §2: 64-character base64 lines between BEGIN and END lines with the same label.
export function derToPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * Strictly decodes exactly one PEM block. Text around the block is tolerated (RFC 7468 §2), but a
 * second block, headers, non-base64 characters or non-canonical padding are rejected.
 */
export function decodePem(pem: string): PemBlock {
  const boundaries = [...pem.matchAll(BOUNDARY)];
  if (boundaries.length === 0) throw malformed('no PEM block found');
  if (boundaries.length !== 2) throw malformed('expected exactly one PEM block');
  const [begin, end] = boundaries as [RegExpExecArray, RegExpExecArray];
  if (begin[1] !== 'BEGIN' || end[1] !== 'END' || begin[2] !== end[2]) {
    throw malformed('PEM BEGIN and END lines do not match');
  }
  const body = pem.slice(begin.index + begin[0].length, end.index).replace(/[ \t\r\n]/g, '');
  if (body.length === 0 || !BASE64.test(body)) throw malformed('PEM body is not valid base64');
  const der = Buffer.from(body, 'base64');
  // Canonical check: non-zero padding bits decode silently otherwise.
  if (der.toString('base64') !== body) throw malformed('PEM body is not canonical base64');
  return { label: begin[2] as string, der };
}

export function pemToDer(pem: string, label: string): Buffer {
  const block = decodePem(pem);
  if (block.label !== label) throw malformed(`expected a ${label} PEM block, got ${block.label}`);
  return block.der;
}
