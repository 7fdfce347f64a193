/** An error the CLI prints as one line and exits with; never a stack trace. */
export class CliError extends Error {
  readonly exitCode: number;
  readonly code: string;
  constructor(message: string, code = 'error', exitCode = 1) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
  }
}
