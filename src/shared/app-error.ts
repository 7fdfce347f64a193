/**
 * A request error with a stable code: `status` is the HTTP status, `expose` says whether `message` may be
 * shown to the caller (only below 500), `details` carries structured findings. One place maps it to the wire.
 */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly expose: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, status: number, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.status = status;
    this.expose = status < 500;
    this.details = details;
  }
}

export const notFound = (what: string, id: string) =>
  new AppError('not_found', 404, `${what} ${id} does not exist`);
export const conflict = (message: string) => new AppError('conflict', 409, message);
export const invalidInput = (message: string, details?: Record<string, unknown>) =>
  new AppError('invalid_input', 400, message, details);

/** Duck-typed so that role-specific errors (PkiError, …) map the same way without importing each other. */
export interface CodedError {
  code: string;
  status: number;
  expose: boolean;
  message: string;
  details?: Record<string, unknown> | undefined;
  findings?: unknown;
}

export function isCodedError(err: unknown): err is CodedError {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as Partial<CodedError>;
  return typeof e.code === 'string' && typeof e.status === 'number' && typeof e.expose === 'boolean';
}
