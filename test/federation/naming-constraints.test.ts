import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkNamingConstraints,
  matchesNameConstraint,
} from '../../src/federation/trust-chain/naming-constraints.ts';

describe('naming constraints (§6.2.2, RFC 5280 §4.2.1.10)', () => {
  const table: Array<[host: string, constraint: string, matches: boolean]> = [
    ['host.example.com', 'host.example.com', true],
    ['HOST.Example.com', 'host.example.COM', true],
    ['other.example.com', 'host.example.com', false],
    ['host.example.com', '.example.com', true],
    ['my.host.example.com', '.example.com', true],
    ['example.com', '.example.com', false],
    ['badexample.com', '.example.com', false],
    ['example.com', 'example.com', true],
    ['sub.example.com', 'example.com', false],
    ['127.0.0.1', '127.0.0.1', true],
  ];
  for (const [host, constraint, matches] of table) {
    it(`${matches ? 'ok' : 'fail'}/${host} ${matches ? 'matches' : 'does not match'} ${constraint}`, () => {
      assert.equal(matchesNameConstraint(host, constraint), matches);
    });
  }

  it('fail/excluded wins over permitted', () => {
    const constraints = { permitted: ['.example.com'], excluded: ['east.example.com'] };
    assert.equal(checkNamingConstraints('https://east.example.com/rp', constraints), 'excluded');
    assert.equal(checkNamingConstraints('https://west.example.com:8443/rp', constraints), 'ok');
    assert.equal(checkNamingConstraints('https://example.org', constraints), 'not_permitted');
  });

  it('ok/no permitted list permits everything not excluded', () => {
    assert.equal(checkNamingConstraints('https://any.example.net', { excluded: ['.example.com'] }), 'ok');
  });
});
