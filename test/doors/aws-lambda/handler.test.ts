import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handler } from '../../../src/doors/aws-lambda/index.ts';
import { restApiEvent } from './events.ts';

test('fail/a cold start without configuration fails the invocation (API Gateway: 500), and the next one tries again', async () => {
  for (const name of Object.keys(process.env)) if (name.startsWith('ACCREDIT_')) delete process.env[name];
  const event = restApiEvent({ method: 'GET', path: '/v1/accounts' });
  await assert.rejects(handler(event), /ACCREDIT_PLATFORM_URL: is required/);
  process.env.ACCREDIT_PLATFORM_URL = 'https://platform.example';
  await assert.rejects(handler(event), /ACCREDIT_CA_BUNDLE: is required/, 'configuration read again');
});
