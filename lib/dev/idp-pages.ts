import type { DevUser } from './users.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Every page says what this provider is, so nobody mistakes it for a real login. */
export function layout(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)} — Gatekit dev IdP</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>body{font:16px system-ui,sans-serif;max-width:34em;margin:2em auto;padding:0 1em}
.banner{background:#b00020;color:#fff;padding:.6em 1em;font-weight:700;border-radius:4px}
input{font:inherit;padding:.4em;width:100%;box-sizing:border-box;margin:.2em 0 .8em}button{font:inherit;padding:.5em 1.2em}
code{font-size:1.4em}.error{color:#b00020}</style></head><body>
<p class="banner">Gatekit development identity provider — DEVELOPMENT ONLY</p>
<h1>${esc(title)}</h1>${body}</body></html>`;
}

export function loginPage(action: string, users: readonly DevUser[], error?: string, clientName?: string): string {
  const people = users
    .map((u) => `<li><code>${esc(u.email)}</code> (${u.groups.length ? esc(u.groups.join(', ')) : 'no groups'})</li>`)
    .join('');
  return layout(
    'Sign in',
    `${clientName ? `<p>to continue to <strong>${esc(clientName)}</strong></p>` : ''}
${error ? `<p class="error">${esc(error)}</p>` : ''}
<form id="login" method="post" action="${esc(action)}">
<label>Email <input type="email" name="email" autofocus required></label>
<label>Password <input type="password" name="password" required></label>
<button type="submit">Sign in</button></form>
<p>Development users (password <code>dev</code>):</p><ul>${people}</ul>`,
  );
}

/** oidc-provider hands us its forms (with their xsrf field); we only wrap them. */
export function userCodePage(form: string, error?: string): string {
  return layout(
    'Connect a device',
    `${error ? `<p class="error">${esc(error)}</p>` : '<p>Enter the code shown in your terminal.</p>'}
${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

export function confirmPage(form: string, userCode: string, clientName: string): string {
  return layout(
    'Confirm the device',
    `<p><strong>${esc(clientName)}</strong> asks to sign you in. Check that your terminal shows</p>
<p><code>${esc(userCode)}</code></p>${form}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Deny</button>`,
  );
}

export function donePage(): string {
  return layout('Signed in', '<p>You can close this tab and return to your terminal.</p>');
}
