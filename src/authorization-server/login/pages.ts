import { createHash } from 'node:crypto';
import { type Html, html } from './html.ts';

/** The interaction pages' only stylesheet, served from 'self' (no inline style, no script anywhere). */
export const STYLESHEET = `
:root { color-scheme: light dark; font-family: system-ui, sans-serif; line-height: 1.5; }
body { margin: 0; background: Canvas; color: CanvasText; }
main { max-width: 28rem; margin: 3rem auto; padding: 2rem; border: 1px solid GrayText; border-radius: 0.5rem; }
h1 { font-size: 1.4rem; margin-top: 0; }
label { display: block; font-weight: 600; margin-top: 1rem; }
input { display: block; width: 100%; box-sizing: border-box; padding: 0.5rem; margin-top: 0.25rem; font: inherit; }
input:focus-visible, button:focus-visible { outline: 3px solid Highlight; outline-offset: 2px; }
.hint { font-size: 0.9rem; color: GrayText; margin: 0.25rem 0 0; }
.error { border: 2px solid #b00020; padding: 0.5rem 0.75rem; border-radius: 0.25rem; margin: 1rem 0; }
.actions { display: flex; gap: 0.75rem; margin-top: 1.5rem; flex-wrap: wrap; }
button { font: inherit; padding: 0.5rem 1.25rem; border-radius: 0.25rem; border: 1px solid ButtonBorder; cursor: pointer; }
button.primary { background: #1a4fd6; color: #fff; border-color: #1a4fd6; }
ul.scopes { padding-left: 1.25rem; }
ul.scopes li { margin: 0.5rem 0; }
code { font-size: 0.85rem; }
`;

export const STYLESHEET_PATH = `/interaction/assets/${createHash('sha256').update(STYLESHEET).digest('hex').slice(0, 16)}.css`;

function layout(title: string, body: Html): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`.value;
}

export const LOGIN_FAILED =
  'The username, password or one-time code is not right, or sign-in is paused for now. Try again later.';

export function loginPage(input: {
  uid: string;
  csrf: string;
  clientName: string;
  organisation: string | undefined;
  username?: string;
  error?: string;
  upstream?: { label: string; csrf: string };
}): string {
  const describedBy = input.error ? 'login-error' : undefined;
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
<p>to continue to <strong>${input.clientName}</strong>${input.organisation ? html` from <strong>${input.organisation}</strong>` : ''}.</p>
${input.error ? html`<p class="error" id="login-error" role="alert">${input.error}</p>` : ''}
<form method="post" action="/interaction/${input.uid}/login" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${input.username ?? ''}"${describedBy ? html` aria-describedby="${describedBy}" aria-invalid="true"` : ''}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${describedBy ? html` aria-describedby="${describedBy}" aria-invalid="true"` : ''}>
<label for="totp">One-time code</label>
<input id="totp" name="totp" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6" aria-describedby="totp-hint${describedBy ? ` ${describedBy}` : ''}">
<p class="hint" id="totp-hint">Only if your account uses an authenticator app.</p>
<div class="actions">
<button type="submit" class="primary">Sign in</button>
</div>
</form>
${
  input.upstream
    ? html`<form method="post" action="/interaction/${input.uid}/upstream">
<input type="hidden" name="csrf" value="${input.upstream.csrf}">
<div class="actions"><button type="submit">Sign in with ${input.upstream.label}</button></div>
</form>`
    : ''
}
<form method="post" action="/interaction/${input.uid}/abort">
<input type="hidden" name="csrf" value="${input.csrf}">
<div class="actions"><button type="submit">Cancel</button></div>
</form>`,
  );
}

export function consentPage(input: {
  uid: string;
  csrf: string;
  clientName: string;
  organisation: string | undefined;
  scopes: Array<{ name: string; description: string }>;
}): string {
  return layout(
    'Allow access',
    html`<h1>Allow access?</h1>
<p><strong>${input.clientName}</strong>${input.organisation ? html` from <strong>${input.organisation}</strong>` : ''} asks to:</p>
<ul class="scopes">
${input.scopes.map((s) => html`<li>${s.description} <code>${s.name}</code></li>`)}
</ul>
<p>You can withdraw this permission later by asking the operator to revoke it.</p>
<form method="post" action="/interaction/${input.uid}/consent">
<input type="hidden" name="csrf" value="${input.csrf}">
<div class="actions">
<button type="submit" name="decision" value="allow" class="primary">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</div>
</form>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, html`<h1>${title}</h1>\n<p>${message}</p>`);
}
