// Connection options for the publisher: credentials taken out of the URLs (they never reach a
// log line), endless reconnects, and the first connect retried in the background.
import type { NodeConnectionOptions } from "@nats-io/transport-node";

export function connectionOptions(natsUrl: string, connectTimeoutMs: number): NodeConnectionOptions {
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let token: string | undefined;
  let tls = false;
  for (const part of natsUrl.split(",")) {
    const raw = part.trim();
    const u = new URL(/^[a-z]+:\/\//i.test(raw) ? raw : `nats://${raw}`);
    if (u.username && !user && !token) {
      if (u.password) {
        user = decodeURIComponent(u.username);
        pass = decodeURIComponent(u.password);
      } else token = decodeURIComponent(u.username);
    }
    if (u.protocol === "tls:") tls = true;
    servers.push(`${u.hostname.includes(":") ? `[${u.hostname}]` : u.hostname}:${u.port || 4222}`);
  }
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
