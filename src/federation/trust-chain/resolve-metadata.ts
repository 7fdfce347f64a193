import type { EntityStatementClaims } from '../entity-statement.ts';
import {
  applyMetadataPolicy,
  combineMetadataPolicies,
  type MetadataPolicy,
  MetadataPolicyError,
} from '../metadata-policy/index.ts';
import type { ChainFinding } from '../types.ts';
import { finding } from './finding.ts';

type Metadata = Record<string, Record<string, unknown>>;

export type MetadataResolution = { ok: true; metadata: Metadata } | { ok: false; findings: ChainFinding[] };

function policyFinding(err: unknown, entityType: string, phase: string): ChainFinding {
  if (err instanceof MetadataPolicyError) {
    return finding(`§${err.section}`, err.code, `${entityType}: ${err.message}`);
  }
  return finding(phase, 'invalid_policy', `${entityType}: metadata policy could not be processed`);
}

/**
 * Resolved Metadata of the chain subject (§6.1.4): the Immediate Superior's `metadata` first (§3.1.1), then
 * `allowed_entity_types` (§6.2.3), then the chain's metadata policy, combined from the Trust Anchor's
 * Subordinate Statement down (§6.1.4.1) and applied per Entity Type (§6.1.4.2). `lastSubordinate` is the index
 * of the most superior Subordinate Statement; `crit` the understood critical operators of the chain.
 */
export function resolveMetadata(
  statements: EntityStatementClaims[],
  lastSubordinate: number,
  options: { entityType?: string | undefined; crit: string[] },
): MetadataResolution {
  const subject = statements[0]!;
  const metadata: Metadata = structuredClone(subject.metadata ?? {});
  const superior = lastSubordinate >= 1 ? statements[1] : undefined;
  // §3.1.1: Superior metadata applies only to Entity Types present in the subject's Entity Configuration and
  // overrides identically named parameters; it is applied before any policy (§6.1.4.2).
  for (const [entityType, parameters] of Object.entries(superior?.metadata ?? {})) {
    const own = metadata[entityType];
    if (own !== undefined) metadata[entityType] = { ...own, ...structuredClone(parameters) };
  }
  const findings: ChainFinding[] = [];
  // §6.2.3: Entity Types not allowed by any Superior are removed; federation_entity never is.
  for (let k = 1; k <= lastSubordinate; k++) {
    const allowed = statements[k]!.constraints?.allowed_entity_types;
    if (allowed === undefined) continue;
    for (const entityType of Object.keys(metadata)) {
      if (entityType === 'federation_entity' || allowed.includes(entityType)) continue;
      delete metadata[entityType];
      if (entityType === options.entityType) {
        findings.push(
          finding(
            '§6.2.3',
            'entity_type_not_allowed',
            `ES[${k}] does not allow the Entity Type ${entityType}`,
            statements[k]!.iss,
          ),
        );
      }
    }
  }
  if (findings.length > 0) return { ok: false, findings };
  if (options.entityType !== undefined && metadata[options.entityType] === undefined) {
    return {
      ok: false,
      findings: [
        finding(
          '§5',
          'entity_type_not_found',
          `the subject has no ${options.entityType} metadata`,
          subject.sub,
        ),
      ],
    };
  }

  // §6.1.4.1: the critical operators of the whole chain apply to every policy in it.
  const policyOptions = { crit: options.crit.length > 0 ? options.crit : undefined };
  // §6.1.4.1: from the most superior Subordinate Statement down to the Immediate Superior's; the first policy
  // is combined with an empty one so that it is validated like every later one.
  const combined: Record<string, MetadataPolicy> = {};
  for (let k = lastSubordinate; k >= 1; k--) {
    const policy = statements[k]!.metadata_policy;
    if (policy === undefined) continue;
    for (const [entityType, typePolicy] of Object.entries(policy)) {
      try {
        combined[entityType] = combineMetadataPolicies(
          combined[entityType] ?? {},
          typePolicy as MetadataPolicy,
          policyOptions,
        );
      } catch (err) {
        findings.push({ ...policyFinding(err, entityType, '§6.1.4.1'), entityId: statements[k]!.iss });
      }
    }
  }
  if (findings.length > 0) return { ok: false, findings };

  const resolved: Metadata = {};
  for (const [entityType, parameters] of Object.entries(metadata)) {
    if (options.entityType !== undefined && entityType !== options.entityType) continue;
    const policy = combined[entityType];
    if (policy === undefined) {
      resolved[entityType] = parameters;
      continue;
    }
    try {
      resolved[entityType] = applyMetadataPolicy(policy, parameters, policyOptions);
    } catch (err) {
      findings.push({ ...policyFinding(err, entityType, '§6.1.4.2'), entityId: subject.sub });
    }
  }
  return findings.length > 0 ? { ok: false, findings } : { ok: true, metadata: resolved };
}
