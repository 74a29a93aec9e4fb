// JetStream publishing in the shape of the Go client's PublishAsync: a core publish with a reply
// subject per message, and one wildcard subscription that receives every PubAck. No promise, no
// timer and no MsgHdrs object per message.
import { createInbox, type Msg, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";

export const ACK_OK = 0;
export const ACK_DUPLICATE = 1;
export const ACK_ERROR = 2;
export type AckKind = typeof ACK_OK | typeof ACK_DUPLICATE | typeof ACK_ERROR;

/** Called for every reply: the token given to publish(), what JetStream said, and the raw reply. */
export type AckHandler = (token: number, kind: AckKind, reply: Msg) => void;

export class InboxPublisher {
  readonly inbox: string;
  private readonly nc: NatsConnection;
  private readonly replyPrefix: string;
  // The client calls encode() on the object given as headers, synchronously inside publish():
  // handing it bytes built ahead of time saves building a MsgHdrs per message.
  private headerBytes: Uint8Array = new Uint8Array(0);
  private readonly opts: { reply: string; headers: MsgHdrs };

  constructor(nc: NatsConnection, onAck: AckHandler) {
    this.nc = nc;
    this.inbox = createInbox();
    this.replyPrefix = `${this.inbox}.`;
    const prefixLen = this.replyPrefix.length;
    this.opts = { reply: "", headers: { encode: () => this.headerBytes } as unknown as MsgHdrs };
    nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (err) return;
        const d = msg.data;
        const n = d.length;
        // A PubAck is {"stream":..,"seq":..[,"domain":..][,"duplicate":true]}; the server writes
        // the fields in that order, so two byte checks classify it without JSON.parse.
        const kind: AckKind = n > 10 && d[2] === 0x73 ? (d[n - 2] === 0x65 && d[n - 5] === 0x74 ? ACK_DUPLICATE : ACK_OK) : ACK_ERROR;
        onAck(+msg.subject.substring(prefixLen), kind, msg);
      },
    });
  }

  /** Publishes `body` with the pre-encoded header block; the ack comes back to onAck(token). */
  publish(subject: string, headers: Uint8Array, body: Uint8Array, token: number): void {
    this.headerBytes = headers;
    this.opts.reply = this.replyPrefix + token;
    this.nc.publish(subject, body, this.opts);
  }
}

/** A readable reason for a negative reply (only on the error path). */
export function describeNak(reply: Msg): string {
  if (reply.data.length === 0) {
    const code = reply.headers?.code;
    return code === 503 ? "no stream answers on this subject (503)" : `status ${code ?? "?"} ${reply.headers?.description ?? ""}`.trim();
  }
  return new TextDecoder().decode(reply.data).slice(0, 300);
}
