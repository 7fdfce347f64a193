/** A test-plan run as the partner and admin APIs list it (see docs/console.md, the go-live gate). */
export interface RunSummary {
  id: string;
  org_id: string;
  org_name: string;
  client_id: string;
  environment: 'sandbox' | 'production';
  cert_x5t_s256: string;
  started_at: string;
  finished_at: string;
  received_at: string;
  outcome: 'passed' | 'failed';
}

export interface RunCase {
  id: string;
  title: string;
  status: 'pass' | 'fail' | 'skip';
  expected: string;
  got: string;
  ms: number;
}

export interface RunView extends RunSummary {
  report: {
    tool?: { name: string; version: string };
    target?: string;
    cases?: RunCase[];
    observed?: { allowed: number; denied: number; scope?: string };
    reasons?: string[];
  };
}

export interface GoLiveStatus {
  live_at: string | null;
  live_run_id: string | null;
  eligible_run_id: string | null;
  requirements: string[];
  sandbox_applications: Array<{ client_id: string; name: string }>;
  platform: { issuer: string; api: string; report_to: string; ca_bundle: string };
}

export interface LiveOrganisation {
  id: string;
  name: string;
  live_at: string;
  live_run_id: string | null;
}
