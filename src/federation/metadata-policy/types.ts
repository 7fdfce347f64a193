/** Policy for one metadata parameter: `{ [operator]: operand }` (§6.1.2). */
export type ParameterPolicy = Record<string, unknown>;

/** Policy for one Entity Type: `{ [parameter]: ParameterPolicy }` (§6.1.2). */
export type MetadataPolicy = Record<string, ParameterPolicy>;

export type MetadataPolicyOptions = {
  /**
   * `metadata_policy_crit` of the Subordinate Statement: extension operators that MUST be understood (§6.1.3.2).
   * Default: none, so unknown operators are ignored.
   */
  crit?: readonly string[] | undefined;
};
