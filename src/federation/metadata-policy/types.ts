/** Policy for one metadata parameter: `{ [operator]: operand }`, one or more operators (§6.1.2). */
export type ParameterPolicy = Record<string, unknown>;

/** Policy for one Entity Type: `{ [parameter]: ParameterPolicy }` (§6.1.2). */
export type MetadataPolicy = Record<string, ParameterPolicy>;

export type MetadataPolicyOptions = {
  /**
   * The `metadata_policy_crit` values collected from the Trust Chain's Subordinate Statements (§3.1.3, §6.1.4.1):
   * additional operators that MUST be understood. This implementation understands none, so any listed operator
   * is a policy error (§6.1.3.2). Default: none, so operators that are not understood are ignored.
   */
  crit?: readonly string[] | undefined;
};
