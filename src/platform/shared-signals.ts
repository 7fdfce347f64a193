// @peculiar/x509 resolves its providers through tsyringe, which needs the Reflect polyfill loaded first.
import 'reflect-metadata';
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { X509Certificate } from '@peculiar/x509';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  EVENTS_JWKS_PATH,
  type PlatformEvents,
  type SecretSealer,
  type SharedSignals,
  SSF_PATHS,
  startSharedSignals,
  type TransmitterSettings,
} from '../audit/index.ts';
import { formatRfc4514 } from '../pki/index.ts';
import type { Clock } from '../shared/clock.ts';
import { createGuardedSender } from '../shared/guarded-fetch/index.ts';
import type { Storage } from '../storage/index.ts';
import { registerOperatorAuth } from './admin-api/auth.ts';
import type { AdminDeps } from './admin-api/deps.ts';
import { registerSsfReceiverRoutes } from './admin-api/ssf-receivers-routes.ts';
import type { PlatformConfig } from './config.ts';
import type { EventSigningKeys } from './event-signing-keys.ts';
import { registerSsfRoutes } from './ssf-routes.ts';

/**
 * Seals a receiver's push credential with AES-256-GCM under a key derived (HKDF-SHA256) from the platform's
 * KEK: a database copy alone does not reveal what the platform presents to receivers.
 */
export function createSecretSealer(kek: string): SecretSealer {
  const key = Buffer.from(hkdfSync('sha256', kek, 'accredit', 'ssf push authorization header', 32));
  return {
    seal(plain) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return `v1.${iv.toString('base64url')}.${data.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
    },
    open(sealed) {
      const [version, iv, data, tag] = sealed.split('.');
      if (version !== 'v1' || !iv || data === undefined || !tag) throw new Error('not a sealed secret');
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}

export interface SharedSignalsWiring {
  config: PlatformConfig;
  storage: Storage;
  clock: Clock;
  logger: Logger;
  events: PlatformEvents;
  eventKeys: EventSigningKeys;
  kek: string;
  /** The issuing CA's certificate: the `x509_issuer` of partner certificates in credential-change events. */
  issuingCaPem: string;
  caChainPem: string;
  adminDeps: AdminDeps;
}

/**
 * The SSF transmitter in the platform: its endpoints on the public listener, the receivers' admin API, and the
 * worker that queues and pushes SETs. Push goes through the guarded sender with the partner fetcher's address
 * policy; loopback and private receivers only with `ssf.allowPrivateAddresses`.
 */
export async function registerSharedSignals(
  app: FastifyInstance,
  w: SharedSignalsWiring,
): Promise<{ transmitter: SharedSignals; close(): Promise<void> }> {
  const issuer = w.config.publicUrl.replace(/\/+$/, '');
  const sealer = createSecretSealer(w.kek);
  const fetchCa = w.config.federation.fetch.caFile;
  const poster = createGuardedSender({
    allowLoopback: w.config.ssf.allowPrivateAddresses,
    allowPrivateNetworks: w.config.ssf.allowPrivateAddresses,
    timeoutMs: 5000,
    ca: [...rootCertificates, w.caChainPem, ...(fetchCa ? [readFileSync(fetchCa, 'utf8')] : [])],
  });
  const signer = () => w.eventKeys.signer();
  const transmitter = startSharedSignals({
    storage: w.storage,
    clock: w.clock,
    logger: w.logger,
    events: w.events,
    signer,
    // RFC 4514, as the certificate records and the admin API give the issuer.
    context: {
      issuer,
      x509Issuer: formatRfc4514(new X509Certificate(w.issuingCaPem).subjectName.toArrayBuffer()),
    },
    poster,
    sealer,
  });
  const settings: TransmitterSettings = {
    issuer,
    pollUrlOf: (streamId) => `${issuer}${SSF_PATHS.poll}/${encodeURIComponent(streamId)}`,
    minVerificationIntervalSeconds: 10,
    maxStreamsPerReceiver: w.config.ssf.maxStreamsPerReceiver,
    maxSubjectsPerStream: 1000,
  };
  registerSsfRoutes(app, {
    storage: w.storage,
    clock: w.clock,
    transmitter,
    settings,
    sealer,
    signer,
    urlGuard: poster,
    jwksUri: `${issuer}${EVENTS_JWKS_PATH}`,
    pollMaxWaitMs: w.config.ssf.pollMaxWaitSeconds * 1000,
    pollMaxEvents: 100,
    redeliverAfterMs: 30_000,
  });
  await app.register(
    async (admin) => {
      registerOperatorAuth(admin, w.adminDeps);
      registerSsfReceiverRoutes(admin, w.adminDeps);
    },
    { prefix: '/admin/v1' },
  );
  return {
    transmitter,
    async close() {
      await transmitter.close();
      await poster.close();
    },
  };
}
