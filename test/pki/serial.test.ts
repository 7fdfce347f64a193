import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomSerialHex } from '../../src/pki/index.ts';
import { assertSerialHex } from '../../src/pki/serial.ts';

describe('randomSerialHex', () => {
  it('ok/20 positive octets, lowercase, no leading zero, over many samples (RFC 5280 §4.1.2.2)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const hex = randomSerialHex();
      assert.match(hex, /^[0-9a-f]{40}$/);
      const first = Number.parseInt(hex.slice(0, 2), 16);
      assert.ok(
        first >= 0x40 && first <= 0x7f,
        `first octet ${first} keeps the INTEGER positive and 20 octets`,
      );
      assert.doesNotThrow(() => assertSerialHex(hex));
      seen.add(hex);
    }
    assert.equal(seen.size, 5000);
  });

  it('ok/the random bits vary in every octet', () => {
    const samples = Array.from({ length: 200 }, randomSerialHex);
    for (let octet = 0; octet < 20; octet++) {
      const values = new Set(samples.map((s) => s.slice(octet * 2, octet * 2 + 2)));
      assert.ok(values.size > 20, `octet ${octet} looks constant`);
    }
  });
});

describe('assertSerialHex', () => {
  const cases: Array<[string, string, boolean]> = [
    ['ok/one octet', '01', true],
    ['ok/20 octets', `7f${'ff'.repeat(19)}`, true],
    ['ok/19 octets with high bit (20 with the sign octet)', `80${'00'.repeat(18)}`, true],
    ['fail/20 octets with high bit needs a 21st sign octet', `80${'00'.repeat(19)}`, false],
    ['fail/21 octets', `7f${'ff'.repeat(20)}`, false],
    ['fail/zero', '00', false],
    ['fail/leading zero octet', '0001', false],
    ['fail/uppercase', 'AB', false],
    ['fail/odd length', 'abc', false],
    ['fail/empty', '', false],
    ['fail/not hex', 'zz', false],
    ['fail/sign', '-1', false],
  ];
  for (const [name, hex, ok] of cases) {
    it(name, () => {
      if (ok) assert.doesNotThrow(() => assertSerialHex(hex));
      else assert.throws(() => assertSerialHex(hex), { name: 'PkiError', code: 'invalid_serial' });
    });
  }
});
