// deno-lint-ignore-file no-control-regex -- escape sequences are control characters
// The console's terminal view (served as /console/terminal.js, after /console/xterm.js): an xterm.js
// Terminal made to work under the console's strict CSP. `ConsoleTerminal.open(root)` returns
// { write(text): Promise (settles once xterm.js has parsed it), resize(size), note(text), close() }, drawn
// at the process's own terminal size.
"use strict";
globalThis.ConsoleTerminal = (() => {
  /**
   * xterm.js writes its theme, palette and cell size into <style> elements, which the console's CSP
   * (style-src 'self', no 'unsafe-inline') does not apply. Their text is applied instead as constructed
   * stylesheets (CSSOM, which style-src does not govern), kept in step as xterm.js rewrites them: the
   * policy stays strict, and nothing from a process's output ever reaches a stylesheet.
   */
  function mirrorStyles(root) {
    const sheets = new Map();
    const sync = () => {
      for (const style of [...sheets.keys()]) if (!style.isConnected) sheets.delete(style);
      for (const style of root.querySelectorAll("style")) {
        if (!sheets.has(style)) {
          sheets.set(style, new CSSStyleSheet());
          watch.observe(style, { childList: true, characterData: true, subtree: true });
        }
        sheets.get(style).replaceSync(style.textContent);
      }
      document.adoptedStyleSheets = [...sheets.values()];
    };
    const watch = new MutationObserver(sync);
    // xterm.js appends its <style> elements to .xterm-screen; only that level is watched, not the rows.
    const screen = root.querySelector(".xterm-screen") ?? root;
    watch.observe(screen, { childList: true });
    sync();
    return watch;
  }

  /**
   * 24-bit colours (SGR 38;2;r;g;b and 48;2;...) are drawn by xterm.js's DOM renderer as style attributes,
   * which the CSP refuses; they are turned into the nearest of the 256 palette colours, which it draws with
   * classes. `carry` holds a sequence cut at the end of a page until the next one.
   */
  function paletteColour(r, g, b) {
    if (r === g && g === b) {
      if (r < 8) return 16;
      if (r > 238) return 231;
      return 232 + Math.round((r - 8) / 10);
    }
    const step = (v) => (v < 48 ? 0 : v < 115 ? 1 : Math.floor((v - 35) / 40));
    return 16 + 36 * step(r) + 6 * step(g) + step(b);
  }
  function rewriteSgr(params) {
    if (params.includes(":")) {
      return params.split(";").map((param) => {
        const sub = param.split(":");
        if (!["38", "48", "58"].includes(sub[0]) || sub[1] !== "2" || sub.length < 5) return param;
        const [r, g, b] = sub.slice(-3).map(Number);
        return sub[0] + ":5:" + paletteColour(r, g, b);
      }).join(";");
    }
    const parts = params.split(";");
    const out = [];
    for (let i = 0; i < parts.length; i++) {
      if (["38", "48", "58"].includes(parts[i]) && parts[i + 1] === "2" && i + 4 < parts.length) {
        out.push(parts[i], "5", String(paletteColour(+parts[i + 2], +parts[i + 3], +parts[i + 4])));
        i += 4;
      } else if (["38", "48", "58"].includes(parts[i]) && parts[i + 1] === "5") {
        out.push(parts[i], parts[i + 1], parts[i + 2] ?? "");
        i += 2;
      } else {
        out.push(parts[i]);
      }
    }
    return out.join(";");
  }
  function paletteOnly(text, state) {
    text = state.carry + text;
    const cut = text.match(/\x1b(?:\[[0-9;:]*)?$/);
    state.carry = cut ? cut[0] : "";
    if (cut) text = text.slice(0, cut.index);
    return text.replace(
      /\x1b\[([0-9;:]*)m/g,
      (all, params) => (params.includes("2") ? "\x1b[" + rewriteSgr(params) + "m" : all),
    );
  }

  /** A terminal size the page can draw: the process's own, within bounds (80x24 when unknown). */
  const fit = (size) => ({
    cols: Math.min(Math.max(size?.cols ?? 80, 10), 500),
    rows: Math.min(Math.max(size?.rows ?? 24, 2), 200),
  });

  /** Opens a read-only terminal in `root`, of the process's terminal size `size` ({rows, cols} or null). */
  function open(root, size) {
    const term = new Terminal({
      ...fit(size),
      scrollback: 5000,
      disableStdin: true,
      convertEol: false,
      cursorBlink: false,
      fontSize: 13,
      theme: {
        background: "#0d1117",
        foreground: "#e6edf3",
        black: "#484f58",
        red: "#ff7b72",
        green: "#3fb950",
        yellow: "#d29922",
        blue: "#58a6ff",
        magenta: "#bc8cff",
        cyan: "#39c5cf",
        white: "#b1bac4",
        brightBlack: "#6e7681",
        brightRed: "#ffa198",
        brightGreen: "#56d364",
        brightYellow: "#e3b341",
        brightBlue: "#79c0ff",
        brightMagenta: "#d2a8ff",
        brightCyan: "#56d4dd",
        brightWhite: "#ffffff",
      },
    });
    term.open(root);
    const styles = mirrorStyles(root);
    const palette = { carry: "" };
    /** Writes xterm.js has not parsed yet: settled on close too, so no caller waits on a disposed terminal. */
    const pending = new Set();
    return {
      write(text) {
        const data = paletteOnly(text, palette);
        if (data === "") return Promise.resolve();
        return new Promise((resolve) => {
          pending.add(resolve);
          term.write(data, () => {
            pending.delete(resolve);
            resolve();
          });
        });
      },
      /** The process's terminal was resized. */
      resize(size) {
        const { cols, rows } = fit(size);
        if (cols !== term.cols || rows !== term.rows) term.resize(cols, rows);
      },
      note(text) {
        term.write("\r\n\x1b[33m" + text + "\x1b[0m\r\n");
      },
      close() {
        for (const resolve of pending) resolve();
        pending.clear();
        styles.disconnect();
        term.dispose();
        document.adoptedStyleSheets = [];
      },
    };
  }

  return { open };
})();
