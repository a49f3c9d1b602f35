/**
 * Path parameters of `fs/*` (and `process/start.cwd`): an absolute native path or a `file:` URI, and the
 * `file://` URIs the server returns.
 *
 * @module
 */
import { ErrorCode, RpcError } from "./errors.ts";

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):/;

/**
 * Turns a path parameter into an absolute native path. Accepts `/abs`, `file:///abs`, `file://localhost/abs`
 * and `file:/abs`; percent-escapes are decoded once and raw spaces are tolerated. `..` is left for the OS.
 *
 * Errors: relative or empty gives -32602 `path is not absolute: <p>`; another scheme gives -32602
 * ``unsupported path URI scheme `http` ``; a `file:` URI naming a host gives -32600
 * `file URI contains an invalid absolute path`.
 */
export function parseAbsolutePath(input: string): string {
  const scheme = SCHEME.exec(input);
  if (!scheme) {
    if (!input.startsWith("/")) throw RpcError.invalidParams(`path is not absolute: ${input}`);
    return input;
  }
  const name = scheme[1].toLowerCase();
  if (name !== "file") throw RpcError.invalidParams(`unsupported path URI scheme \`${name}\``);
  // Query and fragment are not part of the path (a literal `#` or `?` in a name must be escaped).
  let rest = input.slice(scheme[0].length).replace(/[?#].*$/s, "");
  if (rest.startsWith("//")) {
    const slash = rest.indexOf("/", 2);
    const host = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    if (host !== "" && host.toLowerCase() !== "localhost") {
      throw new RpcError(ErrorCode.InvalidRequest, "file URI contains an invalid absolute path");
    }
    rest = slash < 0 ? "/" : rest.slice(slash);
  } else if (!rest.startsWith("/")) {
    // `file:name` is read as `file:///name`, as URL parsers do.
    rest = "/" + rest;
  }
  return percentDecode(rest);
}

/** Decodes `%XX` escapes into bytes (invalid escapes stay literal), then the bytes as UTF-8. */
function percentDecode(text: string): string {
  if (!text.includes("%")) return text;
  const source = new TextEncoder().encode(text);
  const out = new Uint8Array(source.length);
  let n = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === 0x25 && i + 2 < source.length && isHex(source[i + 1]) && isHex(source[i + 2])) {
      out[n++] = parseInt(String.fromCharCode(source[i + 1], source[i + 2]), 16);
      i += 2;
    } else {
      out[n++] = c;
    }
  }
  return new TextDecoder().decode(out.subarray(0, n));
}

function isHex(c: number | undefined): boolean {
  return c !== undefined && ((c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102));
}

/** Bytes kept as-is in a path segment: printable ASCII minus the URL crate's `PATH_SEGMENT` set. */
function keepByte(c: number): boolean {
  if (c <= 0x20 || c >= 0x7f) return false;
  return !'"#<>?`{}%/'.includes(String.fromCharCode(c));
}

/**
 * A native absolute path as a `file://` URI: `/srv/sp ace/f%20x` becomes `file:///srv/sp%20ace/f%2520x`
 * (space, `%`, controls, `"#<>?`{}` and non-ASCII UTF-8 bytes are percent-encoded).
 */
export function toFileUri(path: string): string {
  const bytes = new TextEncoder().encode(path);
  let out = "file://";
  for (const c of bytes) {
    if (c === 0x2f || keepByte(c)) out += String.fromCharCode(c);
    else out += "%" + c.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}
