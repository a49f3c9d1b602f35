// deno-lint-ignore-file no-control-regex -- escape sequences are control characters
// The console's script (served as /console/app.js; plain browser JavaScript, no build step). The listing
// comes over /console/events as a snapshot, then deltas of changed fields (console_feed.ts): each row is
// kept and only its changed cells are written. A selected process's output is followed by long-polling
// /admin/.../output: a tty process into a terminal (console_terminal.js; one write per page, the next page
// asked for once xterm.js has taken it in), pipes as text with stderr marked. Terminate goes through POST /admin/....
"use strict";
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
  const setText = (node, value) => {
    if (node.textContent !== value) node.textContent = value;
  };
  const ANSI =
    /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f]/g;
  const MAX_OUTPUT_CHARS = 1_000_000;
  const AUDIT_TRAIL = 100;
  /** The server's clock minus ours, so ages do not depend on this machine's clock. */
  let clockOffset = 0;
  const now = () => Date.now() + clockOffset;

  const duration = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + "s";
    if (s < 3600) return Math.floor(s / 60) + "m" + (s % 60) + "s";
    return Math.floor(s / 3600) + "h" + (Math.floor(s / 60) % 60) + "m";
  };
  const size = (bytes) => {
    if (bytes < 1024) return String(bytes);
    const units = ["K", "M", "G", "T"];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) value /= 1024, unit++;
    return (value < 10 ? value.toFixed(1) : Math.round(value)) + units[unit];
  };

  async function terminate(path, what) {
    if (!confirm("Terminate " + what + "?")) return;
    const response = await fetch(path, { method: "POST", credentials: "same-origin" });
    $("status").textContent = response.ok
      ? "terminated " + what
      : "terminate failed: " + (await response.text());
  }

  // --- the listing: sessionId -> { data, head, label, table, processes: processId -> { data, row, cells } }
  const sessions = new Map();
  let selected = null; // { sessionId, processId }

  function upsertSession(fields) {
    let entry = sessions.get(fields.sessionId);
    if (entry === undefined) {
      const sid = encodeURIComponent(fields.sessionId);
      const label = el("span");
      const head = el(
        "div",
        { className: "session-head", "data-session-id": fields.sessionId },
        label,
        " ",
        el("button", {
          className: "terminate end-session",
          text: "End session",
          onclick: () => terminate("/admin/sessions/" + sid + "/terminate", "session " + fields.sessionId),
        }),
      );
      const headings = ["process", "pid", "state", "exit", "age", "out", "tty", "sandbox", "command", ""];
      const table = el("table", {}, el("tr", {}, ...headings.map((h) => el("th", { text: h }))));
      entry = { data: {}, head, label, table, processes: new Map() };
      sessions.set(fields.sessionId, entry);
      $("sessions").append(head, table);
    }
    Object.assign(entry.data, fields);
    drawSession(entry);
  }

  function drawSession(entry) {
    const s = entry.data;
    setText(
      entry.label,
      "session " + s.sessionId.slice(0, 8) + " · " + (s.clientName ?? "-") + " · " + (s.peer ?? "-") + " · " +
        (s.attached ? "attached" : "detached") + " · " + duration(now() - s.createdAt),
    );
  }

  function upsertProcess(fields) {
    const session = sessions.get(fields.sessionId);
    if (session === undefined) return;
    let entry = session.processes.get(fields.processId);
    if (entry === undefined) {
      const cells = {};
      for (
        const name of ["id", "pid", "state", "exit", "age", "out", "tty", "sandbox", "command", "action"]
      ) {
        cells[name] = el("td");
      }
      cells.state.className = "state";
      cells.out.className = "num";
      cells.command.className = "command";
      const row = el(
        "tr",
        { className: "process", "data-process-id": fields.processId },
        ...Object.values(cells),
      );
      row.addEventListener("click", () => select(fields.sessionId, fields.processId));
      if (selected && selected.sessionId === fields.sessionId && selected.processId === fields.processId) {
        row.classList.add("selected");
      }
      entry = { data: {}, row, cells, button: null };
      session.processes.set(fields.processId, entry);
      session.table.append(row);
    }
    Object.assign(entry.data, fields);
    drawProcess(session, entry, fields);
  }

  function drawProcess(session, entry, changed) {
    const p = entry.data;
    const { cells, row } = entry;
    if ("state" in changed) row.dataset.state = p.state;
    if ("outputBytes" in changed) row.dataset.outputBytes = String(p.outputBytes);
    const shown = selected?.sessionId === p.sessionId && selected?.processId === p.processId;
    if ("size" in changed && shown && terminal !== null) terminal.resize(p.size);
    setText(cells.id, p.processId);
    setText(cells.pid, String(p.pid));
    setText(cells.state, p.state);
    setText(cells.exit, p.exitCode === null ? "-" : String(p.exitCode));
    setText(cells.age, duration((p.endedAt ?? now()) - p.startedAt));
    setText(cells.out, size(p.outputBytes));
    setText(cells.tty, p.tty ? "yes" : "no");
    setText(cells.sandbox, p.sandboxed ? "yes" : "no");
    if ("argv" in changed || "cwd" in changed) {
      setText(cells.command, p.argv.join(" ") + "  (" + p.cwd + ")");
      cells.command.title = cells.command.textContent;
    }
    const running = p.state === "running";
    if (running && entry.button === null) {
      const path = "/admin/processes/" + encodeURIComponent(session.data.sessionId) + "/" +
        encodeURIComponent(p.processId) + "/terminate";
      entry.button = el("button", {
        className: "terminate",
        text: "Terminate",
        onclick: (event) => {
          event.stopPropagation();
          terminate(path, "process " + p.processId);
        },
      });
      cells.action.append(entry.button);
    } else if (!running && entry.button !== null) {
      entry.button.remove();
      entry.button = null;
    }
  }

  function removeSession(sessionId) {
    const entry = sessions.get(sessionId);
    if (entry === undefined) return;
    entry.head.remove();
    entry.table.remove();
    sessions.delete(sessionId);
  }

  function removeProcess(sessionId, processId) {
    const session = sessions.get(sessionId);
    const entry = session?.processes.get(processId);
    if (entry === undefined) return;
    entry.row.remove();
    session.processes.delete(processId);
  }

  function addAudit(events, reset) {
    const list = $("audit");
    if (reset) list.replaceChildren();
    // Newest first.
    for (const event of events) {
      const { type, ...fields } = event;
      list.prepend(el("li", { text: type + " " + JSON.stringify(fields) }));
    }
    while (list.childElementCount > AUDIT_TRAIL) list.lastElementChild.remove();
  }

  function apply(message) {
    clockOffset = message.now - Date.now();
    if (message.type === "snapshot") {
      for (const sessionId of [...sessions.keys()]) removeSession(sessionId);
    }
    for (const fields of message.sessions) upsertSession(fields);
    for (const fields of message.processes) upsertProcess(fields);
    for (const [sessionId, processId] of message.removedProcesses) removeProcess(sessionId, processId);
    for (const sessionId of message.removedSessions) removeSession(sessionId);
    addAudit(message.audit, message.type === "snapshot");
    const none = $("no-sessions");
    if (sessions.size === 0 && none === null) {
      $("sessions").append(el("p", { id: "no-sessions", text: "No sessions." }));
    }
    if (sessions.size > 0 && none !== null) none.remove();
  }

  // Ages move without messages: once a second, only their cells.
  setInterval(() => {
    for (const session of sessions.values()) {
      drawSession(session);
      for (const entry of session.processes.values()) {
        if (entry.data.state === "running") setText(entry.cells.age, duration(now() - entry.data.startedAt));
      }
    }
  }, 1000);

  // --- the output view
  let generation = 0;
  /** Aborts the follow of the process shown before (a browser has few connections per host to spare). */
  let following = new AbortController();
  let terminal = null; // ConsoleTerminal.open(...) while a tty process is shown

  function closeTerminal() {
    terminal?.close();
    terminal = null;
  }

  function openTerminal(size) {
    closeTerminal();
    const root = $("terminal");
    root.replaceChildren();
    terminal = ConsoleTerminal.open(root, size);
    return terminal;
  }

  let outputChars = 0;
  function appendText(parts) {
    const out = $("output");
    const fragment = document.createDocumentFragment();
    for (const [text, stderr] of parts) {
      const clean = text.replace(ANSI, "");
      if (clean === "") continue;
      fragment.append(
        stderr ? el("span", { className: "stderr", text: clean }) : document.createTextNode(clean),
      );
      outputChars += clean.length;
    }
    out.append(fragment);
    while (outputChars > MAX_OUTPUT_CHARS && out.firstChild) {
      outputChars -= out.firstChild.textContent.length;
      out.firstChild.remove();
    }
    out.scrollTop = out.scrollHeight;
  }

  async function select(sessionId, processId) {
    const mine = ++generation;
    following.abort();
    following = new AbortController();
    const signal = following.signal;
    selected = { sessionId, processId };
    for (const row of document.querySelectorAll("tr.process.selected")) row.classList.remove("selected");
    const entry = sessions.get(sessionId)?.processes.get(processId);
    entry?.row.classList.add("selected");
    const tty = entry?.data.tty === true;
    $("output").replaceChildren();
    outputChars = 0;
    $("output").hidden = tty;
    $("terminal").hidden = !tty;
    if (!tty) closeTerminal();
    const term = tty ? openTerminal(entry.data.size ?? null) : null;
    $("output-title").textContent = "Output of " + processId + (tty ? " (terminal)" : "");
    const note = (text, stderr = true) => {
      if (term) term.note(text);
      else appendText([["\n" + text + "\n", stderr]]);
    };
    const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder(), pty: new TextDecoder() };
    const base = "/admin/processes/" + encodeURIComponent(sessionId) + "/" + encodeURIComponent(processId) +
      "/output";
    let afterSeq = 0;
    for (;;) {
      if (mine !== generation) return;
      let page;
      try {
        const response = await fetch(base + "?afterSeq=" + afterSeq + "&waitMs=20000", {
          credentials: "same-origin",
          signal,
        });
        if (response.status === 404) return note("[the process is gone]");
        if (!response.ok) return note("[" + (await response.text()).trim() + "]");
        page = await response.json();
      } catch (error) {
        return signal.aborted ? undefined : note("[" + error + "]");
      }
      if (mine !== generation) return;
      if (page.droppedBytes > 0 && afterSeq === 0) {
        note("[" + page.droppedBytes + " earlier bytes are no longer retained]");
      }
      const parts = page.chunks.map((chunk) => {
        const bytes = Uint8Array.from(atob(chunk.chunk), (c) => c.charCodeAt(0));
        return [decoders[chunk.stream].decode(bytes, { stream: true }), chunk.stream === "stderr"];
      });
      if (term) {
        // The next page is asked for once xterm.js has parsed this one: a fast process cannot pile up data.
        await term.write(parts.map(([text]) => text).join(""));
      } else {
        appendText(parts);
      }
      afterSeq = page.afterSeq;
      if (page.more) continue;
      if (page.closed) return note("[closed, exit code " + page.exitCode + "]", false);
    }
  }

  function connect() {
    const socket = new WebSocket(
      (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/console/events",
    );
    socket.onopen = () => {
      $("status").textContent = "live";
    };
    socket.onmessage = (message) => apply(JSON.parse(message.data));
    socket.onclose = () => {
      $("status").textContent = "disconnected; reconnecting";
      setTimeout(connect, 2000);
    };
  }
  connect();
})();
