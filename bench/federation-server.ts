// The server side of `bench federation`, run as a child process with IPC (forked by bench/federation.ts): a
// live Trust Anchor → Intermediate → leaf federation on 127.0.0.1, each entity its own HTTPS server (the
// test topology of test/federation/support), so that the resolver's process pays none of the servers' CPU.
import {
  createTestClock,
  startTopology,
  type TestEntity,
  threeLevels,
} from '../test/federation/support/topology.ts';
import type { ChildMessage, FederationLayout, ParentMessage } from './federation-protocol.ts';

const TRUST_MARK_TYPE = 'https://accredit.example/trust-marks/certified-partner';

function send(message: ChildMessage): void {
  process.send?.(message);
}

/**
 * The federation: the Trust Anchor's statement about the Intermediate and the Intermediate's statement about each
 * leaf carry a metadata_policy (combined, then applied to the leaf's openid_relying_party metadata); the
 * Intermediate issues the leaf a Trust Mark that the Trust Anchor accepts from it, with a status endpoint.
 */
async function build() {
  // Statements are signed on request at this clock's time, fixed at start: valid for an hour (Trust Marks a day).
  const topology = await startTopology({ clock: createTestClock(new Date()) });
  const { ta, intermediate, leaf, anchor } = await threeLevels(topology);
  const bareLeaf = await topology.addEntity('leaf-bare');
  bareLeaf.metadata.openid_relying_party = { ...leaf.metadata.openid_relying_party, client_name: 'Bare RP' };

  ta.addSubordinate(intermediate, {
    claims: {
      metadata_policy: {
        openid_relying_party: {
          contacts: { add: ['helpdesk@federation.example.org'] },
          token_endpoint_auth_method: {
            one_of: ['private_key_jwt', 'self_signed_tls_client_auth'],
            essential: true,
          },
          grant_types: { subset_of: ['authorization_code', 'refresh_token', 'client_credentials'] },
          subject_type: { value: 'pairwise' },
        },
      },
    },
  });
  const leafPolicy = {
    metadata: { openid_relying_party: { policy_uri: 'https://org.example.org/policy.html' } },
    metadata_policy: {
      openid_relying_party: {
        contacts: { add: ['helpdesk@org.example.org'] },
        grant_types: { default: ['authorization_code'], subset_of: ['authorization_code', 'refresh_token'] },
        id_token_signed_response_alg: { one_of: ['ES256', 'PS256'], default: 'ES256' },
      },
    },
  };
  intermediate.addSubordinate(leaf, { claims: leafPolicy });
  intermediate.addSubordinate(bareLeaf, { claims: leafPolicy });

  ta.configuration.trust_mark_issuers = { [TRUST_MARK_TYPE]: [intermediate.entityId] };
  leaf.addTrustMark(TRUST_MARK_TYPE, await intermediate.issueTrustMark(leaf, TRUST_MARK_TYPE));

  const layout: FederationLayout = {
    caPem: topology.caPem,
    trustAnchor: anchor,
    intermediate: intermediate.entityId,
    leaf: leaf.entityId,
    bareLeaf: bareLeaf.entityId,
    trustMarkType: TRUST_MARK_TYPE,
  };
  return { topology, layout, entities: [ta, intermediate, leaf, bareLeaf] };
}

const requestsServed = (entities: TestEntity[]) =>
  entities.reduce((n, e) => n + [...e.hits.values()].reduce((a, b) => a + b, 0), 0);

async function main(): Promise<void> {
  if (!process.send) {
    process.stderr.write(
      'bench/federation-server.ts is started by bench/federation.ts (it needs an IPC channel)\n',
    );
    process.exit(2);
  }
  let cpu0: NodeJS.CpuUsage | undefined;
  let requests0 = 0;
  let running: Awaited<ReturnType<typeof build>> | undefined;
  process.on('message', (message: ParentMessage) => {
    switch (message.type) {
      case 'measure-start':
        requests0 = running ? requestsServed(running.entities) : 0;
        cpu0 = process.cpuUsage();
        send({ type: 'measuring' });
        return;
      case 'measure-stop': {
        const cpu = process.cpuUsage(cpu0);
        const requests = (running ? requestsServed(running.entities) : 0) - requests0;
        send({ type: 'stats', userUs: cpu.user, systemUs: cpu.system, requests });
        return;
      }
      case 'exit':
        (running?.topology.close() ?? Promise.resolve()).catch(() => {}).finally(() => process.exit(0));
        return;
    }
  });
  // The parent going away (crash, Ctrl-C) must not leave servers behind.
  process.on('disconnect', () => process.exit(0));
  try {
    running = await build();
    send({ type: 'ready', ...running.layout });
  } catch (err) {
    send({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
}

await main();
