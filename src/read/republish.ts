// Re-publishing replayed events with their original headers (Nats-Msg-Id, Content-Type) and
// bytes, to {target prefix}.{agent}.{type}. Into a stream, each event waits for its ack in a
// bounded window (the plugin's inbox-ack publisher); the same id means a stream that already holds
// the event stores it once (within its duplicate window).
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import { InboxPublisher } from "../../workers/inbox-publisher.ts";
import { ACK_DUPLICATE, ACK_ERROR, describeNak } from "../../workers/pub-ack.ts";
import { decodeEnvelope } from "./decode.ts";
import type { StoredEvent } from "./events.ts";

class RepublishError extends Error {}

interface RepublishCounts {
  published: number;
  /** Acked by the target stream (new or duplicate). */
  acked: number;
  duplicates: number;
  failed: number;
  lastError?: string;
}

const MAX_IN_FLIGHT = 4096;
const MAX_ATTEMPTS = 3;
const ACK_WAIT_MS = 30_000;
const CORE_FLUSH_EVERY = 8192;

/** The header block of a delivered message as it was stored (nats.js keeps the raw bytes). */
function storedHeaders(m: Msg): Uint8Array | undefined {
  const raw = m as unknown as { _rdata?: Uint8Array; _msg?: { hdr?: number } };
  const hdr = raw._msg?.hdr ?? -1;
  if (raw._rdata && hdr > 0) return raw._rdata.subarray(0, hdr);
  return undefined;
}

/** The subject prefix a stream captures: its one subject of the form <prefix>.>. */
export async function streamPrefix(jsm: JetStreamManager, stream: string): Promise<string> {
  const subjects = (await jsm.streams.info(stream)).config.subjects ?? [];
  const wide = subjects.filter((s) => s.endsWith(".>"));
  if (subjects.length !== 1 || wide.length !== 1) {
    throw new RepublishError(
      `stream ${stream} captures ${subjects.join(", ") || "no subjects"}; ` +
        "give --to-subject <prefix> for the subjects to publish to",
    );
  }
  return wide[0].slice(0, -2);
}

interface Pending {
  subject: string;
  headers: Uint8Array;
  body: Uint8Array;
  attempts: number;
  sentAt: number;
}

export class Republisher {
  private readonly nc: NatsConnection;
  private readonly from: string;
  private readonly to: string;
  private readonly pub: InboxPublisher | undefined;
  private readonly pending = new Map<number, Pending>();
  private token = 0;
  private sweep: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;
  readonly counts: RepublishCounts = { published: 0, acked: 0, duplicates: 0, failed: 0 };
  /** Called when the window is full (pause the reader) and when it has room again. */
  onFull: (() => void) | undefined;
  onRoom: (() => void) | undefined;

  /** `toStream`: wait for that stream's acks; otherwise publish on core NATS. */
  constructor(nc: NatsConnection, fromPrefix: string, toPrefix: string, toStream?: string) {
    this.nc = nc;
    this.from = fromPrefix;
    this.to = toPrefix;
    if (toStream !== undefined) {
      this.pub = new InboxPublisher(nc, toStream, (token, kind, reply) => this.ack(token, kind, reply));
      this.sweep = setInterval(() => this.retryLate(), 1000);
      this.sweep.unref();
    }
  }

  get inFlight(): number {
    return this.pending.size;
  }

  publish(e: StoredEvent): void {
    const m = e.msg;
    const subject = this.to + e.subject.slice(this.from.length);
    let headers = storedHeaders(m);
    if (headers === undefined) {
      // Published without headers (not by the plugin): the envelope id becomes the message id.
      const id = (e.env ?? decodeEnvelope(m.data)).id;
      headers = Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${id}\r\n\r\n`);
    }
    this.counts.published++;
    if (!this.pub) {
      this.nc.publish(subject, m.data, { headers: { encode: () => headers } as never });
      if (this.counts.published % CORE_FLUSH_EVERY === 0) {
        this.onFull?.();
        void this.nc.flush().then(() => this.onRoom?.());
      }
      return;
    }
    const p: Pending = { subject, headers, body: m.data, attempts: 1, sentAt: Date.now() };
    const token = this.token++;
    this.pending.set(token, p);
    this.pub.publish(subject, headers, p.body, token);
    if (this.pending.size === MAX_IN_FLIGHT) this.onFull?.();
  }

  private ack(token: number, kind: number, reply: Msg): void {
    const p = this.pending.get(token);
    if (!p) return; // a late ack of a message already retried and acked
    if (kind === ACK_ERROR) {
      this.counts.lastError = describeNak(reply);
      this.retry(token, p);
      return;
    }
    this.pending.delete(token);
    this.counts.acked++;
    if (kind === ACK_DUPLICATE) this.counts.duplicates++;
    this.settled();
  }

  private retry(token: number, p: Pending): void {
    this.pending.delete(token);
    if (p.attempts >= MAX_ATTEMPTS) {
      this.counts.failed++;
      this.settled();
      return;
    }
    p.attempts++;
    p.sentAt = Date.now();
    const next = this.token++;
    this.pending.set(next, p);
    this.pub!.publish(p.subject, p.headers, p.body, next);
  }

  private retryLate(): void {
    const now = Date.now();
    for (const [token, p] of this.pending) {
      if (now - p.sentAt > ACK_WAIT_MS) {
        this.counts.lastError = `no ack within ${ACK_WAIT_MS / 1000} s`;
        this.retry(token, p);
      }
    }
  }

  private settled(): void {
    if (this.pending.size === MAX_IN_FLIGHT / 2) this.onRoom?.();
    if (this.pending.size === 0) this.idle?.();
  }

  /** Waits for every ack (or flushes core publishes); returns the counts. */
  async finish(): Promise<RepublishCounts> {
    if (this.pending.size > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    clearInterval(this.sweep);
    await this.nc.flush();
    return this.counts;
  }
}
