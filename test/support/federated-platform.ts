import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createTestClock,
  startTopology,
  type TestEntity,
  type Topology,
} from '../federation/support/topology.ts';
import { PlatformProcess, run } from './platform-process.ts';

export interface FederatedPlatform {
  topology: Topology;
  /** The live Trust Anchor above the platform. */
  ta: TestEntity;
  platform: PlatformProcess;
  /** The platform's default Trust Mark type, which the Trust Anchor accredits it to issue. */
  trustMarkType: string;
}

/**
 * A real platform process as an Intermediate under a live test Trust Anchor on 127.0.0.1: the anchor states the
 * platform's federation keys and accredits it as the issuer of its Trust Mark type; the platform trusts the
 * anchor's keys (pinned in a file) and the test federation's CA.
 */
export async function startFederatedPlatform(): Promise<FederatedPlatform> {
  const topology = await startTopology({ clock: createTestClock(new Date()) });
  const ta = await topology.addEntity('ta');
  const platform = await PlatformProcess.create();
  writeFileSync(join(platform.dir, 'ta.jwks'), JSON.stringify(ta.jwks()));
  writeFileSync(join(platform.dir, 'federation-ca.pem'), topology.caPem);
  Object.assign(platform.env, {
    // Development settings: every entity of this test federation is on 127.0.0.1 behind a test CA.
    ACCREDIT_FEDERATION_ALLOW_LOOPBACK: 'true',
    ACCREDIT_FEDERATION_FETCH_CA_FILE: 'federation-ca.pem',
    ACCREDIT_FEDERATION_AUTHORITY_HINTS: ta.entityId,
    ACCREDIT_FEDERATION_TRUST_ANCHORS: JSON.stringify([{ entityId: ta.entityId, jwksFile: 'ta.jwks' }]),
  });
  await platform.start(['--init']);
  const trustMarkType = `${platform.url}/trust-marks/accredited-partner`;
  const ec = await run('curl', [
    '-sS',
    '--cacert',
    platform.caBundle,
    `${platform.url}/.well-known/openid-federation`,
  ]);
  if (ec.code !== 0) throw new Error(`the platform's Entity Configuration: ${ec.stderr}`);
  const platformKeys = (
    JSON.parse(Buffer.from(ec.stdout.trim().split('.')[1]!, 'base64url').toString()) as { jwks: { keys: [] } }
  ).jwks;
  const platformEntity = { entityId: platform.url, authorityHints: [] as string[], jwks: () => platformKeys };
  ta.addSubordinate(platformEntity as unknown as TestEntity, { jwks: () => platformKeys });
  ta.configuration.trust_mark_issuers = { [trustMarkType]: [platform.url] };
  return { topology, ta, platform, trustMarkType };
}
