// InboxPublisher's two ways to publish, against a stand-in for the nats.js connection: publish()
// through the client's publish(), publishFrame() handing runs of ready frames to its protocol handler.
import { describe, expect, it } from "vitest";
import type { NatsConnection } from "@nats-io/transport-node";
import { InboxPublisher } from "../../workers/inbox-publisher.ts";

function fakeConnection(withProtocol = true) {
  const sent: string[] = [];
  const published: { subject: string; reply: string }[] = [];
  const state = { closed: false, flushes: 0 };
  const protocol = {
    info: { max_payload: 100 },
    noMorePublishing: false,
    sendCommand: (b: Uint8Array) => void sent.push(Buffer.from(b).toString("latin1")),
    flushPending: () => void state.flushes++,
  };
  const nc = {
    subscribe: () => ({}),
    isClosed: () => state.closed,
    publish: (subject: string, _data: Uint8Array, o: { reply: string }) =>
      void published.push({ subject, reply: o.reply }),
    ...(withProtocol ? { protocol } : {}),
  } as unknown as NatsConnection;
  return { nc, sent, published, state, protocol };
}

const microtask = () => new Promise<void>((r) => queueMicrotask(r));

describe("InboxPublisher", () => {
  it("hands frames that follow each other in one buffer to the client as one run, then has it written", async () => {
    const c = fakeConnection();
    const pub = new InboxPublisher(c.nc, "s", () => {});
    expect(pub.frames).toBeDefined();
    const buf = Buffer.from("AAAABBBBCCCCDDDD");
    pub.publishFrame(buf, 0, 4, 10);
    pub.publishFrame(buf, 4, 8, 10);
    pub.publishFrame(buf, 12, 16, 10); // a gap: the run so far goes first
    expect(c.sent).toEqual(["AAAABBBB"]);
    await microtask();
    expect(c.sent).toEqual(["AAAABBBB", "DDDD"]);
    expect(c.state.flushes).toBe(2);
    const other = Buffer.from("EEEE");
    pub.publishFrame(other, 0, 4, 10);
    pub.flushFrames();
    expect(c.sent.at(-1)).toBe("EEEE");
  });

  it("refuses a frame as the client's publish() would: over max_payload, or with the connection closed or draining", async () => {
    const c = fakeConnection();
    const pub = new InboxPublisher(c.nc, "s", () => {});
    const buf = Buffer.alloc(300);
    expect(() => pub.publishFrame(buf, 0, 150, 101)).toThrow(/max_payload/);
    pub.publishFrame(buf, 0, 150, 100);
    c.protocol.noMorePublishing = true;
    expect(() => pub.publishFrame(buf, 150, 300, 10)).toThrow(/closed or draining/);
    c.protocol.noMorePublishing = false;
    c.state.closed = true;
    expect(() => pub.publishFrame(buf, 150, 300, 10)).toThrow(/closed or draining/);
    await microtask();
    expect(c.sent.map((s) => s.length)).toEqual([150]);
  });

  it("publishes through the client's publish() with the reply subject of the token, and offers no frames without a protocol handler", () => {
    const c = fakeConnection(false);
    const pub = new InboxPublisher(c.nc, "s", () => {});
    expect(pub.frames).toBeUndefined();
    pub.publish("a.b", Buffer.from("h"), Buffer.from("body"), 42);
    expect(c.published).toEqual([{ subject: "a.b", reply: `${pub.inbox}.42` }]);
    expect(Buffer.from(pub.replyPrefix).toString()).toBe(`${pub.inbox}.`);
  });
});
