/**
 * The web console's page, script and style, compiled into the program (so the single-file bundle and the
 * compiled binary serve them with no external request): the page is built here, the script and the style
 * are `console_app.js`, `console_terminal.js` and `console_app.css` taken in as text imports (`deno bundle` inlines them), and
 * xterm.js comes from `console_vendor.ts`. A tty process's output is rendered by xterm.js; pipe output is
 * text with ANSI sequences removed and stderr marked. Every value from the server is written with
 * `textContent` (or as terminal data), never as HTML.
 *
 * @module
 */
import appJs from "./console_app.js" with { type: "text" };
import appCss from "./console_app.css" with { type: "text" };
import terminalJs from "./console_terminal.js" with { type: "text" };

/** The console's script. */
export const CONSOLE_APP_JS: string = appJs;
/** The console's terminal view (xterm.js under the console's CSP). */
export const CONSOLE_TERMINAL_JS: string = terminalJs;
/** The console's stylesheet. */
export const CONSOLE_CSS: string = appCss;

function shell(title: string, body: string, head = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
${head}<link rel="stylesheet" href="/console/app.css">
</head>
<body>
${body}
</body>
</html>
`;
}

/** The login form; `message` (plain text, ours) explains a refusal. */
export function loginHtml(message: string): string {
  const note = message === "" ? "" : `<p class="error" id="login-error">${message}</p>`;
  return shell(
    "exec-server console: log in",
    `<main class="login">
<h1>exec-server console</h1>
<form method="post" action="/console/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button type="submit" id="login">Log in</button>
</form>
${note}
</main>`,
  );
}

/** The console itself; `loggedIn` shows the logout button (not with local access). */
export function consoleHtml(loggedIn: boolean): string {
  const logout = loggedIn
    ? `<form method="post" action="/console/logout"><button type="submit" id="logout">Log out</button></form>`
    : "";
  return shell(
    "exec-server console",
    `<header><h1>exec-server console</h1><span id="status">connecting</span>${logout}</header>
<main class="console">
<section id="sessions-pane"><h2>Sessions and processes</h2><div id="sessions"></div></section>
<section id="output-pane"><h2 id="output-title">Output</h2>
<p class="hint" id="output-hint">Select a process. A tty process is shown in a terminal; pipe output as text (ANSI sequences removed), <span class="stderr">stderr marked</span>.</p>
<div id="terminal" hidden></div>
<pre id="output"></pre></section>
<section id="audit-pane"><h2>Recent audit trail</h2><ol id="audit"></ol></section>
</main>
<script src="/console/xterm.js"></script>
<script src="/console/terminal.js"></script>
<script src="/console/app.js"></script>`,
    `<link rel="stylesheet" href="/console/xterm.css">\n`,
  );
}
