import type { CaseResult } from './types.ts';

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  ms: number;
}

export function summarise(results: CaseResult[]): Summary {
  return {
    passed: results.filter((r) => r.status === 'pass').length,
    failed: results.filter((r) => r.status === 'fail').length,
    skipped: results.filter((r) => r.status === 'skip').length,
    ms: results.reduce((sum, r) => sum + r.ms, 0),
  };
}

/** One line per case: verdict, id, what was expected and what came back, and how long it took. */
export function caseLine(r: CaseResult): string {
  const verdict = r.status.toUpperCase().padEnd(4);
  return `${verdict}  ${r.id.padEnd(22)} expected ${r.expected}; got ${r.got} (${r.ms} ms)`;
}

/** The verdict: PASSED only when no case failed (skipped cases are counted, not passed). */
export function summaryLine(results: CaseResult[]): string {
  const s = summarise(results);
  return `${s.failed === 0 ? 'PASSED' : 'FAILED'}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped (${s.ms} ms)`;
}

export function textReport(results: CaseResult[], target: string): string {
  return `${[`accredit testplan: ${target}`, ...results.map(caseLine), summaryLine(results)].join('\n')}\n`;
}

export function jsonReport(results: CaseResult[], target: string): unknown {
  return { target, ok: summarise(results).failed === 0, summary: summarise(results), cases: results };
}

// XML 1.0 §2.2: characters outside Char cannot appear even escaped; they are replaced.
function xml(text: string): string {
  return text
    .replace(/[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** JUnit XML as CI servers read it: one testcase per case, failures and skips with their message. */
export function junitReport(results: CaseResult[], target: string, timestamp: Date): string {
  const s = summarise(results);
  const counts = `tests="${results.length}" failures="${s.failed}" errors="0" skipped="${s.skipped}" time="${seconds(s.ms)}"`;
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="accredit testplan" ${counts}>`,
    `  <testsuite name="${xml(`accredit testplan ${target}`)}" ${counts} timestamp="${timestamp.toISOString().replace(/\.\d+Z$/, '')}">`,
  ];
  for (const r of results) {
    const open = `    <testcase classname="accredit.testplan" name="${xml(`${r.id}: ${r.title}`)}" time="${seconds(r.ms)}"`;
    const message = xml(`expected ${r.expected}; got ${r.got}`);
    if (r.status === 'pass') {
      out.push(`${open}>`, `      <system-out>${message}</system-out>`, '    </testcase>');
    } else if (r.status === 'fail') {
      out.push(
        `${open}>`,
        `      <failure message="${message}" type="expectation">${message}</failure>`,
        '    </testcase>',
      );
    } else {
      out.push(`${open}>`, `      <skipped message="${xml(r.got)}"/>`, '    </testcase>');
    }
  }
  out.push('  </testsuite>', '</testsuites>', '');
  return out.join('\n');
}
