import assert from 'node:assert/strict';

export interface JunitSuite {
  tests: number;
  failures: number;
  skipped: number;
  /** Case ids (the part of the testcase name before the colon) with a <failure>. */
  failed: string[];
}

const ENTITY = /&(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/y;

/**
 * No XML parser is a dependency, so the structure is checked here: every tag balanced and properly
 * nested, attributes quoted, `&` only in entities, `<` only in markup; then the JUnit shape
 * (testsuites > testsuite > testcase, the counts agreeing with the cases).
 */
export function assertWellFormedJunit(xml: string): JunitSuite {
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n'), 'XML declaration');
  const body = xml.slice(xml.indexOf('?>') + 2);
  const stack: string[] = [];
  const elements: Array<{ name: string; attrs: Record<string, string>; parent: string | undefined }> = [];
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === '&') {
      ENTITY.lastIndex = i;
      assert.ok(ENTITY.test(body), `bare & at ${i}`);
      i = ENTITY.lastIndex;
      continue;
    }
    if (c !== '<') {
      i++;
      continue;
    }
    const end = body.indexOf('>', i);
    assert.ok(end > i, `unterminated tag at ${i}`);
    const tag = body.slice(i + 1, end);
    i = end + 1;
    if (tag.startsWith('/')) {
      assert.equal(stack.pop(), tag.slice(1), `closing </${tag.slice(1)}> matches its opening tag`);
      continue;
    }
    const selfClosing = tag.endsWith('/');
    const m = /^([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*\/?$/.exec(tag);
    assert.ok(m, `malformed tag <${tag}>`);
    const attrs: Record<string, string> = {};
    for (const a of m[2]!.matchAll(/([A-Za-z_][\w.-]*)="([^"]*)"/g)) {
      assert.ok(!(a[1]! in attrs), `duplicate attribute ${a[1]}`);
      attrs[a[1]!] = a[2]!;
    }
    elements.push({ name: m[1]!, attrs, parent: stack.at(-1) });
    if (stack.length === 0)
      assert.equal(elements.filter((e) => e.parent === undefined).length, 1, 'one root element');
    if (!selfClosing) stack.push(m[1]!);
  }
  assert.deepEqual(stack, [], 'every element closed');

  const root = elements[0]!;
  assert.equal(root.name, 'testsuites');
  const suites = elements.filter((e) => e.name === 'testsuite');
  assert.equal(suites.length, 1);
  assert.equal(suites[0]!.parent, 'testsuites');
  const cases = elements.filter((e) => e.name === 'testcase');
  assert.ok(cases.every((e) => e.parent === 'testsuite' && e.attrs.name && e.attrs.time));
  const children = (name: string) => elements.filter((e) => e.name === name && e.parent === 'testcase');
  const failedNames: string[] = [];
  // Which testcase a <failure> belongs to: the last testcase opened before it.
  let current = '';
  for (const e of elements) {
    if (e.name === 'testcase') current = e.attrs.name!.split(':')[0]!;
    if (e.name === 'failure') {
      assert.ok(e.attrs.message, 'a failure has a message');
      failedNames.push(current);
    }
  }
  const tests = Number(suites[0]!.attrs.tests);
  const failures = Number(suites[0]!.attrs.failures);
  const skipped = Number(suites[0]!.attrs.skipped);
  assert.equal(tests, cases.length);
  assert.equal(failures, children('failure').length);
  assert.equal(skipped, children('skipped').length);
  assert.deepEqual([root.attrs.tests, root.attrs.failures, root.attrs.skipped].map(Number), [
    tests,
    failures,
    skipped,
  ]);
  return { tests, failures, skipped, failed: failedNames };
}
