import { createHash } from 'node:crypto';
import { escapeHtml as e } from './escape-html.ts';
import { CATALOG_PATHS } from './partner-catalog-context.ts';
import type { PartnerCatalog, PartnerOperation } from './render-catalog-json.ts';
import type { RolesGranting } from './roles-granting.ts';

/**
 * The partner view as one plain HTML page: no script at all, one inline style sheet allowed by its hash, and
 * tables that read the same without it. Every string of the catalog is escaped (escape-html.ts).
 */
const STYLE = `body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;line-height:1.45;color:#1b1b1b}
table{border-collapse:collapse;width:100%;margin:0.5rem 0 1.5rem}
th,td{border:1px solid #c8c8c8;padding:0.35rem 0.5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}
code{font-family:ui-monospace,monospace;font-size:0.95em}
.deprecated{color:#6b6b6b}
.deprecated td:first-child::before{content:"\\2716\\00a0"}
dt{font-weight:600}
dd{margin:0 0 0.5rem 1.5rem}`;

/** Headers of the page: nothing runs, nothing loads, nothing frames it. */
export const HTML_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const list = (items: readonly string[]) => items.map((i) => `<code>${e(i)}</code>`).join(', ');

function scopesNeeded(operation: PartnerOperation): string {
  if (operation.public) return 'none (public)';
  return operation.scopes
    .map((alternative) => alternative.map((s) => `<code>${e(s)}</code>`).join(' and '))
    .join('<br>or ');
}

function grantedBy(grant: RolesGranting): string {
  if (grant.roles.length > 0) return list(grant.roles);
  const parts = grant.by_scope.map((s) =>
    s.roles.length > 0
      ? `<code>${e(s.scope)}</code> from ${list(s.roles)}`
      : `<code>${e(s.scope)}</code> from no role`,
  );
  return `together: ${parts.join('; ')}`;
}

function rolesCell(operation: PartnerOperation): string {
  if (operation.public) return '—';
  return operation.roles_granting.map(grantedBy).join('<br>or ');
}

function notesCell(operation: PartnerOperation): string {
  const notes: string[] = [];
  if (operation.deprecated) notes.push('<strong>Deprecated</strong>');
  if (operation.public) notes.push('Public: no token');
  if (operation.requires_client_certificate) notes.push('Client certificate (mTLS) required');
  if (operation.requires_dpop) notes.push('DPoP-bound tokens only');
  else if (operation.accepts_dpop) notes.push('DPoP-bound tokens accepted');
  if (operation.owner_param !== null)
    notes.push(`<code>{${e(operation.owner_param)}}</code> must be your organisation's id`);
  if (operation.path.endsWith('/**')) notes.push('<code>**</code> covers every deeper path');
  return notes.join('<br>');
}

function operationsTable(caption: string, operations: readonly PartnerOperation[]): string {
  const rows = operations.map(
    (o) =>
      `<tr${o.deprecated ? ' class="deprecated"' : ''}><td><code>${e(o.method)}</code></td><td><code>${e(o.path)}</code></td><td>${e(o.description)}</td><td>${scopesNeeded(o)}</td><td>${rolesCell(o)}</td><td>${notesCell(o)}</td></tr>`,
  );
  return `<table><caption>${caption}</caption>
<thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">What it does</th><th scope="col">Scopes needed</th><th scope="col">Roles that grant them</th><th scope="col">Notes</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>`;
}

const deprecatedMark = (deprecated: boolean) => (deprecated ? ' <strong>(deprecated)</strong>' : '');

function accessSection(catalog: PartnerCatalog): string {
  const how = catalog.how_to_request_access;
  const contact =
    how.contact_url !== null
      ? `<a href="${e(how.contact_url)}">${e(how.contact ?? how.contact_url)}</a>`
      : how.contact !== null
        ? e(how.contact)
        : 'the operator of this platform';
  return `<section id="access"><h2>How to get access</h2>
<ol>
${how.steps.map((step) => `<li>${e(step)}</li>`).join('\n')}
</ol>
<dl>
<dt>Asking for access</dt><dd>${contact}</dd>
<dt>Token endpoint (mutual TLS)</dt><dd><code>${e(catalog.token_endpoint)}</code></dd>
<dt>API (gateway)</dt><dd><code>${e(catalog.gateway_url)}</code></dd>
<dt>Trust anchors (CA bundle)</dt><dd><a href="${e(catalog.ca_bundle_url)}">${e(catalog.ca_bundle_url)}</a></dd>
<dt>Authorization server (issuer)</dt><dd><code>${e(catalog.issuer)}</code></dd>
</dl></section>`;
}

function operationsSection(catalog: PartnerCatalog): string {
  const parts = catalog.resources.map((r, i) => {
    const ops = catalog.operations.filter((o) => o.resource === r.name);
    return `<section id="resource-${i + 1}"><h3>${e(r.name)}${deprecatedMark(r.deprecated)}</h3>
${r.description ? `<p>${e(r.description)}</p>` : ''}
${operationsTable(`Operations on ${e(r.name)}`, ops)}</section>`;
  });
  const known = new Set(catalog.resources.map((r) => r.name));
  const other = catalog.operations.filter((o) => o.resource === null || !known.has(o.resource));
  if (other.length > 0) {
    parts.push(`<section id="resource-other"><h3>Other operations</h3>
${operationsTable('Operations of no resource', other)}</section>`);
  }
  if (parts.length === 0) parts.push('<p>No operations are published yet.</p>');
  return `<section id="operations"><h2>Operations</h2>\n${parts.join('\n')}</section>`;
}

function scopesSection(catalog: PartnerCatalog): string {
  const rows = catalog.scopes.map(
    (s) =>
      `<tr${s.deprecated ? ' class="deprecated"' : ''}><td><code>${e(s.name)}</code></td><td>${s.version !== null ? e(s.version) : '—'}</td><td>${e(s.description)}${deprecatedMark(s.deprecated)}</td><td>${s.roles.length > 0 ? list(s.roles) : 'no role'}</td></tr>`,
  );
  return `<section id="scopes"><h2>Scopes</h2>
<table><caption>OAuth scopes</caption>
<thead><tr><th scope="col">Scope</th><th scope="col">Version</th><th scope="col">Meaning</th><th scope="col">Roles that hold it</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></section>`;
}

function rolesSection(catalog: PartnerCatalog): string {
  const rows = catalog.roles.map(
    (r) =>
      `<tr${r.deprecated ? ' class="deprecated"' : ''}><td><code>${e(r.name)}</code></td><td>${e(r.description)}${deprecatedMark(r.deprecated)}</td><td>${r.scopes.length > 0 ? list(r.scopes) : 'none'}</td></tr>`,
  );
  return `<section id="roles"><h2>Roles</h2>
<table><caption>Roles an operator grants to applications</caption>
<thead><tr><th scope="col">Role</th><th scope="col">Description</th><th scope="col">Scopes</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table></section>`;
}

export function renderCatalogHtml(catalog: PartnerCatalog): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(catalog.title)}: API access catalog</title>
<style>${STYLE}</style>
</head>
<body>
<header><h1>${e(catalog.title)}: API access catalog</h1>
<p>Also as <a href="${CATALOG_PATHS.json}">JSON</a> and <a href="${CATALOG_PATHS.openapi}">OpenAPI 3.1</a>. Catalog version <code>${e(catalog.version)}</code>.</p>
<nav><ul><li><a href="#access">How to get access</a></li><li><a href="#operations">Operations</a></li><li><a href="#scopes">Scopes</a></li><li><a href="#roles">Roles</a></li></ul></nav>
</header>
<main>
${accessSection(catalog)}
${operationsSection(catalog)}
${scopesSection(catalog)}
${rolesSection(catalog)}
</main>
</body>
</html>
`;
}
