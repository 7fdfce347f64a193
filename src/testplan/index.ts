export { type RawOptions, resolveOptions, UsageError } from './options.ts';
export {
  caseLine,
  jsonReport,
  junitReport,
  type Summary,
  summarise,
  summaryLine,
  textReport,
} from './report.ts';
export { runTestPlan } from './run-test-plan.ts';
export type { CaseResult, CaseStatus, Operation, Progress, TestPlanOptions } from './types.ts';
