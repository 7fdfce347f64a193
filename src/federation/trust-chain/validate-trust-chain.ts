import { decodeJwt, decodeProtectedHeader } from 'jose';
import { JWT_TYPES } from '../constants.ts';
import {
  decodeFederationJwt,
  type EntityStatementClaims,
  StatementError,
  validateEntityStatementClaims,
} from '../entity-statement.ts';
import type { ChainFinding, TrustAnchorConfig } from '../types.ts';
import { checkConstraints } from './check-constraints.ts';
import { finding, statementFinding } from './finding.ts';
import { resolveMetadata } from './resolve-metadata.ts';
import type { VerificationMemo } from './signature-cache.ts';
import { verifySignature } from './verify-signature.ts';

/** Extension metadata policy operators this implementation understands (§6.1.3.2): none beyond the standard. */
const UNDERSTOOD_POLICY_OPERATORS = new Set<string>();

export interface ChainValidationOptions {
  /** Trust Anchors the chain may end at. */
  anchors: readonly TrustAnchorConfig[];
  nowSeconds: number;
  clockSkewSeconds: number;
  entityType?: string | undefined;
  /**
   * Signatures already verified, by (JWT, key thumbprint): a statement checked against the same key twice (ES[0]
   * against its own jwks and against its superior's statement of them, or a statement verified when it was
   * fetched) costs one public-key operation. Every check below is still made, each with its own key set.
   */
  signatureMemo?: VerificationMemo | undefined;
  /** ES[0] is an explicit registration request: a syntactically valid `trust_chain` header is allowed on it. */
  subjectIsRegistrationRequest?: boolean | undefined;
}

export interface ValidatedChain {
  trustChain: string[];
  /** Claims of every statement, leaf Entity Configuration first. */
  statements: EntityStatementClaims[];
  anchor: TrustAnchorConfig;
  /** The Trust Anchor's Entity Configuration, when the chain carries it (§4 allows leaving it out). */
  anchorConfiguration: EntityStatementClaims | undefined;
  expiresAt: number;
  metadata: Record<string, Record<string, unknown>>;
}

export type ChainValidation = { ok: true; chain: ValidatedChain } | { ok: false; findings: ChainFinding[] };

interface Decoded {
  jwt: string;
  kid: string;
  claims: EntityStatementClaims;
}

function checkTimes(
  claims: EntityStatementClaims,
  what: string,
  options: ChainValidationOptions,
): ChainFinding[] {
  const { nowSeconds: now, clockSkewSeconds: skew } = options;
  // §10.2: for every ES[j], iat in the past and exp in the future (§3.2 steps 7-8), with a small leeway.
  if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') {
    return [finding('§3.1.1', 'missing_claim', `${what}: iat and exp are required`, claims.iss)];
  }
  const out: ChainFinding[] = [];
  if (claims.iat > now + skew)
    out.push(finding('§3.2 step 7', 'issued_in_future', `${what}: iat is in the future`, claims.iss));
  if (claims.exp <= now - skew)
    out.push(finding('§3.2 step 8', 'expired', `${what}: has expired`, claims.iss));
  return out;
}

/** §3.2 step 24: a trust_chain header is an array of Entity Statements, the first this entity's configuration. */
function validTrustChainHeader(value: unknown, sub: unknown): boolean {
  if (!Array.isArray(value) || value.length === 0 || !value.every((s) => typeof s === 'string')) return false;
  try {
    const first = decodeJwt(value[0] as string);
    return first.iss === sub && first.sub === sub;
  } catch {
    return false;
  }
}

function decodeStatement(
  jwt: unknown,
  j: number,
  registrationRequest = false,
): { decoded?: Decoded; findings: ChainFinding[] } {
  const what = `ES[${j}]`;
  if (typeof jwt !== 'string') return { findings: [finding('§4', 'malformed', `${what}: not a JWT string`)] };
  try {
    const { header, payload } = decodeFederationJwt<Record<string, unknown>>(jwt, JWT_TYPES.entityStatement);
    const iss = typeof payload.iss === 'string' ? payload.iss : undefined;
    // §4.3: Entity Statements MUST NOT carry the trust_chain header; peer_trust_chain is not theirs either.
    const raw = decodeProtectedHeader(jwt);
    const allowed =
      registrationRequest &&
      !('peer_trust_chain' in raw) &&
      validTrustChainHeader(raw.trust_chain, payload.sub);
    if (!allowed && ('trust_chain' in raw || 'peer_trust_chain' in raw)) {
      return {
        findings: [finding('§4.3', 'forbidden_header', `${what}: carries a trust_chain header`, iss)],
      };
    }
    try {
      return {
        decoded: { jwt, kid: header.kid, claims: validateEntityStatementClaims(payload) },
        findings: [],
      };
    } catch (err) {
      return { findings: [statementFinding(err, what, iss)] };
    }
  } catch (err) {
    return { findings: [statementFinding(err, what)] };
  }
}

async function signatureFinding(
  statement: Decoded,
  jwks: EntityStatementClaims['jwks'],
  what: string,
  step: string,
  memo: VerificationMemo | undefined,
): Promise<ChainFinding | undefined> {
  try {
    await verifySignature(statement.jwt, jwks, statement.kid, memo);
    return undefined;
  } catch (err) {
    const f = statementFinding(err, what, statement.claims.iss);
    return err instanceof StatementError ? { ...f, step: `${step}; ${f.step}` } : f;
  }
}

/**
 * Validates a Trust Chain exactly as §10.2 lists it, collecting every finding rather than stopping at the first:
 * each statement's claims and times, ES[0] self-signed, ES[j].iss == ES[j+1].sub and ES[j] signed by a key in
 * ES[j+1].jwks, the last statement issued by a configured Trust Anchor and verified with the keys configured for
 * it (never the fetched ones), then the constraints (§6.2) and the Resolved Metadata (§6.1.4).
 */
export async function validateTrustChain(
  jwts: unknown,
  options: ChainValidationOptions,
): Promise<ChainValidation> {
  if (!Array.isArray(jwts) || jwts.length === 0) {
    return {
      ok: false,
      findings: [
        finding('§4', 'invalid_trust_chain', 'a Trust Chain is a non-empty array of Entity Statements'),
      ],
    };
  }
  const findings: ChainFinding[] = [];
  const decoded: Array<Decoded | undefined> = jwts.map((jwt, j) => {
    const result = decodeStatement(jwt, j, j === 0 && options.subjectIsRegistrationRequest === true);
    findings.push(...result.findings);
    return result.decoded;
  });
  const complete = decoded.every((d) => d !== undefined) ? (decoded as Decoded[]) : undefined;
  if (complete === undefined) return { ok: false, findings };

  const statements = complete.map((d) => d.claims);
  const i = complete.length - 1;
  const last = statements[i]!;
  const leaf = statements[0]!;
  const anchorCarried = last.iss === last.sub;
  // The subject's own Entity Configuration may be the Trust Anchor's (a chain of one).
  const lastSubordinate = anchorCarried ? i - 1 : i;

  for (const [j, claims] of statements.entries()) findings.push(...checkTimes(claims, `ES[${j}]`, options));

  // §10.2: ES[0] is the subject's Entity Configuration (iss == sub), signed by a key in its own jwks.
  if (leaf.iss !== leaf.sub) {
    findings.push(
      finding(
        '§10.2',
        'not_entity_configuration',
        'ES[0] must be the subject’s Entity Configuration',
        leaf.iss,
      ),
    );
  } else {
    const f = await signatureFinding(
      complete[0]!,
      leaf.jwks,
      'ES[0] with its own jwks',
      '§10.2',
      options.signatureMemo,
    );
    if (f) findings.push(f);
  }
  if (i === 0 && !anchorCarried) {
    findings.push(finding('§4', 'invalid_trust_chain', 'a Trust Chain ends at a Trust Anchor', leaf.iss));
  }

  for (let j = 0; j < i; j++) {
    const upper = statements[j + 1]!;
    // Between the subject's Entity Configuration and the Trust Anchor's, only Subordinate Statements (§4).
    if (j + 1 <= lastSubordinate && upper.iss === upper.sub) {
      findings.push(
        finding('§4', 'not_subordinate_statement', `ES[${j + 1}] must be a Subordinate Statement`, upper.iss),
      );
    }
    // §10.2: ES[j]["iss"] == ES[j+1]["sub"].
    if (statements[j]!.iss !== upper.sub) {
      findings.push(
        finding('§10.2', 'iss_sub_mismatch', `ES[${j}].iss differs from ES[${j + 1}].sub`, upper.iss),
      );
      continue;
    }
    // §10.2: ES[j] is signed by a key in ES[j+1]["jwks"].
    const f = await signatureFinding(
      complete[j]!,
      upper.jwks,
      `ES[${j}] with ES[${j + 1}].jwks`,
      '§10.2',
      options.signatureMemo,
    );
    if (f) findings.push(f);
  }

  // §3.2 step 6: the Immediate Superior is one of the subject's authority_hints.
  if (lastSubordinate >= 1 && !(leaf.authority_hints ?? []).includes(statements[1]!.iss)) {
    findings.push(
      finding(
        '§3.2 step 6',
        'authority_hint_mismatch',
        'ES[1].iss is not in ES[0].authority_hints',
        statements[1]!.iss,
      ),
    );
  }

  // §10.2: the last statement is issued by the Trust Anchor and verifies with the Trust Anchor's configured keys.
  const anchor = options.anchors.find((a) => a.entityId === last.iss);
  if (anchor === undefined) {
    findings.push(
      finding(
        '§10.2',
        'trust_anchor_mismatch',
        `ES[${i}] is not issued by a configured Trust Anchor`,
        last.iss,
      ),
    );
  } else {
    const f = await signatureFinding(
      complete[i]!,
      anchor.jwks,
      `ES[${i}] with the configured Trust Anchor keys`,
      '§10.2',
      options.signatureMemo,
    );
    if (f) findings.push(f);
    // §4: the Trust Anchor's own keys verify ES[i-1] as well. A chain that carries an older Trust Anchor
    // configuration (still unexpired, listing a key since revoked) must not vouch for a statement signed
    // with that key: the statement about the top-most subordinate is checked against the configured keys too.
    if (
      anchor.keysAreCurrent === true &&
      anchorCarried &&
      lastSubordinate >= 1 &&
      statements[lastSubordinate]!.iss === anchor.entityId
    ) {
      const g = await signatureFinding(
        complete[lastSubordinate]!,
        anchor.jwks,
        `ES[${lastSubordinate}] with the configured Trust Anchor keys`,
        '§4',
        options.signatureMemo,
      );
      if (g) findings.push(g);
    }
  }

  // §3.2 step 18, §6.1.3.2: a critical policy operator that is not understood invalidates the chain.
  for (let k = 1; k <= lastSubordinate; k++) {
    for (const operator of statements[k]!.metadata_policy_crit ?? []) {
      if (!UNDERSTOOD_POLICY_OPERATORS.has(operator)) {
        findings.push(
          finding(
            '§3.2 step 18',
            'unsupported_policy_operator',
            `ES[${k}] marks the unknown operator ${operator} critical`,
            statements[k]!.iss,
          ),
        );
      }
    }
  }

  // §10.2 last paragraph: constraints are enforced for each Subordinate Statement (§6.2).
  findings.push(...checkConstraints(statements, lastSubordinate));
  if (findings.length > 0 || anchor === undefined) return { ok: false, findings };

  const resolution = resolveMetadata(statements, lastSubordinate, {
    entityType: options.entityType,
    crit: [...UNDERSTOOD_POLICY_OPERATORS],
  });
  if (!resolution.ok) return { ok: false, findings: resolution.findings };

  return {
    ok: true,
    chain: {
      trustChain: complete.map((d) => d.jwt),
      statements,
      anchor,
      anchorConfiguration: anchorCarried ? last : undefined,
      // §10.4: the chain expires with its earliest statement.
      expiresAt: Math.min(...statements.map((s) => s.exp)),
      metadata: resolution.metadata,
    },
  };
}
