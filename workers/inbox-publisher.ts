// JetStream publishing in the shape of the Go client's PublishAsync: a core publish with a reply
// subject per message, and one wildcard subscription that receives every PubAck. No promise, no
// timer and no MsgHdrs object per message.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { ACK_FOREIGN, type AckKind, PubAckReader, replyToken } from "./pub-ack.ts";

/** Called for every reply that is one of ours: the token given to publish(), what JetStream said, the reply. */
export type AckHandler = (token: number, kind: AckKind, reply: Msg) => void;

export class InboxPublisher {
  readonly inbox: string;
  /** Replies on the inbox that were not acks of ours (forged, malformed, another stream's). */
  foreign = 0;
  private readonly nc: NatsConnection;
  private readonly replyPrefix: string;
  // The client calls encode() on the object given as headers, synchronously inside publish():
  // handing it bytes built ahead of time saves building a MsgHdrs per message.
  private headerBytes: Uint8Array = new Uint8Array(0);
  private readonly opts: { reply: string; headers: MsgHdrs };

  constructor(nc: NatsConnection, streamName: string, onAck: AckHandler) {
    this.nc = nc;
    this.inbox = createInbox();
    this.replyPrefix = `${this.inbox}.`;
    const prefixLen = this.replyPrefix.length;
    const acks = new PubAckReader(streamName);
    this.opts = { reply: "", headers: { encode: () => this.headerBytes } as unknown as MsgHdrs };
    nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const token = replyToken(msg.subject, prefixLen);
        const kind = acks.kind(msg);
        if (token < 0 || kind === ACK_FOREIGN) this.foreign++;
        else onAck(token, kind, msg);
      },
    });
  }

  /** Publishes `body` with the pre-encoded NATS header block; the ack comes back to onAck(token). */
  publish(subject: string, headers: Uint8Array, body: Uint8Array, token: number): void {
    this.headerBytes = headers;
    this.opts.reply = this.replyPrefix + token;
    this.nc.publish(subject, body, this.opts);
  }
}
