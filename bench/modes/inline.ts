// The seed plugin's way, on the host's event loop: build the envelope, JSON.stringify it and
// `js.publish()` it (a JetStream request per event, no Nats-Msg-Id), awaited with a timeout race
// exactly as the seed's NatsClient.publish() does. The hook fires that promise and forgets it;
// a closed-loop caller awaits it. Connection options are the seed's (client defaults otherwise).
import { connect } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { seedEnvelope, seedSubject, type BenchEvent } from "../lib/events.ts";
import { recordMs } from "../lib/latency.ts";
import type { RunSpec } from "../lib/types.ts";
import { more, waitUntil, OnLoopMode, type BenchMode, type Limit, type Prepared } from "./mode.ts";

/** The seed's publishTimeoutMs default. */
const PUBLISH_TIMEOUT_MS = 5000;

export class InlineMode extends OnLoopMode implements BenchMode {
  readonly name = "inline" as const;
  readonly notes: string[] = [];
  private readonly spec: RunSpec;
  private js: JetStreamClient | undefined;
  private outstanding = 0;
  private lastError = "";

  constructor(spec: RunSpec) {
    super();
    this.spec = spec;
  }

  async open(): Promise<void> {
    const u = new URL(this.spec.url);
    this.nc = await connect({
      servers: `${u.hostname}:${u.port || 4222}`,
      reconnect: true,
      maxReconnectAttempts: -1,
      timeout: 5000,
    });
    this.js = jetstream(this.nc);
  }

  prepare(events: BenchEvent[]): Prepared {
    return { events };
  }

  /** The seed's NatsClient.publish(subject, data): never throws, resolves false on failure. */
  private async publish(subject: string, data: string): Promise<boolean> {
    try {
      const publishPromise = this.js!.publish(subject, data);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        publishPromise,
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Publish timeout after ${PUBLISH_TIMEOUT_MS}ms`)),
            PUBLISH_TIMEOUT_MS,
          );
        }),
      ]).finally(() => clearTimeout(timer));
      return true;
    } catch (e) {
      this.lastError = String(e);
      return false;
    }
  }

  /** One hook call: envelope + JSON + publish, timed on the host thread; resolves once acked or failed. */
  private send(src: Prepared, n: number): Promise<void> {
    const e = src.events[n % src.events.length];
    const s = this.s;
    const t0 = performance.now();
    const p = this.publish(seedSubject(this.spec.subjectPrefix, e), JSON.stringify(seedEnvelope(e)));
    s.hostMs += performance.now() - t0;
    s.hostSpans++;
    s.hostEvents++;
    s.sent++;
    this.outstanding++;
    return p.then((ok) => {
      this.outstanding--;
      if (ok) {
        this.s.acked++;
        recordMs(this.hist, performance.now() - t0);
      } else this.s.errors++;
    });
  }

  async closed(src: Prepared, callers: number | "full", limit: Limit): Promise<void> {
    const n = callers === "full" ? this.spec.inlineFullCallers : callers;
    let next = 0;
    const caller = async () => {
      while (more(next, limit)) await this.send(src, next++);
    };
    await Promise.all(Array.from({ length: n }, caller));
  }

  fire(src: Prepared, i: number): void {
    void this.send(src, i);
  }

  async settle(timeoutMs: number): Promise<boolean> {
    const ok = await waitUntil(() => this.outstanding === 0, timeoutMs);
    if (this.lastError && !this.notes.includes(this.lastError)) this.notes.push(`last error: ${this.lastError}`);
    return ok;
  }
}
