import type { EntityStatementClaims } from '../entity-statement.ts';
import type { ChainFinding } from '../types.ts';
import { finding } from './finding.ts';
import { checkNamingConstraints } from './naming-constraints.ts';

/**
 * §6.2: the constraints of each Subordinate Statement ES[k] (k = 1..last) apply independently to its subject
 * and everything below it in the chain, i.e. the subjects of ES[0..k]. Any failed check invalidates the chain.
 * `allowed_entity_types` is not a pass/fail check: it filters the subject's metadata (see resolve-metadata).
 */
export function checkConstraints(
  statements: EntityStatementClaims[],
  lastSubordinate: number,
): ChainFinding[] {
  const findings: ChainFinding[] = [];
  for (let k = 1; k <= lastSubordinate; k++) {
    const statement = statements[k]!;
    const constraints = statement.constraints;
    if (constraints === undefined) continue;
    const maxPath = constraints.max_path_length;
    // §6.2.1: ES[k] is issued k-1 Intermediates above the chain subject.
    if (maxPath !== undefined && k - 1 > maxPath) {
      findings.push(
        finding(
          '§6.2.1',
          'max_path_length_exceeded',
          `ES[${k}] allows ${maxPath} Intermediate(s) below its issuer; the chain has ${k - 1}`,
          statement.iss,
        ),
      );
    }
    const naming = constraints.naming_constraints;
    if (naming !== undefined) {
      const subjects = new Set(statements.slice(0, k + 1).map((s) => s.sub));
      for (const subject of subjects) {
        const verdict = checkNamingConstraints(subject, naming);
        if (verdict === 'excluded') {
          findings.push(
            finding(
              '§6.2.2',
              'naming_constraint_excluded',
              `ES[${k}] excludes the name of ${subject}`,
              statement.iss,
            ),
          );
        } else if (verdict === 'not_permitted') {
          findings.push(
            finding(
              '§6.2.2',
              'naming_constraint_not_permitted',
              `ES[${k}] does not permit the name of ${subject}`,
              statement.iss,
            ),
          );
        }
      }
    }
  }
  return findings;
}
