/**
 * The web console's page, script and style, compiled into the program (so the single-file bundle and the
 * compiled binary serve them with no external request). The output view is plain pre-formatted text with
 * ANSI escape sequences stripped (no terminal emulator: xterm.js is not bundled); stderr is marked.
 * Every value from the server is written with `textContent`, never as HTML.
 *
 * @module
 */

function shell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/console/app.css">
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
<p class="hint">Select a process. Output is shown as text (ANSI sequences removed); <span class="stderr">stderr is marked</span>.</p>
<pre id="output"></pre></section>
<section id="audit-pane"><h2>Recent audit trail</h2><ol id="audit"></ol></section>
</main>
<script src="/console/app.js"></script>`,
  );
}

/** The stylesheet. */
export const CONSOLE_CSS = `
body { font: 14px system-ui, sans-serif; margin: 0; color: #1d1d1f; background: #f6f6f7; }
header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #24292f; color: #fff; }
header h1 { font-size: 1.1em; margin: 0; }
header form { margin-left: auto; }
#status { font-size: .9em; opacity: .8; }
main.console { display: grid; grid-template-columns: 1fr 1fr; grid-template-rows: auto auto; gap: 1em; padding: 1em; }
#audit-pane { grid-column: 1 / 3; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 6px; padding: .5em 1em; overflow: auto; }
h2 { font-size: 1em; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { text-align: left; padding: .2em .5em; border-bottom: 1px solid #eee; white-space: nowrap; }
td.command { font-family: ui-monospace, monospace; white-space: normal; word-break: break-all; }
tr.process { cursor: pointer; }
tr.process.selected { background: #ddf4ff; }
.session-head { margin: .8em 0 .3em; font-weight: 600; }
pre#output { background: #0d1117; color: #e6edf3; padding: .5em; min-height: 20em; max-height: 40em; overflow: auto; white-space: pre-wrap; }
.stderr { color: #ff7b72; }
pre#output .stderr { color: #ff7b72; }
#audit { font-family: ui-monospace, monospace; font-size: .85em; max-height: 15em; overflow: auto; }
main.login { max-width: 22em; margin: 4em auto; background: #fff; padding: 1em 2em; border: 1px solid #d0d7de; border-radius: 6px; }
main.login input { width: 100%; margin: .5em 0; padding: .3em; box-sizing: border-box; }
.error { color: #cf222e; }
button.terminate { color: #cf222e; }
`;

/** The script: the listing over `/console/events`, output by long-polling `/admin/...`, terminate by POST. */
export const CONSOLE_APP_JS = `"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  };
  const ANSI = /\\x1b\\[[0-?]*[ -\\/]*[@-~]|\\x1b\\][^\\x07\\x1b]*(?:\\x07|\\x1b\\\\)|\\x1b[@-Z\\\\-_]|[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1a\\x1c-\\x1f\\x7f]/g;
  const MAX_OUTPUT_CHARS = 1_000_000;
  let selected = null; // { sessionId, processId, generation }
  let generation = 0;

  const duration = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    return s < 60 ? s + "s" : s < 3600 ? Math.floor(s / 60) + "m" + (s % 60) + "s" : Math.floor(s / 3600) + "h" + (Math.floor(s / 60) % 60) + "m";
  };

  async function terminate(path, what) {
    if (!confirm("Terminate " + what + "?")) return;
    const response = await fetch(path, { method: "POST", credentials: "same-origin" });
    $("status").textContent = response.ok ? "terminated " + what : "terminate failed: " + (await response.text());
  }

  function renderSessions(sessions) {
    const root = $("sessions");
    root.replaceChildren();
    if (sessions.length === 0) root.append(el("p", { text: "No sessions." }));
    for (const session of sessions) {
      const sid = encodeURIComponent(session.sessionId);
      root.append(el("div", { className: "session-head", "data-session-id": session.sessionId },
        "session " + session.sessionId.slice(0, 8) + " · " + (session.clientName ?? "-") + " · " + (session.peer ?? "-") +
          " · " + (session.attached ? "attached" : "detached") + " · " + duration(session.ageMs) + " ",
        el("button", { className: "terminate end-session", text: "End session",
          onclick: () => terminate("/admin/sessions/" + sid + "/terminate", "session " + session.sessionId) })));
      const table = el("table", {}, el("tr", {}, ...["process", "pid", "state", "exit", "age", "out", "tty", "sandbox", "command", ""].map((h) => el("th", { text: h }))));
      for (const p of session.processes) {
        const row = el("tr", { className: "process", "data-process-id": p.processId, "data-state": p.state },
          el("td", { text: p.processId }), el("td", { text: String(p.pid) }), el("td", { className: "state", text: p.state }),
          el("td", { text: p.exitCode === null ? "-" : String(p.exitCode) }),
          el("td", { text: duration((p.endedAt ?? Date.now()) - p.startedAt) }), el("td", { text: String(p.outputBytes) }),
          el("td", { text: p.tty ? "yes" : "no" }), el("td", { text: p.sandboxed ? "yes" : "no" }),
          el("td", { className: "command", text: p.argv.join(" ") + "  (" + p.cwd + ")" }),
          el("td", {}, p.state === "running" ? el("button", { className: "terminate", text: "Terminate",
            onclick: (event) => { event.stopPropagation(); terminate("/admin/processes/" + sid + "/" + encodeURIComponent(p.processId) + "/terminate", "process " + p.processId); } }) : ""));
        if (selected && selected.sessionId === session.sessionId && selected.processId === p.processId) row.classList.add("selected");
        row.addEventListener("click", () => select(session.sessionId, p.processId));
        table.append(row);
      }
      root.append(table);
    }
  }

  function renderAudit(events) {
    $("audit").replaceChildren(...events.slice().reverse().map((event) => {
      const { type, ...fields } = event;
      return el("li", { text: type + " " + JSON.stringify(fields) });
    }));
  }

  function append(text, stderr) {
    const out = $("output");
    const clean = text.replace(ANSI, "");
    if (clean === "") return;
    out.append(stderr ? el("span", { className: "stderr", text: clean }) : document.createTextNode(clean));
    while (out.textContent.length > MAX_OUTPUT_CHARS && out.firstChild) out.firstChild.remove();
    out.scrollTop = out.scrollHeight;
  }

  async function select(sessionId, processId) {
    const mine = ++generation;
    selected = { sessionId, processId };
    for (const row of document.querySelectorAll("tr.process.selected")) row.classList.remove("selected");
    $("output").replaceChildren();
    $("output-title").textContent = "Output of " + processId;
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder(), pty: new TextDecoder() };
    const base = "/admin/processes/" + encodeURIComponent(sessionId) + "/" + encodeURIComponent(processId) + "/output";
    let afterSeq = 0;
    for (;;) {
      if (mine !== generation) return;
      let page;
      try {
        const response = await fetch(base + "?afterSeq=" + afterSeq + "&waitMs=20000", { credentials: "same-origin" });
        if (response.status === 404) { append("\\n[the process is gone]\\n", true); return; }
        if (!response.ok) { append("\\n[" + (await response.text()).trim() + "]\\n", true); return; }
        page = await response.json();
      } catch (error) {
        append("\\n[" + error + "]\\n", true);
        return;
      }
      if (mine !== generation) return;
      if (page.droppedBytes > 0 && afterSeq === 0) append("[" + page.droppedBytes + " earlier bytes are no longer retained]\\n", true);
      for (const chunk of page.chunks) {
        const bytes = Uint8Array.from(atob(chunk.chunk), (c) => c.charCodeAt(0));
        append(decoders[chunk.stream].decode(bytes, { stream: true }), chunk.stream === "stderr");
      }
      afterSeq = page.afterSeq;
      if (page.more) continue;
      if (page.closed) { append("\\n[closed, exit code " + page.exitCode + "]\\n", false); return; }
    }
  }

  function connect() {
    const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console/events");
    socket.onopen = () => { $("status").textContent = "live"; };
    socket.onmessage = (message) => {
      const state = JSON.parse(message.data);
      renderSessions(state.sessions);
      renderAudit(state.audit);
    };
    socket.onclose = () => {
      $("status").textContent = "disconnected; reconnecting";
      setTimeout(connect, 2000);
    };
  }
  connect();
})();
`;
