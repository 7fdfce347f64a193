export const METADATA_POLICY_ERROR_CODES = {
  invalidPolicy: 'invalid_policy',
  invalidMetadata: 'invalid_metadata',
} as const;

export type MetadataPolicyErrorCode =
  (typeof METADATA_POLICY_ERROR_CODES)[keyof typeof METADATA_POLICY_ERROR_CODES];

export type MetadataPolicyErrorDetails = {
  parameter?: string | undefined;
  operator?: string | undefined;
  /** OpenID Federation 1.0 section the failed rule comes from, e.g. `6.1.3.1.4`. */
  section: string;
};

/**
 * A metadata policy (`invalid_policy`) or metadata (`invalid_metadata`) failure. The message names the parameter,
 * operator and spec section but never echoes metadata or operator values.
 */
export class MetadataPolicyError extends Error {
  readonly code: MetadataPolicyErrorCode;
  readonly status = 400;
  readonly expose = true;
  readonly parameter: string | undefined;
  readonly operator: string | undefined;
  readonly section: string;

  constructor(code: MetadataPolicyErrorCode, reason: string, details: MetadataPolicyErrorDetails) {
    const where = [
      details.parameter === undefined ? undefined : `parameter "${details.parameter}"`,
      details.operator === undefined ? undefined : `operator "${details.operator}"`,
    ]
      .filter((part) => part !== undefined)
      .join(', ');
    super(`${where ? `${where}: ` : ''}${reason} (OpenID Federation 1.0 §${details.section})`);
    this.name = 'MetadataPolicyError';
    this.code = code;
    this.parameter = details.parameter;
    this.operator = details.operator;
    this.section = details.section;
  }
}

export const policyError = (reason: string, details: MetadataPolicyErrorDetails) =>
  new MetadataPolicyError(METADATA_POLICY_ERROR_CODES.invalidPolicy, reason, details);

export const metadataError = (reason: string, details: MetadataPolicyErrorDetails) =>
  new MetadataPolicyError(METADATA_POLICY_ERROR_CODES.invalidMetadata, reason, details);
