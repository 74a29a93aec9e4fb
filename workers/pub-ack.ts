// Reading JetStream's reply to a publish. Anything can be published to the reply inbox, so a reply
// counts as an ack only when it is a PubAck of the configured stream with a sequence number:
// {"stream":"<name>", "seq":<n>[,"duplicate": true]} as the server writes it on its fast path (a
// domain may come between), or the same fields in any JSON layout (checked with JSON.parse, off the
// common path).
import type { Msg } from "@nats-io/transport-node";

export const ACK_OK = 0;
export const ACK_DUPLICATE = 1;
/** A negative reply (error JSON, or a status such as 503 no responders): retried with the same id. */
export const ACK_ERROR = 2;
/** Not a reply of our stream (forged, or another stream's): ignored and counted. */
export const ACK_FOREIGN = 3;
export type AckKind = typeof ACK_OK | typeof ACK_DUPLICATE | typeof ACK_ERROR | typeof ACK_FOREIGN;

const SEQ = Buffer.from('"seq":');
const DUPLICATE = Buffer.from('"duplicate":');
const TRUE = Buffer.from("true");
const ERROR_START = Buffer.from('{"error":');
const MAX_TOKEN_DIGITS = 15; // below 2^53

export class PubAckReader {
  private readonly stream: string;
  /** `{"stream":<name as JSON>,` */
  private readonly prefix: Buffer;

  constructor(streamName: string) {
    this.stream = streamName;
    this.prefix = Buffer.from(`{"stream":${JSON.stringify(streamName)},`);
  }

  kind(reply: Msg): AckKind {
    const d = reply.data;
    const n = d.length;
    if (n === 0) return (reply.headers?.code ?? 0) >= 300 ? ACK_ERROR : ACK_FOREIGN;
    if (d[n - 1] !== 0x7d) return ACK_FOREIGN; // "}"
    if (startsWith(d, ERROR_START, 0)) return ACK_ERROR;
    if (!startsWith(d, this.prefix, 0)) return this.parsed(d);
    let o = this.prefix.length;
    if (d[o] === 0x20) o++;
    if (!startsWith(d, SEQ, o)) return this.parsed(d); // e.g. a domain first
    o += SEQ.length;
    const digits = o;
    while (d[o] >= 0x30 && d[o] <= 0x39) o++;
    if (o === digits || (d[digits] === 0x30 && o - digits === 1)) return ACK_FOREIGN; // no sequence, or 0
    if (o === n - 1) return ACK_OK;
    if (d[o] !== 0x2c) return ACK_FOREIGN; // ","
    const k = indexOf(d, DUPLICATE, o);
    if (k < 0) return ACK_OK;
    let v = k + DUPLICATE.length;
    if (d[v] === 0x20) v++;
    return startsWith(d, TRUE, v) ? ACK_DUPLICATE : ACK_OK;
  }

  private parsed(d: Uint8Array): AckKind {
    let a: { stream?: unknown; seq?: unknown; duplicate?: unknown; error?: unknown };
    try {
      a = JSON.parse(Buffer.from(d.buffer, d.byteOffset, d.byteLength).toString("utf8"));
    } catch {
      return ACK_FOREIGN;
    }
    if (typeof a !== "object" || a === null) return ACK_FOREIGN;
    if (a.error !== undefined) return ACK_ERROR;
    if (a.stream !== this.stream || !Number.isSafeInteger(a.seq) || (a.seq as number) < 1) return ACK_FOREIGN;
    return a.duplicate === true ? ACK_DUPLICATE : ACK_OK;
  }
}

/**
 * The token at the end of a reply subject `<prefix><token>`: a canonical decimal integer, or -1
 * ("1.9", "0x2", "01", "" and anything else are not tokens we gave out).
 */
export function replyToken(subject: string, prefixLength: number): number {
  const len = subject.length - prefixLength;
  if (len < 1 || len > MAX_TOKEN_DIGITS) return -1;
  if (len > 1 && subject.charCodeAt(prefixLength) === 0x30) return -1;
  let v = 0;
  for (let i = prefixLength; i < subject.length; i++) {
    const c = subject.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** replyToken() of a subject as the UTF-8 bytes it arrived in (no string decoded). */
export function replyTokenOfBytes(subject: Uint8Array, prefixLength: number): number {
  const len = subject.length - prefixLength;
  if (len < 1 || len > MAX_TOKEN_DIGITS) return -1;
  if (len > 1 && subject[prefixLength] === 0x30) return -1;
  let v = 0;
  for (let i = prefixLength; i < subject.length; i++) {
    const c = subject[i] - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** A readable reason for a negative reply (only on the error path). */
export function describeNak(reply: Msg): string {
  if (reply.data.length === 0) {
    const code = reply.headers?.code;
    if (code === 503) return "no stream answers on this subject (503)";
    return `status ${code ?? "?"} ${reply.headers?.description ?? ""}`.trim();
  }
  try {
    const e = (
      JSON.parse(new TextDecoder().decode(reply.data)) as { error?: { description?: string; err_code?: number } }
    ).error;
    if (e) return `${e.description ?? "error"}${e.err_code ? ` (err_code ${e.err_code})` : ""}`;
  } catch {
    // not JSON: fall through
  }
  return "unexpected reply";
}

function startsWith(d: Uint8Array, p: Uint8Array, at: number): boolean {
  if (d.length < at + p.length) return false;
  for (let i = 0; i < p.length; i++) if (d[at + i] !== p[i]) return false;
  return true;
}

function indexOf(d: Uint8Array, p: Uint8Array, from: number): number {
  for (let i = from; i + p.length <= d.length; i++) if (startsWith(d, p, i)) return i;
  return -1;
}
