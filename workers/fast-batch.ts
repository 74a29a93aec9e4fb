// Fast batch publishing ("fast ingest", nats-server 2.14+, JetStream API level 4): the records go out
// as core publishes whose reply subject carries the batch's control information,
//   <inbox>.<batchId>.<flow>.fail.<batchSeq>.<op>.$FI      (op 0 start, 1 append, 3 end of batch)
// and the server answers with one flow ack per `msgs` persisted records ({"type":"ack","seq":X,...}:
// batch seqs <= X are stored) instead of one PubAck per record, and with a commit PubAck
// ({"stream":...,"seq":N,"batch":...,"count":C}) for the end of the batch. That saves the client a
// reply (and its parse) per record.
//
// Guarantees are those of the inbox path: a record counts as stored only when a reply says so, and
// gap=fail makes "stored up to X" cover every batch seq up to X, so the window still releases
// contiguously. Whatever ends a batch early (an error, a gap, a batch the server no longer knows after
// a restart, a reconnect, no reply within publishTimeoutMs) hands its unconfirmed records back to the
// caller, which publishes them again in a new batch with the same Nats-Msg-Id: the server skips the
// ones it already has. A batch id and its seqs are never used twice. The end of batch (op 3) is sent
// only after the server has answered this batch as a fast batch: an older server would store it as an
// empty message. When the server turns out not to run fast batch (a plain PubAck, "batch publish is
// disabled", a reconnect to an older server), this publisher falls back to InboxPublisher for good.
//
// Duplicates: the server skips a record it already has without saying so, so `duplicates` stays 0 on
// this path; such records are counted as acked (they are in the stream), as on the inbox path.
import { type Msg, type MsgHdrs, type NatsConnection, createInbox, nuid } from "@nats-io/transport-node";
import type { JetStreamManager } from "@nats-io/jetstream";
import { ACK_DUPLICATE, ACK_OK, type AckKind } from "./pub-ack.ts";
import { type AckHandler, InboxPublisher } from "./inbox-publisher.ts";
import type { PublishMode } from "../src/config.ts";

/** JetStream API level of the first server with fast batch publishing (2.14.0). */
export const FAST_BATCH_API_LEVEL = 4;
/** The server grants at most 500 records per flow ack whatever is asked for. */
const MAX_FLOW = 500;
/** Records a batch may have unconfirmed, in flow acks (ADR-50 recommends 2). */
const OUTSTANDING_ACKS = 2;
/** Errors that mean the stream or server does not take fast batches at all: use the inbox path. */
const ERR_DISABLED = 10205;
const ERR_API_LEVEL = 10185;

/** What a reply subject of ours says: the batch, the batch seq and op of the message it answers. */
export interface FastSubject {
  batch: string;
  seq: number;
  op: number;
}

/**
 * Reads `<prefix><batchId>.<flow>.<gap>.<seq>.<op>.$FI` (prefixLength = length of `<prefix>`, which ends
 * with a dot); undefined for anything else.
 */
export function parseFastSubject(subject: string, prefixLength: number): FastSubject | undefined {
  if (subject.length <= prefixLength + 4 || !subject.endsWith(".$FI")) return undefined;
  const parts = subject.slice(prefixLength, -4).split(".");
  if (parts.length !== 5 || parts[0] === "") return undefined;
  const seq = decimal(parts[3]);
  const op = decimal(parts[4]);
  if (seq < 0 || op < 0 || op > 4) return undefined;
  return { batch: parts[0], seq, op };
}

/** A canonical non-negative decimal integer below 2^53, or -1. */
function decimal(s: string): number {
  if (s.length === 0 || s.length > 15 || (s.length > 1 && s.charCodeAt(0) === 0x30)) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** A server reply on a fast-batch reply subject. */
export type FastReply =
  /** Batch seqs <= seq are stored; `msgs` is the next ack interval (the start's reply has seq 0). */
  | { t: "flow"; seq: number; msgs: number }
  /** Seqs from lastSeq up to (not including) seq were lost; with gap=fail the batch ends. */
  | { t: "gap"; lastSeq: number; seq: number }
  /** The record at batch seq `seq` failed; with gap=fail the batch ends. */
  | { t: "err"; seq: number; code: number; description: string }
  /** The batch is committed: batch seqs <= count are handled; seq is the last stored stream seq (0: all duplicates). */
  | { t: "commit"; batch: string; seq: number; count: number; duplicate: boolean }
  /** An error PubAck (e.g. 10208 batch unknown after a server restart, 10205 disabled). */
  | { t: "error"; code: number; description: string }
  /** A plain PubAck: the server stored the message as an ordinary one (it does not run fast batch). */
  | { t: "pubAck"; seq: number; duplicate: boolean }
  /** A status without data (503: no stream listens on the subject). */
  | { t: "status"; code: number; description: string }
  /** Not a reply of this stream's. */
  | { t: "foreign" };

const FOREIGN: FastReply = { t: "foreign" };
const nonNegative = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Reads a reply; only replies naming `stream` (or carrying no stream name: flow control) count. */
export function parseFastReply(reply: Pick<Msg, "data" | "headers">, stream: string): FastReply {
  const d = reply.data;
  if (d.length === 0) {
    const code = reply.headers?.code ?? 0;
    return code >= 300 ? { t: "status", code, description: reply.headers?.description ?? "" } : FOREIGN;
  }
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("utf8"));
  } catch {
    return FOREIGN;
  }
  if (typeof r !== "object" || r === null || Array.isArray(r)) return FOREIGN;
  const err = r.error as { err_code?: unknown; code?: unknown; description?: unknown } | undefined;
  const code = (e: typeof err) => (nonNegative(e?.err_code) ? e.err_code : nonNegative(e?.code) ? e.code : 0);
  const text = (e: typeof err) => (typeof e?.description === "string" ? e.description.slice(0, 200) : "error");
  switch (r.type) {
    case "ack":
      return nonNegative(r.seq) && nonNegative(r.msgs) ? { t: "flow", seq: r.seq, msgs: r.msgs } : FOREIGN;
    case "gap":
      return nonNegative(r.last_seq) && nonNegative(r.seq) ? { t: "gap", lastSeq: r.last_seq, seq: r.seq } : FOREIGN;
    case "err":
      if (!nonNegative(r.seq) || typeof err !== "object" || err === null) return FOREIGN;
      return { t: "err", seq: r.seq, code: code(err), description: text(err) };
    case undefined:
      break;
    default:
      return FOREIGN;
  }
  if (typeof err === "object" && err !== null) return { t: "error", code: code(err), description: text(err) };
  if (r.stream !== stream || !nonNegative(r.seq)) return FOREIGN;
  const duplicate = r.duplicate === true;
  if (typeof r.batch === "string") {
    return nonNegative(r.count) ? { t: "commit", batch: r.batch, seq: r.seq, count: r.count, duplicate } : FOREIGN;
  }
  return r.seq >= 1 ? { t: "pubAck", seq: r.seq, duplicate } : FOREIGN;
}

/** What a failed batch's reply says, for a log line. */
export function describeFastFailure(r: FastReply): string {
  switch (r.t) {
    case "gap":
      return `the server lost batch records ${r.lastSeq}..${r.seq - 1}`;
    case "err":
    case "error":
      return `${r.description}${r.code ? ` (err_code ${r.code})` : ""}`;
    case "status":
      return r.code === 503 ? "no stream answers on this subject (503)" : `status ${r.code} ${r.description}`.trim();
    default:
      return "unexpected reply";
  }
}

/** Whether the server and stream take fast batches, and why not. */
export interface FastBatchSupport {
  ok: boolean;
  /** Why not (or the server that takes them), for the log and status. */
  why: string;
}

/**
 * Detection: the server says JetStream API level >= 4 (nats-server 2.14+) in its INFO, and the stream
 * has (or is updated to have) `allow_batched: true`, which the server echoes back. A server before
 * 2.12 has no api_lvl and would drop the field silently, 2.12 would refuse it: neither is asked.
 */
export async function detectFastBatch(
  nc: Pick<NatsConnection, "info">,
  jsm: JetStreamManager,
  stream: string,
): Promise<FastBatchSupport> {
  const level = nc.info?.api_lvl;
  const server = `nats-server ${nc.info?.version ?? "(unknown version)"}`;
  if (level === undefined || level < FAST_BATCH_API_LEVEL) {
    return {
      ok: false,
      why: `${server} has no fast batch publishing (JetStream API level ${level ?? "unknown"}; it needs 2.14+)`,
    };
  }
  try {
    let cfg = (await jsm.streams.info(stream)).config;
    // update() sends the stream's whole current config with the change, so nothing else is reset.
    if (cfg.allow_batched !== true) cfg = (await jsm.streams.update(stream, { allow_batched: true })).config;
    if (cfg.allow_batched !== true) return { ok: false, why: `stream ${stream} did not keep allow_batched` };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    return { ok: false, why: `stream ${stream} could not be set to allow fast batches (${why.slice(0, 200)})` };
  }
  return { ok: true, why: server };
}

/** What the owner of the window hears from a FastBatchPublisher besides acks. */
export interface FastBatchHandler {
  /** Stored records (kind ACK_OK, or ACK_DUPLICATE when the server says so), and replies of the inbox fallback. */
  onAck: AckHandler;
  /**
   * The batch ended before these records (tokens, in publish order) were confirmed: publish them again.
   * `refusal` is the reply when the server refused (back off before retrying), undefined for a lost
   * connection or a time-out (retry now).
   */
  onUnconfirmed(tokens: number[], why: string, refusal: Msg | undefined): void;
  /** The server does not take fast batches after all: publishing goes on with per-record acks. */
  onFallback(why: string): void;
  /**
   * A reply or a time-out may have made room for more records (room()): publish on. Acks of records no
   * longer in the window (moved to the spool meanwhile) do not say so through onAck.
   */
  onRoom(): void;
}

class Batch {
  readonly id: string;
  /** `<inbox>.<id>.<flow>.fail.` */
  readonly replyPrefix: string;
  /** Last batch seq sent (the end of batch excluded). */
  seq = 0;
  /** Batch seqs up to here are confirmed stored. */
  acked = 0;
  /** The server's ack interval. */
  grant: number;
  /** The server answered as a fast batch: an end of batch is safe to send. */
  confirmed = false;
  /** Nothing more to send for now: end the batch once it is confirmed. */
  wantEnd = false;
  /** The end of batch was sent. */
  ending = false;
  /** When the batch last made progress (or got unconfirmed records while it had none). */
  progressAt: number;
  /** The token of batch seq acked+1+k is tokens[head+k]. */
  tokens: number[] = [];
  head = 0;
  lastSubject = "";

  constructor(id: string, replyPrefix: string, flow: number, now: number) {
    this.id = id;
    this.replyPrefix = replyPrefix;
    this.grant = flow;
    this.progressAt = now;
  }

  unconfirmed(): number[] {
    return this.tokens.slice(this.head);
  }
}

export interface FastBatchOptions {
  /** Upper bound of the ack interval asked for (the server grants at most 500). */
  flow: number;
  /** No reply for this long while records wait: the batch is given up and its records go again. */
  timeoutMs: number;
  now: () => number;
}

/** Counters of this publisher (not shared: the worker reports what it needs). */
export interface FastBatchStats {
  batches: number;
  flowAcks: number;
  commits: number;
  /** Batches ended early (error, gap, time-out, reconnect). */
  failedBatches: number;
  /** Replies for batches already given up (e.g. the per-record errors after a gap), ignored. */
  stale: number;
}

export class FastBatchPublisher {
  readonly stats: FastBatchStats = { batches: 0, flowAcks: 0, commits: 0, failedBatches: 0, stale: 0 };
  private readonly nc: NatsConnection;
  private readonly stream: string;
  private readonly handler: FastBatchHandler;
  private readonly fallback: InboxPublisher;
  private readonly opts: FastBatchOptions;
  private readonly inbox: string;
  private readonly prefixLength: number;
  /** Batch ids are <idBase><counter in base 36>: an id of ours that is not live is a stale one. */
  private readonly idBase: string;
  private nextId = 0;
  private fast = false;
  private ownForeign = 0;
  private open: Batch | undefined;
  private readonly live = new Map<string, Batch>();
  private headerBytes: Uint8Array = new Uint8Array(0);
  private readonly pubOpts: { reply: string; headers: MsgHdrs };
  private readonly endOpts = { reply: "" };

  constructor(nc: NatsConnection, stream: string, handler: FastBatchHandler, opts: FastBatchOptions) {
    this.nc = nc;
    this.stream = stream;
    this.handler = handler;
    this.opts = { ...opts, flow: Math.max(1, Math.min(MAX_FLOW, Math.floor(opts.flow))) };
    this.fallback = new InboxPublisher(nc, stream, handler.onAck);
    this.inbox = createInbox();
    this.prefixLength = this.inbox.length + 1;
    this.idBase = nuid.next();
    this.pubOpts = { reply: "", headers: { encode: () => this.headerBytes } as unknown as MsgHdrs };
    // Multi-token reply subjects: one subscription for every batch of this publisher.
    nc.subscribe(`${this.inbox}.>`, {
      callback: (err, msg) => {
        if (!err) this.onReply(msg);
      },
    });
  }

  /** The path in use. */
  get mode(): PublishMode {
    return this.fast ? "fast-batch" : "inbox";
  }

  /** Replies that were not ours (forged, malformed, another stream's), on either path. */
  get foreign(): number {
    return this.ownForeign + this.fallback.foreign;
  }

  /** Turns fast batches on (detection passed) or off; records of live batches go again (on the new path). */
  use(fast: boolean): void {
    if (fast === this.fast) return;
    this.fast = fast;
    if (!fast) this.endAll("fast batch publishing turned off");
  }

  /** Publishes a record (again, for a retry): its confirmation comes back to onAck(token). */
  publish(subject: string, headers: Uint8Array, body: Uint8Array, token: number): void {
    if (!this.fast) {
      this.fallback.publish(subject, headers, body, token);
      return;
    }
    const b = this.open ?? this.start();
    const seq = b.seq + 1;
    this.headerBytes = headers;
    this.pubOpts.reply = `${b.replyPrefix}${seq}${seq === 1 ? ".0.$FI" : ".1.$FI"}`;
    // May throw (payload over max_payload, connection closed): then nothing was sent and the seq is unused.
    this.nc.publish(subject, body, this.pubOpts);
    if (b.seq === b.acked) b.progressAt = this.opts.now(); // time-outs count from the first unconfirmed record
    b.seq = seq;
    b.tokens.push(token);
    b.lastSubject = subject;
    b.wantEnd = false;
  }

  /**
   * False while the open batch has as many records unconfirmed as flow control allows: two of the
   * server's ack intervals, and never fewer than the interval asked for. The server does not enforce
   * its interval (2.15.3 only paces its acks by it), and a batch that starts while another one of the
   * stream is still committing (ours, after every burst) is granted 1 and doubles per ack: without
   * the floor, each burst would crawl up from one record per round trip.
   */
  room(): boolean {
    const b = this.open;
    return b === undefined || b.seq - b.acked < Math.max(OUTSTANDING_ACKS * b.grant, this.opts.flow);
  }

  /**
   * Nothing more to publish for now (or the window is full): end the open batch, so that its last
   * records are confirmed by the commit rather than wait for a flow ack that needs more records.
   */
  drained(): void {
    const b = this.open;
    if (b === undefined || b.seq === 0) return;
    if (b.confirmed) this.end(b);
    else b.wantEnd = true; // once the server has answered the start
  }

  /** Every sweep: gives up batches that have not answered for timeoutMs. */
  sweep(now: number): void {
    for (const b of this.live.values()) {
      if (now - b.progressAt < this.opts.timeoutMs) continue;
      if (b.seq > b.acked) {
        this.fail(b, `no reply to fast batch records within ${this.opts.timeoutMs} ms`, undefined);
        this.handler.onRoom();
      } else if (b.ending) this.drop(b); // all confirmed; the commit reply is merely late
    }
  }

  /**
   * After a reconnect the client has dropped what it had buffered and the server may have lost its
   * batches: every live batch is given up (the caller publishes all unacked records again). A server
   * without fast batches (a cluster of mixed versions) means the inbox path from here on.
   */
  reconnected(): void {
    for (const b of [...this.live.values()]) this.drop(b);
    const level = this.nc.info?.api_lvl ?? 0;
    if (this.fast && level < FAST_BATCH_API_LEVEL) {
      this.fast = false;
      this.handler.onFallback(
        `reconnected to nats-server ${this.nc.info?.version ?? "?"} without fast batch publishing (API level ${level})`,
      );
    }
  }

  private start(): Batch {
    const id = `${this.idBase}${(this.nextId++).toString(36)}`;
    const b = new Batch(id, `${this.inbox}.${id}.${this.opts.flow}.fail.`, this.opts.flow, this.opts.now());
    this.live.set(id, b);
    this.open = b;
    this.stats.batches++;
    return b;
  }

  /** Sends the end of batch (op 3, not stored): the commit reply confirms the records not yet covered by a flow ack. */
  private end(b: Batch): void {
    this.endOpts.reply = `${b.replyPrefix}${b.seq + 1}.3.$FI`;
    this.nc.publish(b.lastSubject, undefined, this.endOpts); // a throw leaves the batch open: ended next time
    b.ending = true;
    b.wantEnd = false;
    if (this.open === b) this.open = undefined;
  }

  private onReply(msg: Msg): void {
    const s = parseFastSubject(msg.subject, this.prefixLength);
    if (s === undefined) {
      this.ownForeign++;
      return;
    }
    const b = this.live.get(s.batch);
    if (b === undefined) {
      if (this.isOurs(s.batch)) this.stats.stale++;
      else this.ownForeign++;
      return;
    }
    const r = parseFastReply(msg, this.stream);
    this.handle(b, s, r, msg);
    if (r.t !== "foreign") this.handler.onRoom();
  }

  private handle(b: Batch, s: FastSubject, r: FastReply, msg: Msg): void {
    switch (r.t) {
      case "flow":
        this.stats.flowAcks++;
        b.confirmed = true;
        b.grant = Math.max(1, Math.min(r.msgs, this.opts.flow));
        this.confirm(b, r.seq, ACK_OK, msg);
        if (b.wantEnd && this.open === b) this.end(b);
        return;
      case "commit":
        if (r.batch !== b.id) {
          this.ownForeign++;
          return;
        }
        this.stats.commits++;
        this.confirm(b, r.count, r.duplicate && r.count === 1 ? ACK_DUPLICATE : ACK_OK, msg);
        if (b.seq > b.acked) this.fail(b, `fast batch committed at ${r.count} of ${b.seq} records`, undefined);
        else this.drop(b);
        return;
      case "pubAck": {
        // Stored as an ordinary message: this server does not run fast batch (whatever it announced).
        const k = s.seq - b.acked - 1;
        const kind = r.duplicate ? ACK_DUPLICATE : ACK_OK;
        if (k >= 0 && k < b.tokens.length - b.head) this.handler.onAck(b.tokens[b.head + k], kind, msg);
        this.fallBack("the server answered a fast batch record with a plain PubAck");
        return;
      }
      case "error":
      case "err":
        if (r.code === ERR_DISABLED || r.code === ERR_API_LEVEL) {
          this.fallBack(`the server refused fast batches: ${describeFastFailure(r)}`);
          return;
        }
        this.fail(b, describeFastFailure(r), msg);
        return;
      case "gap":
      case "status":
        this.fail(b, describeFastFailure(r), msg);
        return;
      case "foreign":
        this.ownForeign++;
    }
  }

  /** Batch seqs up to `upTo` are stored. */
  private confirm(b: Batch, upTo: number, kind: AckKind, msg: Msg): void {
    const to = Math.min(upTo, b.seq);
    if (to <= b.acked) return;
    while (b.acked < to) {
      b.acked++;
      this.handler.onAck(b.tokens[b.head++], kind, msg);
    }
    b.progressAt = this.opts.now();
    if (b.head > 4096 && b.head * 2 > b.tokens.length) {
      b.tokens = b.tokens.slice(b.head);
      b.head = 0;
    }
  }

  /** Ends a batch early: its unconfirmed records go again. */
  private fail(b: Batch, why: string, refusal: Msg | undefined): void {
    this.stats.failedBatches++;
    this.drop(b);
    const tokens = b.unconfirmed();
    if (tokens.length > 0) this.handler.onUnconfirmed(tokens, why, refusal);
  }

  private drop(b: Batch): void {
    this.live.delete(b.id);
    if (this.open === b) this.open = undefined;
  }

  /** Gives up every live batch: their unconfirmed records go again (retried at once). */
  private endAll(why: string): void {
    for (const b of [...this.live.values()]) {
      this.drop(b);
      const tokens = b.unconfirmed();
      if (tokens.length > 0) this.handler.onUnconfirmed(tokens, why, undefined);
    }
  }

  private fallBack(why: string): void {
    if (!this.fast) return;
    this.fast = false;
    this.handler.onFallback(why);
    this.endAll(why);
  }

  private isOurs(id: string): boolean {
    if (!id.startsWith(this.idBase)) return false;
    const n = Number.parseInt(id.slice(this.idBase.length), 36);
    return Number.isSafeInteger(n) && n < this.nextId;
  }
}
