import * as asn1js from 'asn1js';
import { PkiError } from './errors.ts';

// RFC 4514 §3: the only attribute types written by short name; every other type is a dotted OID.
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.6': 'C',
  '2.5.4.9': 'STREET',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
};

function invalid(): PkiError {
  return new PkiError('invalid_name', 'distinguished name is not a valid X.501 Name');
}

// RFC 4514 §2.4: escape the specials, a leading space or '#', a trailing space and NUL; control
// characters are hex-escaped too (allowed by §2.4) so the string is safe to log and compare.
function escapeValue(value: string): string {
  const chars = [...value];
  return chars
    .map((c, i) => {
      if ('"+,;<>\\'.includes(c)) return `\\${c}`;
      const code = c.codePointAt(0) as number;
      if (code < 0x20 || code === 0x7f) return `\\${code.toString(16).padStart(2, '0')}`;
      if (i === 0 && (c === ' ' || c === '#')) return `\\${c}`;
      if (i === chars.length - 1 && c === ' ') return '\\ ';
      return c;
    })
    .join('');
}

function formatAttribute(atv: asn1js.AsnType): string {
  if (!(atv instanceof asn1js.Sequence) || atv.valueBlock.value.length !== 2) throw invalid();
  const [type, value] = atv.valueBlock.value as [asn1js.AsnType, asn1js.AsnType];
  if (!(type instanceof asn1js.ObjectIdentifier)) throw invalid();
  const oid = type.getValue();
  const name = SHORT_NAMES[oid] ?? oid;
  // §2.4: a value that is not a string type is written as '#' and the hex of its BER encoding.
  if (value instanceof asn1js.BaseStringBlock) return `${name}=${escapeValue(value.getValue())}`;
  return `${name}=#${Buffer.from(value.toBER()).toString('hex')}`;
}

/**
 * RFC 4514 §2.1 string of a DER-encoded Name: RDNs from last to first, joined by ',', multi-valued
 * RDN members joined by '+'. Deterministic, so two encodings compare equal only if the names do.
 */
export function formatRfc4514(nameDer: ArrayBuffer | Uint8Array): string {
  const { offset, result } = asn1js.fromBER(nameDer);
  if (offset === -1 || offset !== nameDer.byteLength || !(result instanceof asn1js.Sequence)) throw invalid();
  return result.valueBlock.value
    .map((rdn) => {
      if (!(rdn instanceof asn1js.Set) || rdn.valueBlock.value.length === 0) throw invalid();
      return rdn.valueBlock.value.map(formatAttribute).join('+');
    })
    .reverse()
    .join(',');
}
