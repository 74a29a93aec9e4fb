// Connections for readers (the CLI, the query method, the agent tool): the plugin's natsUrl form
// (credentials in the URL, comma-separated servers) or a `nats` CLI context (credentials files,
// nkeys, TLS). Credentials never appear in a message: URLs are shown redacted.
import { readFileSync } from "node:fs";
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  type NatsConnection,
  type NodeConnectionOptions,
} from "@nats-io/transport-node";
import { redactUrl } from "../config.ts";
import { connectionOptions } from "../../workers/nats-connection.ts";
import { expandPath, natsContextPath } from "../../workers/nats-auth.ts";

export interface ServerSettings {
  /** One URL or a comma-separated list; may carry user:password@ or token@. */
  url: string;
  user?: string;
  password?: string;
  token?: string;
  /** Paths, as in a nats context: a .creds file, an nkey seed file, TLS files. */
  creds?: string;
  nkey?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export class ConnectError extends Error {}

// One definition of where a context lives and how its paths expand: the worker's (natsContext).
export { natsContextPath } from "../../workers/nats-auth.ts";

/** Server settings from a `nats` CLI context file (fields url, user, password, token, creds, nkey, ca, cert, key). */
export function loadNatsContext(name: string, env: NodeJS.ProcessEnv = process.env): ServerSettings {
  const file = natsContextPath(name, env);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    throw new ConnectError(`cannot read nats context ${JSON.stringify(name)} (${file}): ${why}`);
  }
  const str = (k: string) => (typeof raw[k] === "string" && raw[k] !== "" ? (raw[k] as string) : undefined);
  const path = (k: string) => (str(k) ? expandPath(str(k)!, env) : undefined);
  return {
    url: str("url") ?? "nats://127.0.0.1:4222",
    user: str("user"),
    password: str("password"),
    token: str("token"),
    creds: path("creds"),
    nkey: path("nkey"),
    ca: path("ca"),
    cert: path("cert"),
    key: path("key"),
  };
}

function readFile(what: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new ConnectError(`cannot read the ${what} file ${file}: ${(e as Error).message}`);
  }
}

/**
 * Connection options: the first connection attempt fails fast (a CLI must say why it cannot
 * connect), later disconnects reconnect without end (a tail survives a server restart).
 */
export function readerOptions(s: ServerSettings, timeoutMs = 5000): NodeConnectionOptions {
  let o: NodeConnectionOptions;
  try {
    o = connectionOptions(s.url, timeoutMs);
  } catch {
    throw new ConnectError(`not a NATS server URL: ${redactUrl(s.url)}`);
  }
  o = { ...o, name: "openclaw-nats-eventstore-reader", waitOnFirstConnect: false };
  if (s.user !== undefined) o = { ...o, user: s.user, pass: s.password, token: undefined };
  if (s.token !== undefined) o = { ...o, token: s.token, user: undefined, pass: undefined };
  if (s.creds) o.authenticator = credsAuthenticator(new TextEncoder().encode(readFile("creds", s.creds)));
  else if (s.nkey) o.authenticator = nkeyAuthenticator(new TextEncoder().encode(readFile("nkey", s.nkey).trim()));
  if (s.ca || s.cert || s.key) {
    o.tls = {
      ...(s.ca ? { caFile: s.ca } : {}),
      ...(s.cert ? { certFile: s.cert } : {}),
      ...(s.key ? { keyFile: s.key } : {}),
    };
  }
  return o;
}

/** Connects, or throws a ConnectError naming the server (redacted) and the reason. */
export async function connectReader(s: ServerSettings, timeoutMs = 5000): Promise<NatsConnection> {
  const opts = readerOptions(s, timeoutMs);
  try {
    return await connect(opts);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new ConnectError(`cannot connect to ${redactUrl(s.url)}: ${redactUrl(msg)}`);
  }
}
