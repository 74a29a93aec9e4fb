// Builds the NATS connection options from the plugin's security settings and, when natsContext is set,
// a `nats` CLI context: credentials, NKey seed and creds files, TLS files. Runs in the publisher worker
// (it reads files). Every error names the setting and the file, never what the file holds.
import { readFileSync } from "node:fs";
import { connect as tcpConnect } from "node:net";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { createSecureContext } from "node:tls";
import { fileURLToPath } from "node:url";
import { jwtAuthenticator, nkeyAuthenticator, type NodeConnectionOptions } from "@nats-io/transport-node";
import type { ConnectionSettings } from "../src/config.ts";
import { authMethods, DEFAULT_NATS_URL, redactUrl } from "../src/nats-url.ts";
import { connectionOptions } from "./nats-connection.ts";

/** A setting that cannot be used as given; the message names the key and the file. */
export class ConnectionSetupError extends Error {}

/** The fields of a `nats` CLI context file (natscli's natscontext) that the plugin uses. */
interface NatsContextFile {
  url?: string;
  user?: string;
  password?: string;
  token?: string;
  creds?: string;
  nkey?: string;
  ca?: string;
  cert?: string;
  key?: string;
  tls_first?: boolean;
}

const CONTEXT_STRINGS = ["url", "user", "password", "token", "creds", "nkey", "ca", "cert", "key"] as const;

export interface ConnectionPlan {
  options: NodeConnectionOptions;
  /** How the client authenticates, for messages: e.g. `credsFile /etc/nats/app.creds`; never a secret. */
  auth: string;
  /** Where the CA certificates come from, e.g. `tls.caFile /etc/nats/ca.pem`; "" for the system's. */
  ca: string;
  /** The client certificate, e.g. `tls.certFile /etc/nats/client.pem`; "" for none. */
  clientCert: string;
}

/** `~`, `$VAR` and `${VAR}` in a context path, expanded as the `nats` CLI does. */
/** `~` and `$VAR`/`${VAR}` in a path from a context or the config, as the nats CLI expands them. */
function expandPath(p: string, env: NodeJS.ProcessEnv): string {
  const vars = p.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_, a: string | undefined, b: string | undefined) => env[a ?? b ?? ""] ?? "",
  );
  if (vars === "~" || vars.startsWith("~/")) return join(env.HOME || homedir(), vars.slice(1));
  return vars;
}

/** Where a context lives: a name under $XDG_CONFIG_HOME/nats/context (default ~/.config), or a path. */
export function natsContextPath(nameOrPath: string, env: NodeJS.ProcessEnv = process.env): string {
  if (nameOrPath.includes("/") || nameOrPath.endsWith(".json")) return resolve(expandPath(nameOrPath, env));
  const base =
    env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : join(env.HOME || homedir(), ".config");
  return join(base, "nats", "context", `${nameOrPath}.json`);
}

function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return code ?? "unreadable";
}

function readSetting(label: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ConnectionSetupError(`${label} ${path}: cannot read it (${fsReason(e)})`);
  }
}

function readNatsContext(
  nameOrPath: string,
  env: NodeJS.ProcessEnv = process.env,
): { path: string; ctx: NatsContextFile } {
  const path = natsContextPath(nameOrPath, env);
  const label = `natsContext "${nameOrPath}"`;
  let raw: unknown;
  try {
    raw = JSON.parse(readSetting(label, path).toString("utf8"));
  } catch (e) {
    if (e instanceof ConnectionSetupError) throw e;
    throw new ConnectionSetupError(`${label} ${path}: not a JSON context file`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConnectionSetupError(`${label} ${path}: not a JSON object`);
  }
  const o = raw as Record<string, unknown>;
  const ctx: NatsContextFile = {};
  for (const k of CONTEXT_STRINGS) {
    if (o[k] === undefined || o[k] === null || o[k] === "") continue;
    if (typeof o[k] !== "string") throw new ConnectionSetupError(`${label} ${path}: "${k}" must be a string`);
    ctx[k] = o[k];
  }
  if (o.tls_first !== undefined && typeof o.tls_first !== "boolean") {
    throw new ConnectionSetupError(`${label} ${path}: "tls_first" must be true or false`);
  }
  ctx.tls_first = o.tls_first === true;
  return { path, ctx };
}

/** A secret given inline in a context: a literal, env://NAME or a data: URI (as the `nats` CLI reads them). */
function contextLiteral(value: string, field: string, where: string, env: NodeJS.ProcessEnv): string {
  if (value.startsWith("env://")) {
    const name = value.slice(6);
    const v = env[name];
    if (v === undefined) throw new ConnectionSetupError(`${where}: "${field}" names ${name}, which is not set`);
    return v;
  }
  if (value.startsWith("data:"))
    return dataUri(value, field, where)
      .toString("utf8")
      .replace(/[\r\n]+$/, "");
  if (/^(op|nsc):\/\//.test(value)) {
    const scheme = value.split(":")[0];
    throw new ConnectionSetupError(`${where}: "${field}" uses ${scheme}://, which the plugin cannot resolve`);
  }
  return value;
}

function dataUri(value: string, field: string, where: string): Buffer {
  const comma = value.indexOf(",");
  if (comma < 0) throw new ConnectionSetupError(`${where}: "${field}" is not a valid data: URI`);
  const body = value.slice(comma + 1);
  return value.slice(0, comma).endsWith(";base64")
    ? Buffer.from(body, "base64")
    : Buffer.from(decodeURIComponent(body), "utf8");
}

/** A file reference in a context: a path (`~` and `$VAR` expanded) or a file:// URI. */
function contextFile(value: string, field: string, where: string, env: NodeJS.ProcessEnv): string {
  if (value.startsWith("file://")) return fileURLToPath(value);
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) && !/^[a-z]:[\\/]/i.test(value)) {
    throw new ConnectionSetupError(
      `${where}: "${field}" uses ${value.split(":")[0]}:, which the plugin cannot resolve; give a file path`,
    );
  }
  return expandPath(value, env);
}

/** The settings that apply: the plugin's own, and the context's where the plugin leaves them unset. */
interface Effective {
  url: string;
  user: string;
  password: string;
  token: string;
  nkeySeedFile: string;
  credsFile: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  handshakeFirst: boolean;
  /** The label of each setting in messages: the plugin key, or the context and its field. */
  labels: Record<string, string>;
}

function effectiveSettings(config: ConnectionSettings, env: NodeJS.ProcessEnv): Effective {
  const t = config.tls;
  const labels: Record<string, string> = {
    user: "user",
    password: "password",
    token: "token",
    nkeySeedFile: "nkeySeedFile",
    credsFile: "credsFile",
    caFile: "tls.caFile",
    certFile: "tls.certFile",
    keyFile: "tls.keyFile",
  };
  const e: Effective = {
    url: config.natsUrl,
    user: config.user,
    password: config.password,
    token: config.token,
    nkeySeedFile: config.nkeySeedFile,
    credsFile: config.credsFile,
    caFile: t.caFile,
    certFile: t.certFile,
    keyFile: t.keyFile,
    handshakeFirst: t.handshakeFirst,
    labels,
  };
  if (config.natsContext) {
    const { path, ctx } = readNatsContext(config.natsContext, env);
    const where = `natsContext "${config.natsContext}" ${path}`;
    const from = (field: string) => `${where} "${field}"`;
    if (!e.url && ctx.url) e.url = ctx.url;
    // Authentication is one setting: the context's applies only when the plugin names none.
    if (authMethods({ ...config, natsUrl: e.url || DEFAULT_NATS_URL }).length === 0) {
      const named = (["user", "token", "creds", "nkey"] as const).filter((k) => ctx[k]);
      if (named.length > 1) {
        const both = `"${named[0]}" and "${named[1]}"`;
        throw new ConnectionSetupError(`${where}: ${both} are both set: keep one authentication method`);
      }
      if (ctx.user) {
        e.user = ctx.user;
        e.password = ctx.password ? contextLiteral(ctx.password, "password", where, env) : "";
        labels.user = from("user");
        // shown only after the user's label: `natsContext "x" <path> "user"/"password"`
        labels.password = '"password"';
      }
      if (ctx.token) [e.token, labels.token] = [contextLiteral(ctx.token, "token", where, env), from("token")];
      if (ctx.creds) [e.credsFile, labels.credsFile] = [contextFile(ctx.creds, "creds", where, env), from("creds")];
      if (ctx.nkey) [e.nkeySeedFile, labels.nkeySeedFile] = [contextFile(ctx.nkey, "nkey", where, env), from("nkey")];
    }
    if (!e.caFile && ctx.ca) [e.caFile, labels.caFile] = [contextFile(ctx.ca, "ca", where, env), from("ca")];
    if (!e.certFile && ctx.cert && ctx.key) {
      [e.certFile, labels.certFile] = [contextFile(ctx.cert, "cert", where, env), from("cert")];
      [e.keyFile, labels.keyFile] = [contextFile(ctx.key, "key", where, env), from("key")];
    }
    e.handshakeFirst ||= ctx.tls_first === true;
  }
  e.url ||= DEFAULT_NATS_URL;
  return e;
}

const CREDS = /\s*(?:(?:-{3,}[^\n]*-{3,}\n)(.+)(?:\n\s*-{3,}[^\n]*-{3,}\n))/gi;

/** A creds file: the user JWT and seed between the `-----BEGIN ...-----` marker lines. */
function parseCreds(data: Buffer): { jwt: string; seed: Uint8Array } {
  const s = data.toString("utf8");
  CREDS.lastIndex = 0;
  const jwt = CREDS.exec(s)?.[1]?.trim();
  const seed = CREDS.exec(s)?.[1]?.trim();
  if (jwt?.split(".").length !== 3) throw new Error("no user JWT between -----BEGIN NATS USER JWT----- lines");
  if (!seed?.startsWith("SU")) {
    throw new Error("no user NKey seed (SU...) between -----BEGIN USER NKEY SEED----- lines");
  }
  const seedBytes = new TextEncoder().encode(seed);
  checkSeed(seedBytes);
  return { jwt, seed: seedBytes };
}

/** An NKey seed file: one line starting with SU (as `nsc` and `nk` write them). */
function parseSeed(data: Buffer): Uint8Array {
  const seed = /^\s*(SU[A-Z2-7]+)\s*$/m.exec(data.toString("utf8"))?.[1];
  if (!seed) throw new Error("no NKey user seed (a line starting with SU)");
  const bytes = new TextEncoder().encode(seed);
  checkSeed(bytes);
  return bytes;
}

function checkSeed(seed: Uint8Array): void {
  try {
    nkeyAuthenticator(seed)("check"); // decodes the seed and signs: throws on a damaged one
  } catch {
    throw new Error("the NKey seed is damaged (bad encoding or checksum)"); // the library's message may quote it
  }
}

/**
 * A credential file read again at every connection attempt, so a file replaced on disk (rotated
 * credentials) is used at the next reconnect. If it cannot be read or parsed then, the last good
 * content is used and the problem is reported once.
 */
class RotatingFile<T> {
  private readonly label: string;
  private readonly path: string;
  private readonly parse: (data: Buffer) => T;
  private readonly warn: (msg: string) => void;
  private good: T;
  private lastProblem = "";

  constructor(label: string, path: string, parse: (data: Buffer) => T, warn: (msg: string) => void) {
    [this.label, this.path, this.parse, this.warn] = [label, path, parse, warn];
    this.good = this.load();
  }

  private load(): T {
    const data = readSetting(this.label, this.path);
    try {
      return this.parse(data);
    } catch (e) {
      throw new ConnectionSetupError(`${this.label} ${this.path}: ${(e as Error).message}`);
    }
  }

  current(): T {
    try {
      this.good = this.load();
      this.lastProblem = "";
    } catch (e) {
      const problem = (e as Error).message;
      if (problem !== this.lastProblem) this.warn(`${problem}; using the credentials read before`);
      this.lastProblem = problem;
    }
    return this.good;
  }
}

function pem(label: string, path: string): string {
  const data = readSetting(label, path).toString("utf8");
  if (!data.includes("-----BEGIN ")) {
    throw new ConnectionSetupError(`${label} ${path}: not a PEM file (no -----BEGIN line)`);
  }
  return data;
}

function tlsOptions(e: Effective): NodeConnectionOptions["tls"] {
  const l = e.labels;
  const ca = e.caFile ? pem(l.caFile, e.caFile) : undefined;
  const cert = e.certFile ? pem(l.certFile, e.certFile) : undefined;
  const key = e.keyFile ? pem(l.keyFile, e.keyFile) : undefined;
  try {
    createSecureContext({ ca, cert, key }); // refuses a bad certificate, or a key that does not match it
  } catch (err) {
    const files = [
      ca && `${l.caFile} ${e.caFile}`,
      cert && `${l.certFile} ${e.certFile}`,
      key && `${l.keyFile} ${e.keyFile}`,
    ].filter(Boolean);
    const why = (err as NodeJS.ErrnoException).code ?? (err as Error).message.split("\n")[0];
    throw new ConnectionSetupError(`${files.join(", ")}: not usable as TLS files (${why})`);
  }
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert, key } : {}),
    ...(e.handshakeFirst ? { handshakeFirst: true } : {}),
  };
}

/**
 * The connection options for `config`: servers, authentication, TLS. Reads the context and the
 * files now (throws ConnectionSetupError naming the key and path); creds and NKey seed files are
 * read again at every reconnect. `warn` reports a rotated file that could not be read.
 */
export function connectionPlan(
  config: ConnectionSettings,
  warn: (msg: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): ConnectionPlan {
  const e = effectiveSettings(config, env);
  const options = connectionOptions(e.url, config.connectTimeoutMs);
  const l = e.labels;
  let auth = options.user ? "user/password in natsUrl" : options.token ? "token in natsUrl" : "none";
  if (e.user) {
    [options.user, options.pass, auth] = [e.user, e.password, `${l.user}/${l.password}`];
  } else if (e.token) {
    [options.token, auth] = [e.token, l.token];
  } else if (e.credsFile) {
    const creds = new RotatingFile(l.credsFile, e.credsFile, parseCreds, warn);
    // One read per connection attempt: the JWT and the seed always come from the same file version.
    options.authenticator = (nonce?: string) => {
      const c = creds.current();
      return jwtAuthenticator(c.jwt, c.seed)(nonce);
    };
    auth = `${l.credsFile} ${e.credsFile}`;
  } else if (e.nkeySeedFile) {
    const seed = new RotatingFile(l.nkeySeedFile, e.nkeySeedFile, parseSeed, warn);
    options.authenticator = (nonce?: string) => nkeyAuthenticator(seed.current())(nonce);
    auth = `${l.nkeySeedFile} ${e.nkeySeedFile}`;
  }
  if (e.caFile || e.certFile || e.handshakeFirst || options.tls) options.tls = tlsOptions(e);
  const clientCert = e.certFile ? `${l.certFile} ${e.certFile}` : "";
  return { options, auth, ca: e.caFile ? `${l.caFile} ${e.caFile}` : "", clientCert };
}

/**
 * connectionPlan(), retried every `retryMs` while a setting cannot be used (a file not there yet,
 * unreadable or malformed): each new problem is reported once. Undefined once `stopped()`.
 */
export async function waitForConnectionPlan(
  config: ConnectionSettings,
  report: (problem: string) => void,
  warn: (msg: string) => void,
  stopped: () => boolean,
  retryMs = 5000,
): Promise<ConnectionPlan | undefined> {
  let last = "";
  while (!stopped()) {
    try {
      return connectionPlan(config, warn);
    } catch (e) {
      if (!(e instanceof ConnectionSetupError)) throw e;
      if (e.message !== last) report(e.message);
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, retryMs));
  }
  return undefined;
}

/** TLS verification failures of Node (err.code) that mean "the server's certificate is not trusted". */
const UNTRUSTED = new RegExp(
  `^(${[
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "CERT_UNTRUSTED",
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "CERT_HAS_EXPIRED",
    "CERT_NOT_YET_VALID",
  ].join("|")})$`,
);

/** Why a connection failed, in words an operator can act on; never a credential (URLs are redacted). */
export function describeConnectError(e: unknown, plan: ConnectionPlan | undefined): string {
  const causes: { code?: string; message?: string; name?: string }[] = [];
  for (let x = e as { cause?: unknown } | undefined, n = 0; x && n < 5; x = x.cause as typeof x, n++)
    causes.push(x as never);
  const msg =
    causes
      .map((c) => c.message)
      .filter(Boolean)
      .join(": ") || String(e);
  const code = causes.map((c) => c.code).find((c) => typeof c === "string") ?? "";
  const clean = redactUrl(msg);
  if (UNTRUSTED.test(code)) {
    const by = plan?.ca || "the system's CAs (set tls.caFile)";
    return `TLS: the server's certificate is not trusted by ${by} (${code})`;
  }
  if (
    /certificate required|CERTIFICATE_REQUIRED|bad certificate|BAD_CERTIFICATE|unknown ca|UNKNOWN_CA/i.test(
      `${code} ${msg}`,
    )
  ) {
    return `TLS: the server refused the client certificate (${plan?.clientCert || "none configured"}): ${clean}`;
  }
  if (
    /authori[sz]ation|authentication|auth(entication)? (expired|revoked)/i.test(msg) ||
    causes.some((c) => c.name === "AuthorizationError")
  ) {
    return `the server refused the credentials (${plan?.auth ?? "none configured"}): ${clean}`;
  }
  return clean;
}

/** The server's INFO, sent in the clear before any TLS (unless handshake_first); undefined if none in time. */
function peekServerInfo(hostPort: string, timeoutMs: number): Promise<Record<string, unknown> | undefined> {
  const i = hostPort.lastIndexOf(":");
  const host = hostPort.slice(0, i).replace(/^\[|\]$/g, "");
  return new Promise((done) => {
    const sock = tcpConnect(Number(hostPort.slice(i + 1)), host);
    let text = "";
    const finish = (info?: Record<string, unknown>) => {
      clearTimeout(timer);
      sock.destroy();
      done(info);
    };
    const timer = setTimeout(() => finish(), timeoutMs);
    sock.on("error", () => finish());
    sock.on("data", (d) => {
      text += d.toString("latin1");
      const line = /^INFO\s+(\{.*\})\s*\n/.exec(text);
      if (line) {
        try {
          finish(JSON.parse(line[1]) as Record<string, unknown>);
        } catch {
          finish();
        }
      } else if (text.length > 65_536) finish();
    });
  });
}

/**
 * describeConnectError(), plus one case the client cannot see: a server that verifies client
 * certificates (mutual TLS) closes the TLS session of a client without an acceptable one after the
 * handshake, and the client only reports a time-out. The server's INFO says whether it verifies them.
 */
export async function explainConnectError(e: unknown, plan: ConnectionPlan | undefined): Promise<string> {
  const tls = plan?.options.tls;
  const timedOut = /timeout/i.test(`${(e as Error)?.name} ${(e as Error)?.message}`);
  if (timedOut && tls && !tls.handshakeFirst) {
    const servers = plan.options.servers;
    const first = Array.isArray(servers) ? servers[0] : servers;
    const info = first ? await peekServerInfo(first, 2000) : undefined;
    if (info?.tls_verify === true) {
      return plan.clientCert
        ? "TLS: the server verifies client certificates (mutual TLS) and closed the connection: " +
            `it does not accept ${plan.clientCert} (signed by a CA it does not trust?)`
        : "TLS: the server requires a client certificate (mutual TLS) and none is configured; " +
            "set tls.certFile and tls.keyFile";
    }
  }
  return describeConnectError(e, plan);
}
