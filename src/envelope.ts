// The message every event becomes in the stream: the seed plugin's envelope, unchanged. The
// publisher worker builds it from a ring record (workers/envelope.ts); the read side decodes it.

/** The message consumers receive (JSON, or MessagePack with encoding "msgpack"): the seed's envelope. */
export interface Envelope {
  /** UUIDv7, also sent as the Nats-Msg-Id header. */
  id: string;
  /** Capture time, epoch milliseconds. */
  ts: number;
  agent: string;
  session: string;
  type: string;
  payload: Record<string, unknown>;
}
