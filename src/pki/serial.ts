import { randomBytes } from 'node:crypto';
import { PkiError } from './errors.ts';

const SERIAL_OCTETS = 20;

/**
 * 20 random octets as lowercase hex: RFC 5280 §4.1.2.2 allows at most 20 octets and requires a positive
 * integer; CA/B Forum BR §7.1 asks for at least 64 bits of CSPRNG output (this keeps 158).
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(SERIAL_OCTETS);
  // 0x40..0x7f: top bit clear keeps the INTEGER positive without a 0x00 pad (so exactly 20 octets),
  // and a non-zero first nibble keeps the hex free of leading zeros that parsers strip.
  bytes[0] = 0x40 | ((bytes[0] as number) & 0x3f);
  return bytes.toString('hex');
}

/**
 * Throws unless `hex` is a serial as @peculiar/x509 reports it (unsigned magnitude, lowercase, no leading
 * zero octet) that DER-encodes to a positive INTEGER of at most 20 octets (RFC 5280 §4.1.2.2).
 */
export function assertSerialHex(hex: string): void {
  const octets = hex.length / 2;
  const highBit = /^[89a-f]/.test(hex);
  const ok = /^(?:[0-9a-f]{2}){1,20}$/.test(hex) && !hex.startsWith('00') && octets + (highBit ? 1 : 0) <= 20;
  if (!ok) {
    throw new PkiError(
      'invalid_serial',
      'serial must be lowercase hex of a positive integer, no leading zero octet, at most 20 DER octets',
    );
  }
}
