import type { CsrFinding } from './csr-finding.ts';

export type PkiErrorOptions = {
  /** HTTP status to map to: 400 for bad input, 500 for internal failures. Default 500. */
  status?: number;
  /** Whether the message may be shown to the caller. Default: status below 500. */
  expose?: boolean;
  findings?: CsrFinding[];
  cause?: unknown;
};

export class PkiError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly findings?: CsrFinding[];

  constructor(code: string, message: string, options: PkiErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PkiError';
    this.code = code;
    this.status = options.status ?? 500;
    this.expose = options.expose ?? this.status < 500;
    if (options.findings) this.findings = options.findings;
  }
}
