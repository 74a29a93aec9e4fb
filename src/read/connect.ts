// Connections for readers (the CLI, the query method, the agent tool). They use the plugin's own
// connection settings (natsUrl, user/password/token, nkeySeedFile, credsFile, tls, natsContext)
// through the publisher's connectionPlan(), so a reader connects wherever the publisher does and a
// setting means the same on both sides. Credentials never appear in a message: URLs are redacted.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import type { ConnectionSettings } from "../config.ts";
import { redactUrl } from "../nats-url.ts";
import {
  type ConnectionPlan,
  ConnectionSetupError,
  connectionPlan,
  explainConnectError,
} from "../../workers/nats-auth.ts";

class ConnectError extends Error {}

/**
 * The connection plan of a reader: the first connection attempt fails fast (a CLI must say why it
 * cannot connect), later disconnects reconnect without end (a tail survives a server restart).
 * Throws ConnectError when a setting cannot be used (the message names the key and the file).
 */
export function readerPlan(
  c: ConnectionSettings,
  env: NodeJS.ProcessEnv = process.env,
  warn: (msg: string) => void = () => undefined,
): ConnectionPlan {
  let plan: ConnectionPlan;
  try {
    plan = connectionPlan(c, warn, env);
  } catch (e) {
    if (e instanceof ConnectionSetupError) throw new ConnectError(e.message);
    throw e;
  }
  plan.options = { ...plan.options, name: "openclaw-nats-eventstore-reader", waitOnFirstConnect: false };
  return plan;
}

/** Connects, or throws a ConnectError naming the server (redacted) and the reason. */
export async function connectReader(
  c: ConnectionSettings,
  env: NodeJS.ProcessEnv = process.env,
  warn?: (msg: string) => void,
): Promise<NatsConnection> {
  const plan = readerPlan(c, env, warn);
  try {
    return await connect(plan.options);
  } catch (e) {
    throw new ConnectError(`cannot connect to ${serverName(c)}: ${await explainConnectError(e, plan)}`);
  }
}

/** The server(s) of `c` for messages: the URL redacted, or the context that names them. */
export function serverName(c: ConnectionSettings): string {
  return c.natsUrl ? redactUrl(c.natsUrl) : `the server of natsContext ${JSON.stringify(c.natsContext)}`;
}
