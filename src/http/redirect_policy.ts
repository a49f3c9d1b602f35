/**
 * Redirect following as reqwest's default policy does it: up to 10 hops, `referer` added, method and body
 * rewritten for 301/302/303, credentials dropped when the origin changes. Applies to `redirectPolicy: "follow"`
 * (the default); with `"stop"` the handler returns the first response, a 3xx included.
 *
 * @module
 */
import type { ResponseHead } from "./response_head.ts";
import type { OutboundRequest } from "./request_validation.ts";

/** Redirects followed before giving up with "too many redirects". */
export const MAX_REDIRECTS = 10;

/** Headers that must not follow a redirect to another origin (reqwest's list, plus our `host` override). */
const CROSS_ORIGIN_DROP = new Set([
  "authorization",
  "cookie",
  "proxy-authorization",
  "www-authenticate",
  "host",
]);
/** Headers describing a body that a 301/302/303 drops. */
const BODY_HEADERS = new Set(["transfer-encoding", "content-encoding", "content-type", "content-length"]);

/** What to do with a response: return it, or send `next` (whose URL may still need policy checks). */
export type RedirectDecision =
  | { kind: "final" }
  | { kind: "follow"; next: OutboundRequest }
  | { kind: "error"; reason: string };

/** The `referer` reqwest sends: the previous URL without credentials or fragment; none from https to http. */
function referer(previous: URL, next: URL): string | null {
  if (previous.protocol === "https:" && next.protocol === "http:") return null;
  const ref = new URL(previous.href);
  ref.username = "";
  ref.password = "";
  ref.hash = "";
  return ref.href;
}

/** Decides whether `head` (the answer to `request`, after `hops` redirects already followed) is followed. */
export function decideRedirect(request: OutboundRequest, head: ResponseHead, hops: number): RedirectDecision {
  const { status } = head;
  const rewrites = status === 301 || status === 302 || status === 303;
  if (!rewrites && status !== 307 && status !== 308) return { kind: "final" };
  const location = head.raw.find(([n]) => n === "location")?.[1];
  if (location === undefined) return { kind: "final" };
  let url: URL;
  try {
    url = new URL(location, request.url);
  } catch {
    // reqwest returns the redirect response itself when Location is unusable.
    return { kind: "final" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return { kind: "error", reason: "URL scheme is not allowed" };
  }
  if (hops >= MAX_REDIRECTS) return { kind: "error", reason: "too many redirects" };

  const crossOrigin = url.origin !== request.url.origin;
  let headers = request.headers.filter(([n]) =>
    n !== "referer" && !(crossOrigin && CROSS_ORIGIN_DROP.has(n))
  );
  let { method, body } = request;
  if (rewrites) {
    headers = headers.filter(([n]) => !BODY_HEADERS.has(n));
    body = null;
    if (method !== "GET" && method !== "HEAD") method = "GET";
  }
  const ref = referer(request.url, url);
  if (ref !== null) headers.push(["referer", ref]);
  return { kind: "follow", next: { method, url, headers, body } };
}
