import type { EntityStatementClaims } from '../entity-statement.ts';
import type { ChainFinding, TrustAnchorConfig } from '../types.ts';
import { finding } from './finding.ts';
import type { StatementSource } from './statement-source.ts';

export interface CandidateChain {
  anchor: TrustAnchorConfig;
  /** Leaf Entity Configuration first, the Trust Anchor's Entity Configuration last (§4). */
  trustChain: string[];
}

interface Path {
  /** Entity Identifiers from the subject up to the current top. */
  entities: string[];
  top: EntityStatementClaims;
  /** Subordinate Statements collected so far, the subject's first. */
  statements: string[];
}

/**
 * Federation Entity Discovery (§10.1): follows `authority_hints` upward breadth first, so shorter chains come
 * first (§10.3), fetching each Superior's Entity Configuration and its Subordinate Statement about the entity
 * below, and yields every path that reaches one of `anchors`. A hint already on the path is a loop and is not
 * used; hints beyond `maxChainLength` and dead ends are recorded in `findings`.
 */
export async function* collectTrustChains(
  subject: string,
  anchors: readonly TrustAnchorConfig[],
  source: StatementSource,
  maxChainLength: number,
  findings: ChainFinding[],
): AsyncGenerator<CandidateChain> {
  const leaf = await source.entityConfiguration(subject);
  if (!leaf.ok) {
    findings.push(leaf.finding);
    return;
  }
  const anchorOf = (entityId: string) => anchors.find((a) => a.entityId === entityId);
  const self = anchorOf(subject);
  if (self !== undefined) yield { anchor: self, trustChain: [leaf.jwt] };

  const queue: Path[] = [{ entities: [subject], top: leaf.claims, statements: [] }];
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    const hints = path.top.authority_hints ?? [];
    if (hints.length === 0 && anchorOf(path.top.sub) === undefined) {
      findings.push(
        finding(
          '§10.1',
          'unknown_trust_anchor',
          `${path.top.sub} has no authority_hints and is not a configured Trust Anchor`,
          path.top.sub,
        ),
      );
      continue;
    }
    for (const hint of hints) {
      if (path.entities.includes(hint)) {
        findings.push(
          finding(
            '§10.1',
            'authority_loop',
            `authority hint ${hint} of ${path.top.sub} leads back into the path`,
            path.top.sub,
          ),
        );
        continue;
      }
      // The shortest chain through `hint`: subject's EC, the statements so far plus one, the hint's EC.
      if (path.statements.length + 3 > maxChainLength) {
        findings.push(
          finding(
            '§10.1',
            'max_chain_length',
            `a chain through ${hint} would exceed ${maxChainLength} statements`,
            path.top.sub,
          ),
        );
        continue;
      }
      const superior = await source.entityConfiguration(hint);
      if (!superior.ok) {
        findings.push(superior.finding);
        continue;
      }
      const statement = await source.subordinateStatement(superior.claims, path.top.sub);
      if (!statement.ok) {
        findings.push(statement.finding);
        continue;
      }
      const next: Path = {
        entities: [...path.entities, hint],
        top: superior.claims,
        statements: [...path.statements, statement.jwt],
      };
      const anchor = anchorOf(hint);
      if (anchor !== undefined) yield { anchor, trustChain: [leaf.jwt, ...next.statements, superior.jwt] };
      else queue.push(next);
    }
  }
}
