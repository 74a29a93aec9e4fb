// JetStream publishing in the shape of the Go client's PublishAsync: a core publish with a reply
// subject per message, and one wildcard subscription that receives every PubAck. No promise, no
// timer and no MsgHdrs object per message.
//
// publishFrame() goes one step further for the worker: the caller writes whole HPUB frames
// (workers/envelope.ts) one after another into its buffers, and the runs of them go to the client's
// protocol handler in one piece, as the client would send its own. This skips, per message, the
// client's protocol line (a template string and a TextEncoder call), its four buffer pushes and
// the copy that joins them: about a third of the worker's CPU per event in a profile of the
// sustained load (bench/profile-worker.ts). nats.js has no public call for it: ProtocolHandler's
// sendCommand() (@nats-io/nats-core, public in its ./internal typings) is found on the connection
// at run time, and publish() is used where it is not there.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { ACK_FOREIGN, type AckKind, PubAckReader, replyToken, replyTokenOfBytes } from "./pub-ack.ts";

/** Called for every reply that is one of ours: the token given to publish(), what JetStream said, the reply. */
export type AckHandler = (token: number, kind: AckKind, reply: Msg) => void;

/** The parts of nats.js's protocol handler that publishFrame() uses (@nats-io/nats-core 3.x). */
interface ProtocolHandler {
  sendCommand(cmd: Uint8Array): void;
  /** Writes what is queued: called after a whole run, it goes to the socket without being copied again. */
  flushPending(): void;
  info?: { max_payload?: number };
  noMorePublishing?: boolean;
}

function protocolOf(nc: NatsConnection): ProtocolHandler | undefined {
  const p = (nc as unknown as { protocol?: Partial<ProtocolHandler> }).protocol;
  return typeof p?.sendCommand === "function" && typeof p.flushPending === "function"
    ? (p as ProtocolHandler)
    : undefined;
}

/**
 * The token of a reply's subject, read from the bytes the client parsed it from when they are
 * there (nats.js's MsgImpl keeps them as _msg.subject and decodes a string only when asked).
 */
function tokenOf(msg: Msg, prefixLength: number): number {
  const raw = (msg as unknown as { _msg?: { subject?: unknown } })._msg?.subject;
  return raw instanceof Uint8Array ? replyTokenOfBytes(raw, prefixLength) : replyToken(msg.subject, prefixLength);
}

/** A run of frames handed over in one piece at most this long: a socket write of a useful size. */
const RUN_BYTES = 64 * 1024;

export class InboxPublisher {
  readonly inbox: string;
  /** `<inbox>.` as bytes: the start of every reply subject, for frames written by the caller. */
  readonly replyPrefix: Uint8Array;
  /** The client's protocol handler when frames can be handed to it (publishFrame), else undefined. */
  readonly frames: ProtocolHandler | undefined;
  /** Replies on the inbox that were not acks of ours (forged, malformed, another stream's). */
  foreign = 0;
  private readonly nc: NatsConnection;
  private readonly replyText: string;
  /** The run of frames not handed over yet: buf[start, end). */
  private runBuf: Uint8Array | undefined;
  private runStart = 0;
  private runEnd = 0;
  private flushQueued = false;
  // The client calls encode() on the object given as headers, synchronously inside publish():
  // handing it bytes built ahead of time saves building a MsgHdrs per message.
  private headerBytes: Uint8Array = new Uint8Array(0);
  private readonly opts: { reply: string; headers: MsgHdrs };

  constructor(nc: NatsConnection, streamName: string, onAck: AckHandler) {
    this.nc = nc;
    this.inbox = createInbox();
    this.replyText = `${this.inbox}.`;
    this.replyPrefix = Buffer.from(this.replyText, "latin1");
    this.frames = protocolOf(nc);
    const prefixLen = this.replyText.length;
    const acks = new PubAckReader(streamName);
    this.opts = { reply: "", headers: { encode: () => this.headerBytes } as unknown as MsgHdrs };
    nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const token = tokenOf(msg, prefixLen);
        const kind = acks.kind(msg);
        if (token < 0 || kind === ACK_FOREIGN) this.foreign++;
        else onAck(token, kind, msg);
      },
    });
  }

  /** Publishes `body` with the pre-encoded NATS header block; the ack comes back to onAck(token). */
  publish(subject: string, headers: Uint8Array, body: Uint8Array, token: number): void {
    this.headerBytes = headers;
    this.opts.reply = this.replyText + token;
    this.nc.publish(subject, body, this.opts);
  }

  /**
   * Publishes the HPUB frame buf[start, end) (written with replyPrefix and a token) whose headers
   * and body are `payloadBytes` long. Frames that follow each other in one buffer go to the client
   * as one run, at the latest in a microtask. Throws where publish() would: the connection closed
   * or draining, or a message over the server's max_payload. Only when `frames` is set.
   */
  publishFrame(buf: Uint8Array, start: number, end: number, payloadBytes: number): void {
    const p = this.frames!;
    if (this.nc.isClosed() || p.noMorePublishing) throw new Error("connection closed or draining");
    const max = p.info?.max_payload;
    if (max !== undefined && payloadBytes > max) throw new Error("max_payload size exceeded");
    if (buf !== this.runBuf || start !== this.runEnd || this.runEnd - this.runStart >= RUN_BYTES) {
      this.flushFrames();
      this.runBuf = buf;
      this.runStart = start;
    }
    this.runEnd = end;
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushLater);
    }
  }

  /**
   * Hands the pending run of frames to the client and has it written: alone in the client's queue,
   * the run goes to the socket as it is (two queued pieces would be copied into one first).
   */
  flushFrames(): void {
    const buf = this.runBuf;
    if (buf === undefined) return;
    this.runBuf = undefined;
    this.frames!.sendCommand(buf.subarray(this.runStart, this.runEnd));
    this.frames!.flushPending();
  }

  private readonly flushLater = (): void => {
    this.flushQueued = false;
    try {
      this.flushFrames();
    } catch {
      // Nothing left to write to: these records get no ack and are published again after the timeout.
    }
  };
}
