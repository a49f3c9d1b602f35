/**
 * The web console's logins: a random id per successful login with the admin token, held in an
 * `HttpOnly; SameSite=Strict` cookie (the token itself never is), expiring after {@link LOGIN_TTL_MS}.
 *
 * @module
 */

/** The cookie's name. */
export const CONSOLE_COOKIE = "exec_server_console";

/** How long a login lasts. */
export const LOGIN_TTL_MS = 12 * 60 * 60 * 1000;

/** At most this many logins are kept (the oldest go first). */
const MAX_LOGINS = 256;

/** The logins of one listener. */
export class ConsoleLogins {
  readonly #expiry = new Map<string, number>();

  /** A new login: the cookie value. */
  create(): string {
    const id = crypto.getRandomValues(new Uint8Array(32)).toBase64({
      alphabet: "base64url",
      omitPadding: true,
    });
    this.#expiry.set(id, Date.now() + LOGIN_TTL_MS);
    while (this.#expiry.size > MAX_LOGINS) this.#expiry.delete(this.#expiry.keys().next().value!);
    return id;
  }

  /** Whether `request` carries a live login cookie. */
  has(request: Request): boolean {
    const id = loginCookie(request);
    if (id === null) return false;
    const expiry = this.#expiry.get(id);
    if (expiry === undefined) return false;
    if (expiry < Date.now()) {
      this.#expiry.delete(id);
      return false;
    }
    return true;
  }

  /** Ends the login `request` carries, if any. */
  remove(request: Request): void {
    const id = loginCookie(request);
    if (id !== null) this.#expiry.delete(id);
  }
}

function loginCookie(request: Request): string | null {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === CONSOLE_COOKIE) return value.join("=");
  }
  return null;
}
