// NATS server URLs in one place: parsing and validation of a natsUrl value (one URL or a
// comma-separated list, credentials in any entry), the authentication methods a config names, and
// redaction of anything that may quote a URL. Errors never quote the rejected value: it may hold a
// password. Both threads use this module (the worker without loading the config's hook table).
import type { ConnectionSettings } from "./config.ts";

/** The server when the config names none (natsUrl and natsContext unset). */
export const DEFAULT_NATS_URL = "nats://localhost:4222";

/** A validated natsUrl: what the NATS client needs, credentials apart from the servers. */
interface NatsServers {
  /** `host:port` of each entry (IPv6 in brackets), without credentials. */
  servers: string[];
  /** Some entry uses tls://. */
  tls: boolean;
  /** From `nats://user:password@host`. */
  user?: string;
  pass?: string;
  /** From `nats://token@host`. */
  token?: string;
}

/** A natsUrl that cannot be used; the message names the entry by position, never by its text. */
export class NatsUrlError extends Error {}

const MAX_SERVERS = 64;
const MAX_URL_CHARS = 16_384;
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
const WHITESPACE_OR_CONTROL = /[\s\u0000-\u001f\u007f]/;
const DEFAULT_PORT = 4222;

/**
 * Parses and validates a natsUrl value. Entries without a scheme are nats://. Percent-encoded
 * credentials are decoded here, so a bad encoding is a clear error now, not a failing worker later.
 */
export function parseNatsUrl(value: string): NatsServers {
  if (value.trim() === "") throw new NatsUrlError("must name at least one server");
  if (value.length > MAX_URL_CHARS) throw new NatsUrlError(`is longer than ${MAX_URL_CHARS} characters`);
  const parts = value.split(",");
  if (parts.length > MAX_SERVERS) throw new NatsUrlError(`lists more than ${MAX_SERVERS} servers`);
  const out: NatsServers = { servers: [], tls: false };
  let credentialsFrom = 0;
  let credentials: string | undefined;
  for (const [i, part] of parts.entries()) {
    const entry = parts.length === 1 ? "the server URL" : `server ${i + 1} of ${parts.length}`;
    const s = part.trim();
    const fail = (why: string): never => {
      throw new NatsUrlError(`${entry} ${why}`);
    };
    if (s === "") fail("is empty");
    if (WHITESPACE_OR_CONTROL.test(s)) {
      fail("contains spaces or control characters (percent-encode them in a user name or password)");
    }
    const schemeMatch = SCHEME.exec(s);
    const scheme = schemeMatch?.[1].toLowerCase();
    if (scheme === "ws" || scheme === "wss") {
      fail(`uses ${scheme}://, but the publisher connects over plain TCP: use nats:// or tls://`);
    }
    if (scheme !== undefined && scheme !== "nats" && scheme !== "tls") fail(`uses ${scheme}://; use nats:// or tls://`);
    const rest = s.slice(schemeMatch?.[0].length ?? 0);
    const hostPort = rest.slice(rest.lastIndexOf("@") + 1).split(/[/?#]/)[0];
    const port = /:([^:\]]*)$/.exec(hostPort)?.[1];
    const validPort = (p: string) => /^\d{1,5}$/.test(p) && Number(p) >= 1 && Number(p) <= 65_535;
    if (port !== undefined && !validPort(port)) fail("has an invalid port (must be 1-65535)");
    let u: URL;
    try {
      u = new URL(scheme === undefined ? `nats://${s}` : s);
    } catch {
      return fail(
        "is not a valid URL ([nats://][user:password@]host[:port]; " +
          "write / ? # : % in a user name or password percent-encoded)",
      );
    }
    if (u.port !== "" && !validPort(u.port)) fail("has an invalid port (must be 1-65535)");
    if (u.hostname === "") fail("has no host");
    if ((u.pathname !== "" && u.pathname !== "/") || u.search !== "" || u.hash !== "") {
      fail("has a path, query or fragment; only [user:password@]host[:port] is used");
    }
    if (u.password !== "" && u.username === "") fail("has a password but no user name");
    let user: string;
    let pass: string;
    try {
      user = decodeURIComponent(u.username);
      pass = decodeURIComponent(u.password);
    } catch {
      return fail("has a user name or password that is not valid percent-encoding (write a literal % as %25)");
    }
    if (u.username !== "") {
      const key = `${u.username}:${u.password}`;
      if (credentials === undefined) {
        credentials = key;
        credentialsFrom = i + 1;
        if (u.password !== "") {
          out.user = user;
          out.pass = pass;
        } else out.token = user;
      } else if (credentials !== key) {
        fail(`has other credentials than server ${credentialsFrom}; one connection uses one set`);
      }
    }
    if (scheme === "tls") out.tls = true;
    const host = u.hostname.startsWith("[") ? u.hostname : u.hostname.includes(":") ? `[${u.hostname}]` : u.hostname;
    out.servers.push(`${host}:${u.port || DEFAULT_PORT}`);
  }
  return out;
}

/** The authentication methods a config names (credentials in natsUrl count as one). */
export function authMethods(c: ConnectionSettings): string[] {
  const methods: string[] = [];
  if (urlHasCredentials(c.natsUrl)) methods.push("natsUrl (credentials in the URL)");
  if (c.user || c.password) methods.push("user/password");
  if (c.token) methods.push("token");
  if (c.nkeySeedFile) methods.push("nkeySeedFile");
  if (c.credsFile) methods.push("credsFile");
  return methods;
}

/** Some entry of a natsUrl, valid or not, has user:pass@ or token@ before its host (scheme optional). */
function urlHasCredentials(natsUrl: string): boolean {
  return natsUrl.split(",").some((entry) => {
    const s = entry.trim();
    return /^[^@/]+@/.test(s.slice(SCHEME.exec(s)?.[0].length ?? 0));
  });
}

/** The credentials of a parsed natsUrl as they may appear in a text: decoded and as written. */
export function secretsOf(s: NatsServers): string[] {
  const out: string[] = [];
  for (const v of [s.pass, s.token]) {
    if (v) out.push(v, encodeURIComponent(v));
  }
  return out;
}

// A run of characters that can belong to a URL or a server entry (delimiters of text around it
// excluded) and holds an "@": everything between its scheme and its last "@" is masked.
const WITH_AT = /[^\s,;"'`<>()[\]{}]*@[^\s,;"'`<>()[\]{}]*/g;

/**
 * Text safe to log or show: in every URL or server entry, everything between the scheme and the
 * last "@" (user, password, token) becomes "***"; each of `secrets` (exact strings, e.g. from
 * secretsOf) becomes "***" wherever it appears.
 */
export function redactUrl(text: string, secrets: readonly string[] = []): string {
  let out = text.includes("@")
    ? text.replace(WITH_AT, (entry) => {
        const scheme = SCHEME.exec(entry)?.[0] ?? "";
        return `${scheme}***${entry.slice(entry.lastIndexOf("@"))}`;
      })
    : text;
  for (const s of secrets) if (s.length > 0 && out.includes(s)) out = out.split(s).join("***");
  return out;
}
