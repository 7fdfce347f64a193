import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PkiError, parseRevocationReason, REVOCATION_REASONS } from '../../src/pki/index.ts';

describe('parseRevocationReason', () => {
  // RFC 5280 §5.3.1 CRLReason values.
  const accepted: Array<[string, number]> = [
    ['unspecified', 0],
    ['keyCompromise', 1],
    ['cACompromise', 2],
    ['affiliationChanged', 3],
    ['superseded', 4],
    ['cessationOfOperation', 5],
    ['privilegeWithdrawn', 9],
    ['aACompromise', 10],
  ];
  for (const [name, code] of accepted) {
    it(`ok/${name} is code ${code}`, () => {
      assert.equal(parseRevocationReason(name), name);
      assert.equal(REVOCATION_REASONS[parseRevocationReason(name)], code);
    });
  }

  it('ok/the table holds exactly the accepted reasons', () => {
    assert.deepEqual(Object.entries(REVOCATION_REASONS), accepted);
  });

  // certificateHold and removeFromCRL would make revocation reversible; revocation here is final.
  const rejected = [
    'certificateHold',
    'removeFromCRL',
    'KeyCompromise',
    'key_compromise',
    '1',
    '',
    'toString',
    '__proto__',
    'hasOwnProperty',
  ];
  for (const value of rejected) {
    it(`fail/${JSON.stringify(value)}`, () => {
      assert.throws(
        () => parseRevocationReason(value),
        (err: unknown) => {
          assert.ok(err instanceof PkiError);
          assert.equal(err.code, 'invalid_reason');
          assert.equal(err.status, 400);
          assert.equal(err.expose, true);
          for (const name of Object.keys(REVOCATION_REASONS)) assert.ok(err.message.includes(name));
          return true;
        },
      );
    });
  }
});
