import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PkiError } from '../../src/pki/index.ts';

describe('PkiError', () => {
  it('ok/defaults to an internal, unexposed error', () => {
    const err = new PkiError('boom', 'internal detail');
    assert.ok(err instanceof Error);
    assert.equal(err.name, 'PkiError');
    assert.equal(err.code, 'boom');
    assert.equal(err.status, 500);
    assert.equal(err.expose, false);
    assert.equal(err.findings, undefined);
  });

  it('ok/bad input is exposed and carries findings', () => {
    const findings = [{ code: 'weak_key' as const, field: 'publicKey', message: 'too short' }];
    const err = new PkiError('invalid_csr', 'CSR rejected', { status: 400, findings });
    assert.equal(err.status, 400);
    assert.equal(err.expose, true);
    assert.deepEqual(err.findings, findings);
  });

  it('ok/expose can be overridden and the cause kept', () => {
    const cause = new Error('inner');
    const err = new PkiError('x', 'y', { status: 400, expose: false, cause });
    assert.equal(err.expose, false);
    assert.equal(err.cause, cause);
  });
});
