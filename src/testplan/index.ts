export { type RawOptions, reportTarget, resolveOptions, UsageError } from './options.ts';
export {
  caseLine,
  jsonReport,
  junitReport,
  type Summary,
  summarise,
  summaryLine,
  textReport,
} from './report.ts';
export { GO_LIVE_REQUIRED_CASES, runTestPlan } from './run-test-plan.ts';
export { REPORT_PATH, reportUrl, type Submission, submitReport } from './submit-report.ts';
export type { CaseResult, CaseStatus, Operation, Progress, TestPlanOptions } from './types.ts';
