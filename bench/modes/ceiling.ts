// The ceiling: a bare inbox-ack publisher on the host thread, with nothing around it. It uses the
// plugin's own publishing engine (InboxPublisher: core publish with a reply inbox, one wildcard
// subscription for the PubAcks) on envelopes and Nats-Msg-Id headers encoded before the clock
// starts. The gap between it and the offloaded mode is what capture, the ring, the worker hop and
// envelope building cost.
import { randomBytes } from "node:crypto";
import { connect } from "@nats-io/transport-node";
import { InboxPublisher } from "../../workers/inbox-publisher.ts";
import { ACK_ERROR } from "../../workers/pub-ack.ts";
import { connectionOptions } from "../../workers/nats-connection.ts";
import { seedEnvelope, seedSubject, type BenchEvent } from "../lib/events.ts";
import { recordMs } from "../lib/latency.ts";
import type { RunSpec } from "../lib/types.ts";
import { more, waitUntil, OnLoopMode, type BenchMode, type Limit, type Prepared } from "./mode.ts";

interface Encoded extends Prepared {
  subjects: string[];
  headers: Buffer[];
  bodies: Buffer[];
}

const SLOTS = 1 << 17; // > any window; token -> send time

export class CeilingMode extends OnLoopMode implements BenchMode {
  readonly name = "ceiling" as const;
  readonly notes: string[] = [];
  private readonly spec: RunSpec;
  private pub: InboxPublisher | undefined;
  private readonly sentAt = new Float64Array(SLOTS);
  private token = 0;
  private inFlight = 0;
  private window = 1;
  private pumpScheduled = false;
  private pumpFn: (() => void) | undefined;
  /** Paced events waiting for a free slot in the window. */
  private readonly queue: { src: Encoded; i: number }[] = [];
  private queueHead = 0;
  /** Unique ids for events sent beyond the pre-encoded ones (duration-based runs cycle the list). */
  private readonly idBase = randomBytes(12).toString("hex");

  constructor(spec: RunSpec) {
    super();
    this.spec = spec;
  }

  async open(): Promise<void> {
    this.nc = await connect(connectionOptions(this.spec.url, 10_000));
    this.pub = new InboxPublisher(this.nc, this.spec.stream, (token, kind) => this.onAck(token, kind));
    await this.nc.flush();
  }

  prepare(events: BenchEvent[]): Encoded {
    const subjects: string[] = [];
    const headers: Buffer[] = [];
    const bodies: Buffer[] = [];
    for (const e of events) {
      const env = seedEnvelope(e);
      subjects.push(seedSubject(this.spec.subjectPrefix, e));
      bodies.push(Buffer.from(JSON.stringify(env)));
      headers.push(Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${env.id}\r\n\r\n`));
    }
    return { events, subjects, headers, bodies };
  }

  private send(src: Encoded, n: number): void {
    const len = src.bodies.length;
    const i = n % len;
    // Past the pre-encoded list (duration-based runs) each message still needs its own id.
    const header = n < len ? src.headers[i] : Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${this.idBase}${n}\r\n\r\n`);
    const token = this.token++;
    const t0 = performance.now();
    this.sentAt[token & (SLOTS - 1)] = t0;
    this.pub!.publish(src.subjects[i], header, src.bodies[i], token);
    const s = this.s;
    s.hostMs += performance.now() - t0;
    s.hostSpans++;
    s.hostEvents++;
    s.sent++;
    this.inFlight++;
  }

  private onAck(token: number, kind: number): void {
    this.inFlight--;
    if (kind === ACK_ERROR) this.s.errors++;
    else {
      this.s.acked++;
      recordMs(this.hist, performance.now() - this.sentAt[token & (SLOTS - 1)]);
    }
    if (!this.pumpScheduled) {
      this.pumpScheduled = true;
      queueMicrotask(this.pump);
    }
  }

  private readonly pump = (): void => {
    this.pumpScheduled = false;
    while (this.queueHead < this.queue.length && this.inFlight < this.window) {
      const q = this.queue[this.queueHead++];
      this.send(q.src, q.i);
    }
    if (this.queueHead > 4096 && this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
    this.pumpFn?.();
  };

  closed(src: Prepared, callers: number | "full", limit: Limit): Promise<void> {
    const enc = src as Encoded;
    this.window = callers === "full" ? this.spec.maxInFlight : callers;
    let next = 0;
    return new Promise((resolve) => {
      this.pumpFn = () => {
        while (this.inFlight < this.window) {
          if (!more(next, limit)) {
            this.pumpFn = undefined;
            resolve();
            return;
          }
          this.send(enc, next++);
        }
      };
      this.pumpFn();
    });
  }

  fire(src: Prepared, i: number): void {
    this.window = this.spec.maxInFlight;
    if (this.inFlight < this.window && this.queueHead === this.queue.length) this.send(src as Encoded, i);
    else this.queue.push({ src: src as Encoded, i });
  }

  settle(timeoutMs: number): Promise<boolean> {
    return waitUntil(() => this.inFlight === 0 && this.queueHead === this.queue.length, timeoutMs);
  }
}
