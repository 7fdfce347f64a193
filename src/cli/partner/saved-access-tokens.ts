import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

/** Keep a cached token only while more than this much of its life is left. */
export const MIN_REMAINING_SECONDS = 30;

export interface CachedToken {
  access_token: string;
  token_type: string;
  scope: string | null;
  issuer: string;
  /** Seconds since the epoch. */
  expires_at: number;
}

type CacheFile = { version: 1; tokens: Record<string, CachedToken> };

/**
 * Access tokens next to the key they are bound to (`<key>.tokens.json`, mode 0600), keyed by certificate
 * thumbprint and requested scope: a token is only as secret as the key, and useless without it
 * (RFC 8705 §3), but it is still never printed from here.
 */
export class SavedAccessTokens {
  readonly file: string;
  readonly #now: () => number;

  constructor(keyFile: string, now: () => number = () => Date.now() / 1000) {
    this.file = `${keyFile}.tokens.json`;
    this.#now = now;
  }

  static keyOf(thumbprint: string, scope: string | undefined): string {
    return `${thumbprint} ${scope ?? ''}`;
  }

  #read(): CacheFile {
    if (!existsSync(this.file)) return { version: 1, tokens: {} };
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as CacheFile;
      if (parsed?.version === 1 && typeof parsed.tokens === 'object' && parsed.tokens !== null) return parsed;
    } catch {
      // A damaged cache is only a missed reuse: start afresh.
    }
    return { version: 1, tokens: {} };
  }

  #write(cache: CacheFile): void {
    const now = this.#now();
    for (const [key, token] of Object.entries(cache.tokens)) {
      if (token.expires_at <= now) delete cache.tokens[key];
    }
    // Written aside and renamed so a concurrent reader never sees half a file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }

  /** A token for this certificate, scope and issuer with more than MIN_REMAINING_SECONDS left. */
  get(thumbprint: string, scope: string | undefined, issuer: string): CachedToken | undefined {
    const token = this.#read().tokens[SavedAccessTokens.keyOf(thumbprint, scope)];
    if (!token || token.issuer !== issuer) return undefined;
    return token.expires_at - this.#now() > MIN_REMAINING_SECONDS ? token : undefined;
  }

  put(thumbprint: string, scope: string | undefined, token: CachedToken): void {
    const cache = this.#read();
    cache.tokens[SavedAccessTokens.keyOf(thumbprint, scope)] = token;
    this.#write(cache);
  }

  delete(thumbprint: string, scope: string | undefined): void {
    const cache = this.#read();
    if (!(SavedAccessTokens.keyOf(thumbprint, scope) in cache.tokens)) return;
    delete cache.tokens[SavedAccessTokens.keyOf(thumbprint, scope)];
    this.#write(cache);
  }
}
