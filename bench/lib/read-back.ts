// Reads a whole stream back with an ordered consumer (the consumer read-back scenario, and the
// check of what a paced run stored). JetStream stamps each stored message with the server's
// clock: that stamp is how the paced scenarios time "intended -> stored" for every mode alike.
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";

interface StoredMessage {
  data: Uint8Array;
  /** Server time the message was stored, epoch ms (sub-ms precision). */
  storedMs: number;
}

interface ReadBackResult {
  messages: number;
  bytes: number;
  seconds: number;
}

export async function readBack(
  url: string,
  stream: string,
  onMessage: (m: StoredMessage) => void,
  timeoutMs = 120_000,
): Promise<ReadBackResult> {
  const nc = await connect({ servers: url, noAsyncTraces: true });
  try {
    const total = (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
    const t0 = performance.now();
    let messages = 0;
    let bytes = 0;
    if (total > 0) {
      const consumer = await jetstream(nc).consumers.get(stream);
      const iter = await consumer.consume({ max_messages: 4096 });
      const timer = setTimeout(() => void iter.close(), timeoutMs);
      try {
        for await (const m of iter) {
          messages++;
          bytes += m.data.length;
          onMessage({ data: m.data, storedMs: m.info.timestampNanos / 1e6 });
          if (messages >= total) break;
        }
      } finally {
        clearTimeout(timer);
        await iter.close();
      }
    }
    return { messages, bytes, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await nc.close();
  }
}
