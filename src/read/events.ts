// Reading events: an ordered reader over the stream, the filters the server cannot apply, the
// envelope checks (a malformed message is reported and skipped), and the end of a bounded read.
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { Envelope } from "../envelope.ts";
import { decodeEnvelope, framedTs, isMsgpack, MalformedEvent } from "./decode.ts";
import { envelopeMatches, prefilterNeedles, sessionMatcher, subjectPlan, type EventFilter } from "./filter.ts";
import { OrderedReader, type Delivery, type StartAt } from "./ordered-reader.ts";

/**
 * Time windows are in event time (the envelope's ts, set at capture). The server positions a
 * reader by store time, which comes later (by milliseconds, or by an outage's length for events
 * spooled to disk) and may be on another clock: reads start this much before `since` and a bounded
 * read ends at the first event stored this much after `until`.
 */
export const STORE_SKEW_MS = 60_000;

export interface ReadConnection {
  nc: NatsConnection;
  jsm: JetStreamManager;
  /** The server takes several consumer filter subjects (NATS >= 2.10). */
  multipleFilters: boolean;
}

export async function readConnection(nc: NatsConnection): Promise<ReadConnection> {
  const [major = 0, minor = 0] = (nc.info?.version ?? "0.0.0").split(".").map(Number);
  return { nc, jsm: await jetstreamManager(nc), multipleFilters: major > 2 || (major === 2 && minor >= 10) };
}

export class StoredEvent {
  readonly seq: number;
  /** When the stream stored it (epoch ms). */
  readonly storedMs: number;
  /** Event time (the envelope's ts). */
  readonly ts: number;
  readonly msg: Msg;
  /** The envelope (always set when the read asked for envelopes). */
  readonly env: Envelope | undefined;

  constructor(seq: number, storedMs: number, ts: number, msg: Msg, env: Envelope | undefined) {
    this.seq = seq;
    this.storedMs = storedMs;
    this.ts = ts;
    this.msg = msg;
    this.env = env;
  }

  /** Made from the message's bytes when asked for (a replay to NDJSON never needs it). */
  get subject(): string {
    return this.msg.subject;
  }
}

export interface MalformedMessage {
  seq: number;
  subject: string;
  reason: string;
}

interface ReadSpec {
  stream: string;
  prefix: string;
  filter: EventFilter;
  /** Default: STORE_SKEW_MS before filter.since, else the first message. */
  start?: StartAt;
  /** A bounded read ends after this stream sequence (e.g. the last one when the read began). */
  endSeq?: number;
  /** Keep reading new events instead of ending when caught up. */
  follow?: boolean;
  /** End after this many events. */
  limit?: number;
  /** End after looking at this many messages, matching or not (a guard for reads on a gateway's thread). */
  scanLimit?: number;
  /** "envelope": decode every event; "checked": JSON bodies in the plugin's layout are only checked. */
  decode: "envelope" | "checked";
  onEvent: (e: StoredEvent) => void;
  onMalformed?: (m: MalformedMessage) => void;
}

interface ReadSummary {
  events: number;
  malformed: number;
  /** Messages looked at (matching or not). */
  scanned: number;
  /** Stream sequence of the last message looked at. */
  lastSeq: number;
  /** Ended by limit or scanLimit while more messages were pending. */
  cut: boolean;
  resets: number;
}

function includesAll(data: Uint8Array, needles: Buffer[]): boolean {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (const n of needles) if (b.indexOf(n) < 0) return false;
  return true;
}

/** A read in progress: start() it, await done; pause()/resume() hold delivery back (flow control). */
export class EventRead {
  private readonly spec: ReadSpec;
  private readonly reader: OrderedReader;
  private readonly accept: ((subject: string) => boolean) | undefined;
  private readonly needles: { json: Buffer[]; raw: Buffer[] };
  private readonly session: ((s: string) => boolean) | undefined;
  /** Filters only the envelope can answer (beyond the time window). */
  private readonly needEnvelope: boolean;
  private readonly summary: ReadSummary = { events: 0, malformed: 0, scanned: 0, lastSeq: 0, cut: false, resets: 0 };
  private finished = false;
  readonly done: Promise<ReadSummary>;

  constructor(conn: ReadConnection, spec: ReadSpec) {
    this.spec = spec;
    const f = spec.filter;
    const plan = subjectPlan(spec.prefix, f, conn.multipleFilters);
    this.accept = plan.accept;
    this.needles = prefilterNeedles(f);
    this.session = f.session !== undefined ? sessionMatcher(f.session) : undefined;
    this.needEnvelope = spec.decode === "envelope" || f.session !== undefined || f.runId !== undefined;
    const start = spec.start ?? (f.since !== undefined ? { time: f.since - STORE_SKEW_MS } : "all");
    this.reader = new OrderedReader(conn.nc, conn.jsm, { stream: spec.stream, filters: plan.filters, start }, (d) =>
      this.receive(d),
    );
    this.done = this.reader.done.then(() => ({ ...this.summary, resets: this.reader.resets }));
  }

  /** Creates the consumer; resolves with how many messages it has to look at (now). */
  async start(): Promise<number> {
    const pending = await this.reader.start();
    if (pending === 0 && !this.spec.follow) await this.finish(false);
    return pending;
  }

  /** Messages looked at so far (for progress). */
  get progress(): number {
    return this.spec.limit !== undefined ? this.summary.events : this.summary.scanned;
  }

  pause(): void {
    this.reader.pause();
  }

  resume(): void {
    this.reader.resume();
  }

  stop(): Promise<void> {
    return this.finish(false);
  }

  private finish(cut: boolean): Promise<void> {
    if (this.finished) return this.reader.done.catch(() => undefined);
    this.finished = true;
    this.summary.cut = cut;
    return this.reader.stop();
  }

  private receive(d: Delivery): void {
    if (this.finished) return;
    const s = this.spec;
    const sum = this.summary;
    if (s.endSeq !== undefined && d.seq > s.endSeq) {
      void this.finish(false);
      return;
    }
    sum.scanned++;
    sum.lastSeq = d.seq;
    this.consider(d);
    const more = d.pending > 0 && (s.endSeq === undefined || d.seq < s.endSeq);
    if (this.finished) return;
    if (!s.follow && (!more || (s.filter.until !== undefined && d.storedMs > s.filter.until + STORE_SKEW_MS))) {
      void this.finish(false);
    } else if (
      (s.limit !== undefined && sum.events >= s.limit) ||
      (s.scanLimit !== undefined && sum.scanned >= s.scanLimit)
    ) {
      void this.finish(more);
    }
  }

  private consider(d: Delivery): void {
    const m = d.msg;
    if (this.accept !== undefined && !this.accept(m.subject)) return;
    const data = m.data;
    const f = this.spec.filter;
    if (this.needles.json.length > 0 && !includesAll(data, isMsgpack(data) ? this.needles.raw : this.needles.json))
      return;
    let ts = -1;
    let env: Envelope | undefined;
    try {
      if (!this.needEnvelope) ts = framedTs(data);
      if (ts < 0) {
        env = decodeEnvelope(data);
        ts = env.ts;
      }
    } catch (e) {
      if (!(e instanceof MalformedEvent)) throw e;
      this.summary.malformed++;
      this.spec.onMalformed?.({ seq: d.seq, subject: m.subject, reason: e.message });
      return;
    }
    if (f.since !== undefined && ts < f.since) return;
    if (f.until !== undefined && ts > f.until) return;
    if (env !== undefined && (this.session || f.runId !== undefined) && !envelopeMatches(env, f, this.session)) return;
    this.summary.events++;
    this.spec.onEvent(new StoredEvent(d.seq, d.storedMs, ts, m, env));
  }
}

/** Reads to the end (or the limit) and returns the summary; the events go to spec.onEvent. */
export async function readAll(conn: ReadConnection, spec: ReadSpec): Promise<ReadSummary> {
  const r = new EventRead(conn, spec);
  await r.start();
  return r.done;
}
