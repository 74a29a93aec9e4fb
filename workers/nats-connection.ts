// Connection options for the publisher: credentials taken out of the URLs (the client never sees
// them in a server address, so they cannot reach a log line), endless reconnects, and the first
// connect retried in the background.
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { parseNatsUrl } from "../src/nats-url.ts";

/** `natsUrl` was validated by the config (src/config.ts); this throws only for an unvalidated one. */
export function connectionOptions(natsUrl: string, connectTimeoutMs: number): NodeConnectionOptions {
  const { servers, user, pass, token, tls } = parseNatsUrl(natsUrl);
  return {
    servers,
    user,
    pass,
    token,
    name: "openclaw-nats-eventstore",
    timeout: connectTimeoutMs,
    waitOnFirstConnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 10_000,
    maxPingOut: 3,
    noAsyncTraces: true,
    ...(tls ? { tls: {} } : {}),
  };
}
