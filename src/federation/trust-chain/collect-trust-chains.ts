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
 * The authority hints of `top` (reached through `entities` with `statements` Subordinate Statements) that the
 * collection will follow: not already on the path (a loop), and within `maxChainLength`.
 */
function usableHints(
  top: EntityStatementClaims,
  entities: string[],
  statements: number,
  maxChainLength: number,
): string[] {
  // The shortest chain through a hint: subject's EC, the statements so far plus one, the hint's EC.
  if (statements + 3 > maxChainLength) return [];
  return (top.authority_hints ?? []).filter((hint) => !entities.includes(hint));
}

/**
 * Asks for the Entity Configurations of `hints` without waiting: they depend on nothing but the hint, so they are
 * fetched while the statements below them still are. The source memoises each request; the collection awaits
 * them in its own order later, so findings keep their order.
 */
function prefetch(source: StatementSource, hints: string[]): void {
  for (const hint of hints) source.entityConfiguration(hint).catch(() => {});
}

/**
 * Federation Entity Discovery (§10.1): follows `authority_hints` upward breadth first, so shorter chains come
 * first (§10.3), fetching each Superior's Entity Configuration and its Subordinate Statement about the entity
 * below, and yields every path that reaches one of `anchors`. A hint already on the path is a loop and is not
 * used; hints beyond `maxChainLength` and dead ends are recorded in `findings`. Requests that do not depend on
 * one another go out together: the Entity Configurations of all of an entity's Superiors, and a Superior's
 * Subordinate Statement with the Entity Configurations of that Superior's own Superiors.
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
  prefetch(source, usableHints(leaf.claims, [subject], 0, maxChainLength));
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
      const pendingStatement = source.subordinateStatement(superior.claims, path.top.sub);
      const anchor = anchorOf(hint);
      // A Trust Anchor ends the path; any other Superior's own Superiors come next, so ask for them already.
      const nextEntities = [...path.entities, hint];
      if (anchor === undefined) {
        prefetch(
          source,
          usableHints(superior.claims, nextEntities, path.statements.length + 1, maxChainLength),
        );
      }
      const statement = await pendingStatement;
      if (!statement.ok) {
        findings.push(statement.finding);
        continue;
      }
      const next: Path = {
        entities: nextEntities,
        top: superior.claims,
        statements: [...path.statements, statement.jwt],
      };
      if (anchor !== undefined) yield { anchor, trustChain: [leaf.jwt, ...next.statements, superior.jwt] };
      else queue.push(next);
    }
  }
}
