import type {} from '@fastify/swagger';
import type { CertificateAuthority } from '../../pki/index.ts';
import type { Clock } from '../../shared/clock.ts';
import type { UrlGuard } from '../../shared/guarded-fetch/index.ts';
import type { Storage } from '../../storage/index.ts';

export interface AdminDeps {
  storage: Storage;
  clock: Clock;
  ca: CertificateAuthority;
  /** Refuses client metadata URLs the platform would not fetch (the partner fetcher's address policy). */
  urlGuard: UrlGuard;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: string;
  }
}
