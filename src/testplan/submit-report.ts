import { describe, joinUrl, partnerAgent, send } from './http.ts';
import { discoverEndpoints } from './oauth.ts';
import type { CaseResult, TestPlanOptions } from './types.ts';

/** Where a platform takes test-plan reports, under its mTLS base (the go-live gate, issue 15). */
export const REPORT_PATH = '/partner/v1/testplan-runs';

export interface Submission {
  url: string;
  id: string;
  outcome: 'passed' | 'failed';
  reasons: string[];
}

/**
 * The mTLS base the report goes to: given, or the base of the mTLS token endpoint (given, or found by
 * discovery from the issuer, as the plan itself finds it).
 */
export async function reportUrl(o: TestPlanOptions, reportTo: string | true): Promise<string> {
  if (reportTo !== true) return joinUrl(reportTo, REPORT_PATH);
  let token = o.tokenEndpoint;
  if (token === undefined) {
    const agent = partnerAgent(o.ca, { certPem: o.certPem, keyPem: o.keyPem });
    try {
      token = (await discoverEndpoints(o.issuer!, agent)).token;
    } finally {
      await agent.close().catch(() => undefined);
    }
  }
  // The token endpoint's directory: https://mtls.example/token → https://mtls.example/
  return joinUrl(new URL('.', token).href, REPORT_PATH);
}

/**
 * Submits the run's report over mTLS with the client's own certificate and key: the platform records it for
 * the application the certificate belongs to and checks it against what its doors saw during the run.
 */
export async function submitReport(
  o: TestPlanOptions,
  reportTo: string | true,
  run: { cases: CaseResult[]; startedAt: Date; finishedAt: Date; version: string; target: string },
): Promise<Submission> {
  const url = await reportUrl(o, reportTo);
  const agent = partnerAgent(o.ca, { certPem: o.certPem, keyPem: o.keyPem });
  try {
    const answer = await send(
      agent,
      url,
      'POST',
      { 'content-type': 'application/json' },
      JSON.stringify({
        tool: { name: 'accredit-testplan', version: run.version },
        target: run.target,
        started_at: run.startedAt.toISOString(),
        finished_at: run.finishedAt.toISOString(),
        cases: run.cases,
      }),
    );
    const body = (answer.kind === 'http' ? answer.body : undefined) as
      | { id?: unknown; outcome?: unknown; reasons?: unknown; detail?: unknown }
      | undefined;
    if (answer.kind !== 'http' || answer.status !== 201 || typeof body?.id !== 'string') {
      const detail = typeof body?.detail === 'string' ? `: ${body.detail}` : '';
      throw new Error(`the report was not accepted by ${url}: ${describe(answer)}${detail}`);
    }
    return {
      url,
      id: body.id,
      outcome: body.outcome === 'passed' ? 'passed' : 'failed',
      reasons: Array.isArray(body.reasons) ? body.reasons.map(String) : [],
    };
  } finally {
    await agent.close().catch(() => undefined);
  }
}
