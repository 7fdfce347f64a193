import type {} from '@fastify/swagger';
import type { CertificateAuthority } from '../../pki/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Storage } from '../../storage/index.ts';

export interface AdminDeps {
  storage: Storage;
  clock: Clock;
  ca: CertificateAuthority;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: string;
  }
}
