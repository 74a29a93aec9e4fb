// Reads a whole stream back (for assertions) with an ordered consumer.
import { connect, type NatsConnection, type NodeConnectionOptions } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connectionOptions } from "../../workers/nats-connection.ts";

export interface StoredMessage {
  seq: number;
  subject: string;
  msgId: string | undefined;
  contentType: string | undefined;
  data: Uint8Array;
}

/** A server URL (credentials in it are used, as the plugin uses them), or full connection options (TLS...). */
export type Server = string | NodeConnectionOptions;

export async function withConnection<T>(url: Server, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const reader = { waitOnFirstConnect: false, maxReconnectAttempts: 10 };
  const opts = typeof url === "string" ? { ...connectionOptions(url, 5000), ...reader } : url;
  const nc = await connect(opts);
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

export async function streamMessageCount(url: Server, stream: string): Promise<number> {
  return withConnection(url, async (nc) => (await (await jetstreamManager(nc)).streams.info(stream)).state.messages);
}

export async function readStream(url: Server, stream: string): Promise<StoredMessage[]> {
  return withConnection(url, async (nc) => {
    const total = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    const out: StoredMessage[] = [];
    if (total === 0) return out;
    const consumer = await jetstream(nc).consumers.get(stream);
    const iter = await consumer.consume({ max_messages: 10_000 });
    for await (const m of iter) {
      out.push({
        seq: m.seq,
        subject: m.subject,
        msgId: m.headers?.get("Nats-Msg-Id"),
        contentType: m.headers?.get("Content-Type"),
        data: m.data,
      });
      if (out.length >= total) break;
    }
    await iter.close();
    return out;
  });
}

/** Polls `fn` until it returns true or `timeoutMs` passes. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Reads the stream and checks that it holds events 0..n-1 (payload field `i`) exactly once each,
 * with unique envelope ids.
 */
export async function expectEachEventOnce(url: Server, stream: string, n: number): Promise<void> {
  const msgs = await readStream(url, stream);
  const seen = new Set<number>();
  const ids = new Set<string>();
  for (const m of msgs) {
    const env = JSON.parse(Buffer.from(m.data).toString()) as { id: string; payload: { i: number } };
    seen.add(env.payload.i);
    ids.add(env.id);
  }
  if (msgs.length !== n || seen.size !== n || ids.size !== n) {
    throw new Error(
      `stream ${stream}: ${msgs.length} messages, ${seen.size} distinct events, ${ids.size} distinct ids; expected ${n} of each`,
    );
  }
}
