import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { escapeHtml } from '../../../src/platform/partner-catalog/escape-html.ts';
import { HTML_CSP, renderCatalogHtml } from '../../../src/platform/partner-catalog/render-catalog-html.ts';
import { renderCatalogJson } from '../../../src/platform/partner-catalog/render-catalog-json.ts';
import { CONTEXT, HOSTILE, sampleCatalog } from './catalog-fixture.ts';

const page = (context = CONTEXT) => renderCatalogHtml(renderCatalogJson(sampleCatalog(), context));

/** The row of the operations table whose path cell is `path`. */
function rowOf(html: string, path: string): string {
  const row = html.split('<tr').find((r) => r.includes(`<td><code>${escapeHtml(path)}</code></td>`));
  assert.ok(row, `a row for ${path}`);
  return row;
}

describe('renderCatalogHtml', () => {
  test('fail/markup in names and descriptions comes out as text: no script, no element, no attribute', () => {
    const html = page();
    assert.ok(!/<script/i.test(html), 'no <script anywhere');
    assert.ok(!/<img/i.test(html), 'no injected element');
    // Text may read `onerror=` once escaped; no element of the page carries an event handler.
    const tags = html.match(/<[a-z][^>]*>/gi) ?? [];
    assert.ok(tags.length > 50);
    assert.deepEqual(
      tags.filter((tag) => /\son[a-z]+=/i.test(tag)),
      [],
    );
    assert.ok(html.includes(escapeHtml(HOSTILE)));
    assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;quotes&#39;'));
    assert.ok(html.includes('<code>evil&lt;script&gt;&amp;&#39;</code>'), 'a hostile scope name, escaped');
    assert.ok(html.includes('<code>role&lt;script&gt;&amp;&#39;</code>'), 'a hostile role name, escaped');
  });

  test('fail/a hostile title and a javascript: contact are text, never markup or a link', () => {
    const html = page({
      ...CONTEXT,
      title: '</title><script>x()</script>',
      accessRequest: 'javascript:alert(1)',
    });
    assert.ok(!/<script/i.test(html));
    assert.ok(html.includes('&lt;/title&gt;&lt;script&gt;x()&lt;/script&gt;'));
    assert.ok(!html.includes('href="javascript:'), 'no javascript: link');
    assert.ok(html.includes('<dd>javascript:alert(1)</dd>'));
  });

  test('ok/no inline style attribute; the one style sheet is the one the CSP hash allows', () => {
    const html = page();
    assert.ok(!/\sstyle=/i.test(html));
    const sheets = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)];
    assert.equal(sheets.length, 1);
    const hash = createHash('sha256')
      .update(sheets[0]?.[1] ?? '')
      .digest('base64');
    assert.ok(HTML_CSP.includes(`style-src 'sha256-${hash}'`), HTML_CSP);
    assert.match(HTML_CSP, /default-src 'none'/);
    assert.match(HTML_CSP, /frame-ancestors 'none'/);
    assert.doesNotMatch(HTML_CSP, /script-src|unsafe-inline/);
  });

  test('ok/an operation row: method, path, what it does, scopes per alternative, roles, notes', () => {
    const html = page();
    const transfer = rowOf(html, '/v1/orgs/{org_id}/transfers');
    assert.match(transfer, /<code>POST<\/code>/);
    assert.match(
      transfer,
      /<code>accounts:read<\/code> and <code>payments:submit<\/code><br>or <code>accounts:write<\/code>/,
    );
    // The first alternative only a combination grants; the second one role.
    assert.match(
      transfer,
      /together: <code>accounts:read<\/code> from <code>admin<\/code>, <code>reader<\/code>; <code>payments:submit<\/code> from <code>writer<\/code><br>or <code>writer<\/code>/,
    );
    assert.match(transfer, /Client certificate \(mTLS\) required/);
    assert.match(transfer, /<code>\{org_id\}<\/code> must be your organisation's id/);
    const account = rowOf(html, '/v1/accounts/{id}');
    assert.match(account, /DPoP-bound tokens accepted/);
    assert.doesNotMatch(account, /Client certificate/);
  });

  test('ok/public and deprecated operations are marked in words, readable without CSS', () => {
    const html = page();
    const status = rowOf(html, '/status');
    assert.match(status, /none \(public\)/);
    assert.match(status, /Public: no token/);
    const reports = rowOf(html, '/v1/reports/**');
    assert.ok(reports.startsWith(' class="deprecated"'));
    assert.match(reports, /<strong>Deprecated<\/strong>/);
    assert.match(reports, /covers every deeper path/);
    assert.match(html, /<h3>reports <strong>\(deprecated\)<\/strong><\/h3>/);
    assert.match(html, /Other operations/, 'operations of no resource have their own table');
  });

  test('ok/scopes and roles tables, with versions, holders and deprecation', () => {
    const html = page();
    assert.match(
      html,
      /<tr><td><code>accounts:read<\/code><\/td><td>v1<\/td><td>Read accounts<\/td><td><code>admin<\/code>, <code>reader<\/code><\/td><\/tr>/,
    );
    assert.match(html, /<tr class="deprecated"><td><code>reports:download<\/code><\/td><td>v2<\/td>/);
    assert.match(
      html,
      /<tr class="deprecated"><td><code>analyst<\/code><\/td><td>Old reports <strong>\(deprecated\)<\/strong><\/td>/,
    );
  });

  test('ok/how to get access: the steps, the contact link, token endpoint, gateway and CA bundle', () => {
    const html = page();
    assert.match(html, /<h2>How to get access<\/h2>/);
    assert.match(html, /<a href="mailto:partners@bank.example">mailto:partners@bank.example<\/a>/);
    assert.match(html, /<code>https:\/\/mtls.example.test\/token<\/code>/);
    assert.match(html, /<code>https:\/\/api.example.test<\/code>/);
    assert.match(
      html,
      /<a href="https:\/\/as.example.test\/pki\/ca-bundle.pem">https:\/\/as.example.test\/pki\/ca-bundle.pem<\/a>/,
    );
    assert.match(
      html,
      /<a href="\/catalog.json">JSON<\/a> and <a href="\/catalog\/openapi.json">OpenAPI 3.1<\/a>/,
    );
    const none = page({ ...CONTEXT, accessRequest: undefined });
    assert.match(none, /<dd>the operator of this platform<\/dd>/);
  });

  test('ok/an empty catalog is a page that says so', () => {
    const html = renderCatalogHtml(
      renderCatalogJson({ resources: [], scopes: [], roles: [], operations: [] }, CONTEXT),
    );
    assert.match(html, /No operations are published yet/);
  });
});
