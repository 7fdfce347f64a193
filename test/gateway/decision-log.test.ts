import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import pino, { type LoggerOptions } from 'pino';
import { createDecisionLog, type DecisionRecord } from '../../src/gateway/decision-log.ts';
import { createLogger } from '../../src/platform/logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { stream, lines };
}

const record: DecisionRecord = {
  decision: 'deny',
  reason: 'token_expired',
  status: 401,
  method: 'GET',
  route: '/v1/accounts/{id}',
  path: '/v1/accounts/acc_1',
  client_id: 'cl_abc',
  org_id: '0b6f3c8e-2d7a-4f4b-9e1c-5a6d7e8f9a0b',
  jti: 'j"with\\quotes\u0001',
  cert_subject: 'CN=cl_abc, 2.5.4.97=0b6f3c8e, O=Bank "Ünïcødé"',
  cert_x5t_s256: undefined,
  request_id: 'a2b3c4d5-e6f7-4890-abcd-ef0123456789',
  latency_ms: 0.412,
};

const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');

describe('decision log lines', () => {
  for (const [name, options] of [
    ['the platform logger (base bindings, redaction)', undefined],
    ['a plain pino logger', {}],
    ['a child logger with bindings', { child: { component: 'gateway' } }],
  ] as const) {
    test(`ok/byte for byte what pino writes: ${name}`, () => {
      const fast = capture();
      const reference = capture();
      const make = (stream: Writable) => {
        const base = options === undefined ? createLogger('info', stream) : pino({ level: 'info' }, stream);
        return options && 'child' in options ? base.child(options.child) : base;
      };
      createDecisionLog(make(fast.stream)).record(record);
      make(reference.stream).info(record, 'gateway decision');
      assert.equal(fast.lines.length, 1);
      assert.equal(withoutTime(fast.lines[0]!), withoutTime(reference.lines[0]!));
      const parsed = JSON.parse(fast.lines[0]!) as Record<string, unknown>;
      assert.equal(parsed.jti, record.jti);
      assert.equal('cert_x5t_s256' in parsed, false, 'undefined fields are left out, as pino does');
    });
  }

  test('ok/5xx decisions are warnings; below the logger level nothing is written', () => {
    const out = capture();
    const log = createDecisionLog(pino({ level: 'warn' }, out.stream));
    log.record(record);
    log.record({ ...record, status: 502, reason: 'upstream_unavailable' });
    assert.equal(out.lines.length, 1);
    assert.equal((JSON.parse(out.lines[0]!) as { level: number }).level, 40);
    assert.deepEqual(log.stats(), { allowed: {}, denied: { token_expired: 1, upstream_unavailable: 1 } });
  });

  const shaped: Array<[string, LoggerOptions]> = [
    ['a log formatter', { formatters: { log: (o: Record<string, unknown>) => ({ ...o, shaped: true }) } }],
    ['a mixin', { mixin: () => ({ shaped: true }) }],
    ['a serializer of a decision field', { serializers: { org_id: () => 'shaped' } }],
    ['a redaction of a decision field', { redact: ['org_id'] }],
  ];
  for (const [name, options] of shaped) {
    test(`ok/a logger with ${name} writes the line itself`, () => {
      const fast = capture();
      const reference = capture();
      createDecisionLog(pino({ level: 'info', ...options }, fast.stream)).record(record);
      pino({ level: 'info', ...options }, reference.stream).info(record, 'gateway decision');
      assert.equal(withoutTime(fast.lines[0]!), withoutTime(reference.lines[0]!));
    });
  }
});
