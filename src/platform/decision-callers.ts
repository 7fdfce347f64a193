import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { ConfigError, type PlatformConfig } from './config.ts';

export interface DecisionCallerCredentials {
  callers: string[];
  callerCa: string | undefined;
  secret: string | undefined;
}

function readFile(file: string, key: string, ownerOnly: boolean): string {
  if (!existsSync(file) || !statSync(file).isFile()) throw new ConfigError(`${key}: ${file} is not a file`);
  const mode = statSync(file).mode & 0o777;
  // A secret readable by group or others is refused, as the upstream secret and the KEK file are.
  if (ownerOnly && (mode & 0o077) !== 0) {
    throw new ConfigError(
      `${key}: ${file} permissions ${mode.toString(8)} are too open; run chmod 600 ${file}`,
    );
  }
  return readFileSync(file, 'utf8');
}

/** Whether `accredit serve` starts the decision listener: only once someone may call it. */
export function decisionListenerWanted(config: PlatformConfig): boolean {
  return config.decision.callers.length > 0 || config.decision.secretFile !== undefined;
}

/** The edges allowed to ask the decision listener, read and checked at start-up (never at the first request). */
export function loadDecisionCallers(config: PlatformConfig): DecisionCallerCredentials {
  const d = config.decision;
  let secret: string | undefined;
  if (d.secretFile !== undefined) {
    secret = readFile(d.secretFile, 'decision.secretFile (ACCREDIT_DECISION_SECRET_FILE)', true).trim();
    if (!/^[\x21-\x7e]{32,}$/.test(secret)) {
      throw new ConfigError(
        `decision.secretFile (ACCREDIT_DECISION_SECRET_FILE): ${d.secretFile} must hold at least 32 visible ASCII characters (no spaces)`,
      );
    }
  }
  let callerCa: string | undefined;
  if (d.callerCaFile !== undefined) {
    callerCa = readFile(d.callerCaFile, 'decision.callerCaFile (ACCREDIT_DECISION_CALLER_CA_FILE)', false);
    try {
      new X509Certificate(callerCa);
    } catch {
      throw new ConfigError(`decision.callerCaFile: ${d.callerCaFile} is not a PEM certificate`);
    }
  }
  return { callers: d.callers, callerCa, secret };
}
