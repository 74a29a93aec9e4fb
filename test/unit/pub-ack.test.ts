import { describe, expect, it } from "vitest";
import type { Msg } from "@nats-io/transport-node";
import {
  ACK_DUPLICATE,
  ACK_ERROR,
  ACK_FOREIGN,
  ACK_OK,
  PubAckReader,
  replyToken,
  replyTokenOfBytes,
} from "../../workers/pub-ack.ts";

const reply = (s: string, code?: number) =>
  ({ data: Buffer.from(s), headers: code ? { code } : undefined }) as unknown as Msg;

describe("PubAck reading", () => {
  const r = new PubAckReader("events");

  it("reads the server's fast-path acks, with and without the duplicate flag", () => {
    // Shapes written by nats-server (2.9 and later) on its publish fast path.
    expect(r.kind(reply('{"stream":"events", "seq":13}'))).toBe(ACK_OK);
    expect(r.kind(reply('{"stream":"events", "seq":13,"duplicate": true}'))).toBe(ACK_DUPLICATE);
    expect(r.kind(reply('{"stream":"events","seq":7}'))).toBe(ACK_OK);
    expect(r.kind(reply('{"stream":"events","seq":7,"duplicate":true}'))).toBe(ACK_DUPLICATE);
    expect(r.kind(reply('{"stream":"events", "domain":"hub", "seq":9}'))).toBe(ACK_OK);
    expect(r.kind(reply('{"stream":"events","domain":"hub","seq":9,"duplicate":true}'))).toBe(ACK_DUPLICATE);
  });

  it("counts JetStream errors and status replies as refusals (retried)", () => {
    const e =
      '{"error":{"code":503,"err_code":10047,"description":"insufficient resources"},"stream":"events","seq":0}';
    expect(r.kind(reply(e))).toBe(ACK_ERROR);
    expect(r.kind(reply("", 503))).toBe(ACK_ERROR);
  });

  it("does not take forged or foreign replies as acks", () => {
    expect(r.kind(reply('{"stream":"other", "seq":13}'))).toBe(ACK_FOREIGN); // another stream
    expect(r.kind(reply('{"stream":"events", "seq":0}'))).toBe(ACK_FOREIGN); // no sequence
    expect(r.kind(reply('{"stream":"events", "seq":}'))).toBe(ACK_FOREIGN);
    expect(r.kind(reply('{"stream":"events", "seq":"1"}'))).toBe(ACK_FOREIGN);
    expect(r.kind(reply('xxstream":"events", "seq":1}'))).toBe(ACK_FOREIGN);
    expect(r.kind(reply(`${'{"s'.padEnd(40, "e")}}`))).toBe(ACK_FOREIGN); // the old two-byte check took this
    expect(r.kind(reply("hello"))).toBe(ACK_FOREIGN);
    expect(r.kind(reply(""))).toBe(ACK_FOREIGN); // no data, no status
  });

  it("escapes the stream name as JSON does", () => {
    const q = new PubAckReader('we"ird');
    expect(q.kind(reply('{"stream":"we\\"ird", "seq":1}'))).toBe(ACK_OK);
    expect(q.kind(reply('{"stream":"we"ird", "seq":1}'))).toBe(ACK_FOREIGN);
  });
});

describe("reply tokens", () => {
  const prefix = "_INBOX.abc.";
  // The same answers from the subject as a string and as the bytes it arrived in.
  const ways = [
    ["string", (s: string) => replyToken(s, prefix.length)],
    ["bytes", (s: string) => replyTokenOfBytes(Buffer.from(s, "utf8"), prefix.length)],
  ] as const;
  it.each(ways)("accepts canonical decimal integers only (%s)", (_way, token) => {
    expect(token(`${prefix}0`)).toBe(0);
    expect(token(`${prefix}4095`)).toBe(4095);
    expect(token(`${prefix}${2 ** 40 + 7}`)).toBe(2 ** 40 + 7);
    for (const bad of ["1.9", "0x2", "01", "", "-1", "1e3", " 1", "9".repeat(16), "١٢", "1é"]) {
      expect(token(prefix + bad), bad).toBe(-1);
    }
  });
});
