import { StatementError, type StatementErrorCode } from '../entity-statement.ts';
import { FETCH_ERROR_CODES, FetchError, type FetchErrorCode } from '../fetch/index.ts';
import type { ChainFinding } from '../types.ts';

/** Codes of the findings about a chain itself; statement and fetch failures keep their own codes. */
const CHAIN_CODES = [
  'invalid_entity_id',
  'invalid_trust_anchor',
  'invalid_trust_chain',
  'no_trust_chain',
  'not_found',
  'authority_loop',
  'max_chain_length',
  'fetch_budget_exhausted',
  'missing_fetch_endpoint',
  'unknown_trust_anchor',
  'subject_mismatch',
  'issuer_mismatch',
  'iss_sub_mismatch',
  'authority_hint_mismatch',
  'not_entity_configuration',
  'not_subordinate_statement',
  'trust_anchor_mismatch',
  'forbidden_header',
  'unsupported_policy_operator',
  'invalid_policy',
  'invalid_metadata',
  'max_path_length_exceeded',
  'naming_constraint_excluded',
  'naming_constraint_not_permitted',
  'entity_type_not_allowed',
  'entity_type_not_found',
] as const;

/** Codes of the findings that drop one Trust Mark (§7) without touching the chain. */
const TRUST_MARK_CODES = [
  'trust_mark_malformed',
  'trust_mark_unsupported_typ',
  'trust_mark_unsupported_alg',
  'trust_mark_missing_kid',
  'trust_mark_unknown_kid',
  'trust_mark_bad_signature',
  'trust_mark_missing_claim',
  'trust_mark_invalid_claim',
  'trust_mark_wrong_subject',
  'trust_mark_type_mismatch',
  'trust_mark_issued_in_future',
  'trust_mark_expired',
  'trust_mark_issuer_not_authorised',
  'trust_mark_issuer_untrusted',
  'trust_mark_delegation_required',
  'trust_mark_delegation_invalid',
  'trust_mark_revoked',
  'trust_mark_invalid',
  'trust_mark_status_unrecognised',
  'trust_mark_unknown',
  'trust_mark_status_unavailable',
  'trust_mark_status_invalid',
] as const;

export const CHAIN_FINDING_CODES = [
  ...CHAIN_CODES,
  ...TRUST_MARK_CODES,
  'malformed',
  'unsupported_typ',
  'unsupported_alg',
  'missing_kid',
  'unknown_kid',
  'bad_signature',
  'missing_claim',
  'invalid_claim',
  'expired',
  'issued_in_future',
  'unsupported_crit',
  ...FETCH_ERROR_CODES,
] as const;

export type ChainFindingCode = (typeof CHAIN_FINDING_CODES)[number];

export function finding(
  step: string,
  code: ChainFindingCode,
  message: string,
  entityId?: string,
): ChainFinding {
  return entityId === undefined ? { step, code, message } : { step, code, message, entityId };
}

/** The §3.2 (Entity Statement Validation) step each statement error comes from. */
const STATEMENT_STEP: Record<StatementErrorCode, string> = {
  malformed: '§3.2 step 1',
  unsupported_typ: '§3.2 step 2',
  unsupported_alg: '§3.2 step 3',
  missing_kid: '§3.2 step 11',
  unknown_kid: '§3.2 step 11',
  bad_signature: '§3.2 step 12',
  missing_claim: '§3.1',
  invalid_claim: '§3.2',
  issued_in_future: '§3.2 step 7',
  expired: '§3.2 step 8',
  unsupported_crit: '§3.2 step 13',
};

/** A finding for an Entity Statement that failed validation; `what` says which statement, e.g. "ES[1]". */
export function statementFinding(err: unknown, what: string, entityId?: string): ChainFinding {
  if (err instanceof StatementError) {
    return finding(STATEMENT_STEP[err.code], err.code, `${what}: ${err.message}`, entityId);
  }
  return finding('§3.2', 'malformed', `${what}: could not be processed`, entityId);
}

/** §7.3 steps for a Trust Mark JWT that failed a header, claim or signature check. */
const TRUST_MARK_STEP: Record<StatementErrorCode, string> = {
  malformed: '§7.3 step 1',
  unsupported_typ: '§7.3 step 2',
  unsupported_alg: '§7.3 step 3',
  missing_kid: '§7',
  unknown_kid: '§7.3 step 7',
  bad_signature: '§7.3 step 7',
  missing_claim: '§7.1',
  invalid_claim: '§7.1',
  issued_in_future: '§7.3 step 5',
  expired: '§7.3 step 6',
  unsupported_crit: '§7.1',
};

export function trustMarkFinding(err: unknown, what: string, entityId?: string): ChainFinding {
  if (err instanceof StatementError) {
    return finding(
      TRUST_MARK_STEP[err.code],
      `trust_mark_${err.code}` as ChainFindingCode,
      `${what}: ${err.message}`,
      entityId,
    );
  }
  return finding('§7.3 step 1', 'trust_mark_malformed', `${what}: could not be processed`, entityId);
}

const FEDERATION_ERROR_FROM_PEER = new Set([
  'not_found',
  'invalid_request',
  'invalid_subject',
  'invalid_issuer',
]);

/** A finding for a federation request that failed: network errors are findings, never thrown (§10.5). */
export function fetchFinding(err: unknown, step: string, what: string, entityId?: string): ChainFinding {
  if (err instanceof FetchError) {
    // The peer's §8.9 error code is reported only when it is one we know; anything else stays http_status.
    const code: FetchErrorCode | 'not_found' =
      err.code === 'http_status' && err.status === 404 ? 'not_found' : err.code;
    const peer =
      err.errorCode !== undefined && FEDERATION_ERROR_FROM_PEER.has(err.errorCode)
        ? ` (${err.errorCode})`
        : '';
    return finding(step, code, `${what}: ${err.message}${peer}`, entityId);
  }
  return finding(step, 'network_error', `${what}: request failed`, entityId);
}
