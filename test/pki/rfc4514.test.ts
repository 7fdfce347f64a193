import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatRfc4514 } from '../../src/pki/index.ts';
import { x509 } from '../../src/pki/x509.ts';

function der(json: ConstructorParameters<typeof x509.Name>[0]): ArrayBuffer {
  return new x509.Name(json).toArrayBuffer();
}

describe('formatRfc4514', () => {
  const cases: Array<[string, ConstructorParameters<typeof x509.Name>[0], string]> = [
    [
      'ok/last RDN first (RFC 4514 §2.1)',
      [{ C: ['NL'] }, { O: ['Acme'] }, { CN: ['x'] }],
      'CN=x,O=Acme,C=NL',
    ],
    [
      'ok/short names only from the §3 table, dotted OIDs otherwise',
      [
        { '2.5.4.97': [{ utf8String: 'VATNL-1' }] },
        { '0.9.2342.19200300.100.1.25': ['example'] },
        { '1.2.840.113549.1.9.1': ['a@b.c'] },
        { '2.5.4.9': [{ utf8String: 'Main St' }] },
        { '0.9.2342.19200300.100.1.1': [{ utf8String: 'u1' }] },
      ],
      'UID=u1,STREET=Main St,1.2.840.113549.1.9.1=a@b.c,DC=example,2.5.4.97=VATNL-1',
    ],
    ['ok/multi-valued RDN joined by +', [{ CN: ['a'], O: ['b'] }], 'CN=a+O=b'],
    [
      'ok/specials escaped (§2.4)',
      [{ CN: [{ utf8String: 'a,b+c"d\\e<f>g;h=i' }] }],
      'CN=a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h=i',
    ],
    ['ok/leading and trailing space', [{ CN: [{ utf8String: ' x ' }] }], 'CN=\\ x\\ '],
    ['ok/a single space', [{ CN: [{ utf8String: ' ' }] }], 'CN=\\ '],
    ['ok/leading hash', [{ CN: [{ utf8String: '#x#' }] }], 'CN=\\#x#'],
    ['ok/control characters hex-escaped', [{ CN: [{ utf8String: 'a\nb\u0000' }] }], 'CN=a\\0ab\\00'],
    ['ok/unicode kept as is', [{ O: [{ utf8String: 'Bänk 銀行' }] }], 'O=Bänk 銀行'],
    ['ok/BMPString decoded', [{ O: [{ bmpString: 'Bänk' }] }], 'O=Bänk'],
    ['ok/non-string value as #hex of its BER', [{ CN: ['#020101'] }], 'CN=#020101'],
    ['ok/empty name', [], ''],
  ];
  for (const [name, json, expected] of cases) {
    it(name, () => assert.equal(formatRfc4514(der(json)), expected));
  }

  const invalid: Array<[string, Uint8Array]> = [
    ['fail/not DER', Buffer.from('hello')],
    ['fail/trailing bytes', Buffer.concat([Buffer.from(der([{ CN: ['x'] }])), Buffer.from([0])])],
    ['fail/not a SEQUENCE', Buffer.from('0c0178', 'hex')],
    ['fail/RDN not a SET', Buffer.from('30030c0178', 'hex')],
  ];
  for (const [name, bytes] of invalid) {
    it(name, () => assert.throws(() => formatRfc4514(bytes), { name: 'PkiError', code: 'invalid_name' }));
  }
});
