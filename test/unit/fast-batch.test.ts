// Fast batch publishing without a server: the reply subjects and bodies nats-server 2.14+ writes (as
// seen on the wire from 2.15.3, and 2.9.10's plain PubAck), and the publisher's batch bookkeeping
// against a fake connection that records every publish and delivers replies by hand.
import { describe, expect, it } from "vitest";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { describeFastFailure, FastBatchPublisher, parseFastReply, parseFastSubject } from "../../workers/fast-batch.ts";
import { ACK_DUPLICATE, ACK_OK, type AckKind } from "../../workers/pub-ack.ts";

const body = (s: string, code?: number, description?: string) =>
  ({ data: Buffer.from(s), headers: code ? { code, description } : undefined }) as unknown as Msg;

describe("fast batch reply subjects", () => {
  const prefix = "_INBOX.abc.";
  const p = prefix.length;
  it("reads batch id, batch seq and op", () => {
    expect(parseFastSubject(`${prefix}b1.500.fail.1.0.$FI`, p)).toEqual({ batch: "b1", seq: 1, op: 0 });
    expect(parseFastSubject(`${prefix}xYz9.10.fail.4096.3.$FI`, p)).toEqual({ batch: "xYz9", seq: 4096, op: 3 });
  });
  it("refuses anything else", () => {
    for (const bad of [
      `${prefix}b1.500.fail.1.0`, // no $FI
      `${prefix}b1.500.fail.1.0.$FX`,
      `${prefix}b1.fail.1.0.$FI`, // a token short
      `${prefix}b1.500.fail.1.0.9.$FI`, // a token more
      `${prefix}.500.fail.1.0.$FI`, // empty batch id
      `${prefix}b1.500.fail.01.1.$FI`, // not canonical
      `${prefix}b1.500.fail.x.1.$FI`,
      `${prefix}b1.500.fail.2.5.$FI`, // no such op
      `${prefix}b1.500.fail.2.-1.$FI`,
      `${prefix}b1.500.fail.${"9".repeat(16)}.1.$FI`,
      "_INBOX.abc.$FI",
      "",
    ]) {
      expect(parseFastSubject(bad, p), bad).toBeUndefined();
    }
  });
});

describe("fast batch replies", () => {
  const r = (s: string, code?: number) => parseFastReply(body(s, code), "events");
  it("reads flow acks, gaps, per-record errors and commits as 2.15.3 writes them", () => {
    expect(r('{"type":"ack","seq":0,"msgs":10}')).toEqual({ t: "flow", seq: 0, msgs: 10 });
    expect(r('{"type":"ack","seq":500,"msgs":250}')).toEqual({ t: "flow", seq: 500, msgs: 250 });
    expect(r('{"type":"gap","last_seq":5,"seq":6}')).toEqual({ t: "gap", lastSeq: 5, seq: 6 });
    const err = '{"type":"err","seq":10,"error":{"code":400,"err_code":10071,"description":"wrong last sequence"}}';
    expect(r(err)).toEqual({ t: "err", seq: 10, code: 10071, description: "wrong last sequence" });
    expect(r('{"stream":"events","seq":25,"batch":"b1","count":25}')).toEqual({
      t: "commit",
      batch: "b1",
      seq: 25,
      count: 25,
      duplicate: false,
    });
  });
  it("takes a commit of duplicates only (stream seq 0) as a commit, not as a foreign reply", () => {
    expect(r('{"stream":"events","seq":0,"batch":"b1","count":25}')).toMatchObject({ t: "commit", seq: 0, count: 25 });
  });
  it("reads error PubAcks, plain PubAcks (a server without fast batch) and status replies", () => {
    const unknown =
      '{"error":{"code":400,"err_code":10208,"description":"batch publish ID unknown"},"stream":"events","seq":0}';
    expect(r(unknown)).toEqual({ t: "error", code: 10208, description: "batch publish ID unknown" });
    expect(r('{"stream":"events", "seq":1}')).toEqual({ t: "pubAck", seq: 1, duplicate: false });
    expect(r('{"stream":"events", "seq":7,"duplicate": true}')).toEqual({ t: "pubAck", seq: 7, duplicate: true });
    expect(r("", 503)).toMatchObject({ t: "status", code: 503 });
    expect(describeFastFailure(r("", 503))).toMatch(/no stream/);
    expect(describeFastFailure(r(unknown))).toBe("batch publish ID unknown (err_code 10208)");
  });
  it("does not take forged or foreign replies for acks", () => {
    for (const bad of [
      '{"stream":"other","seq":25,"batch":"b1","count":25}', // another stream's commit
      '{"stream":"events","seq":0}', // a plain ack without sequence
      '{"stream":"events","seq":3,"batch":"b1"}', // commit without count
      '{"type":"ack","seq":"5","msgs":10}',
      '{"type":"ack","seq":-1,"msgs":10}',
      '{"type":"ack","seq":5}',
      '{"type":"nak","seq":5,"msgs":1}',
      '{"type":"err","seq":5}',
      "[1,2]",
      "null",
      "hello",
      "",
    ]) {
      expect(r(bad).t, bad).toBe("foreign");
    }
  });
});

/** A connection that records publishes and lets the test deliver replies to the subscriptions. */
class FakeConnection {
  info: { api_lvl?: number; version: string } | undefined = { api_lvl: 5, version: "2.15.3" };
  readonly sent: { subject: string; reply: string; body: number; headers: boolean }[] = [];
  throwNext: Error | undefined;
  private readonly subs: { pattern: string[]; cb: (err: Error | null, msg: Msg) => void }[] = [];

  publish(subject: string, data: Uint8Array | undefined, opts: { reply: string; headers?: { encode(): Uint8Array } }) {
    if (this.throwNext) {
      const e = this.throwNext;
      this.throwNext = undefined;
      throw e;
    }
    opts.headers?.encode();
    this.sent.push({ subject, reply: opts.reply, body: data?.length ?? 0, headers: opts.headers !== undefined });
  }

  subscribe(subject: string, opts: { callback: (err: Error | null, msg: Msg) => void }) {
    this.subs.push({ pattern: subject.split("."), cb: opts.callback });
    return {};
  }

  /** Delivers `data` on `subject` to every matching subscription. */
  reply(subject: string, data: string, code?: number): void {
    const tokens = subject.split(".");
    for (const s of this.subs) {
      const last = s.pattern.length - 1;
      const match =
        s.pattern[last] === ">"
          ? tokens.length > last && s.pattern.slice(0, last).every((p, i) => p === "*" || p === tokens[i])
          : tokens.length === s.pattern.length && s.pattern.every((p, i) => p === "*" || p === tokens[i]);
      if (match) s.cb(null, { ...body(data, code), subject } as Msg);
    }
  }

  lastReply(): string {
    return this.sent[this.sent.length - 1].reply;
  }
}

function setup(flow = 4) {
  const nc = new FakeConnection();
  const acks: [number, AckKind][] = [];
  const unconfirmed: { tokens: number[]; why: string; refused: boolean }[] = [];
  const fallbacks: string[] = [];
  const rooms = { n: 0 };
  let now = 1000;
  const pub = new FastBatchPublisher(
    nc as unknown as NatsConnection,
    "events",
    {
      onAck: (token, kind) => acks.push([token, kind]),
      onUnconfirmed: (tokens, why, refusal) => unconfirmed.push({ tokens, why, refused: refusal !== undefined }),
      onFallback: (why) => fallbacks.push(why),
      onRoom: () => rooms.n++,
    },
    { flow, timeoutMs: 5000, now: () => now },
  );
  pub.use(true);
  const h = new Uint8Array(8);
  const b = new Uint8Array(100);
  let token = 0;
  const send = (n: number) => {
    for (let k = 0; k < n; k++) pub.publish("events.a.b", h, b, token++);
  };
  /** The reply subject of the k-th publish. */
  const at = (k: number) => nc.sent[k].reply;
  return {
    nc,
    pub,
    acks,
    unconfirmed,
    fallbacks,
    rooms,
    send,
    at,
    tick: (ms: number) => {
      now += ms;
    },
  };
}

const fields = (reply: string) => {
  const t = reply.split(".");
  return { batch: t[2], flow: t[3], gap: t[4], seq: Number(t[5]), op: Number(t[6]), fi: t[7] };
};

describe("fast batch publisher", () => {
  it("numbers a batch's records 1, 2, 3... with op 0 then 1, in gap=fail mode, and acks them per flow ack", () => {
    const { nc, pub, acks, send, at } = setup(4);
    send(3);
    expect([0, 1, 2].map((k) => fields(at(k)))).toEqual([
      { batch: fields(at(0)).batch, flow: "4", gap: "fail", seq: 1, op: 0, fi: "$FI" },
      { batch: fields(at(0)).batch, flow: "4", gap: "fail", seq: 2, op: 1, fi: "$FI" },
      { batch: fields(at(0)).batch, flow: "4", gap: "fail", seq: 3, op: 1, fi: "$FI" },
    ]);
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":2}');
    expect(acks).toEqual([]);
    nc.reply(at(1), '{"type":"ack","seq":2,"msgs":2}');
    expect(acks).toEqual([
      [0, ACK_OK],
      [1, ACK_OK],
    ]);
    expect(pub.foreign).toBe(0);
    expect(pub.mode).toBe("fast-batch");
  });

  it("keeps at most two ack intervals unconfirmed (server-paced)", () => {
    const { nc, pub, send, at } = setup(4);
    send(1);
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":2}');
    send(3);
    expect(pub.room()).toBe(false); // 4 unconfirmed = 2 x 2
    nc.reply(at(1), '{"type":"ack","seq":2,"msgs":2}');
    expect(pub.room()).toBe(true);
  });

  it("keeps room for the interval it asked for when the server grants less (a batch started beside another)", () => {
    const { nc, pub, send, at } = setup(4);
    send(1);
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":1}');
    send(1);
    expect(pub.room()).toBe(true); // 2 unconfirmed: under the floor of 4, though 2 x 1 are out
    send(2);
    expect(pub.room()).toBe(false);
    nc.reply(at(1), '{"type":"ack","seq":1,"msgs":2}');
    expect(pub.room()).toBe(true);
  });

  it("says when a reply or a time-out makes room, whatever became of the acked records", () => {
    // The caller's window may have moved them to the spool: onAck is no signal to publish on.
    const { nc, pub, rooms, send, at, tick } = setup(4);
    send(1);
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":2}');
    send(3);
    expect(pub.room()).toBe(false);
    const before = rooms.n;
    nc.reply(at(1), '{"type":"ack","seq":2,"msgs":2}');
    expect(rooms.n).toBe(before + 1);
    send(2);
    expect(pub.room()).toBe(false);
    tick(5000);
    pub.sweep(6000);
    expect(pub.room()).toBe(true);
    expect(rooms.n).toBe(before + 2);
    nc.reply(at(0).replace(fields(at(0)).batch, "someoneelse"), '{"type":"ack","seq":2,"msgs":4}');
    expect(rooms.n).toBe(before + 2); // not for a foreign reply
  });

  it("ends a drained batch with an end of batch (op 3, empty, no headers) only once the server has answered", () => {
    const { nc, pub, acks, send, at } = setup(100);
    send(2);
    pub.drained();
    expect(nc.sent.length).toBe(2); // no answer yet: an older server would store the end of batch
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":100}');
    expect(nc.sent.length).toBe(3);
    expect(nc.sent[2]).toMatchObject({ subject: "events.a.b", body: 0, headers: false });
    expect(fields(at(2))).toMatchObject({ seq: 3, op: 3 });
    // The next record starts a new batch; the commit of the first (here: all duplicates) confirms its tail.
    send(1);
    expect(fields(at(3))).toMatchObject({ seq: 1, op: 0 });
    expect(fields(at(3)).batch).not.toBe(fields(at(0)).batch);
    nc.reply(at(2), `{"stream":"events","seq":0,"batch":"${fields(at(0)).batch}","count":2}`);
    expect(acks).toEqual([
      [0, ACK_OK],
      [1, ACK_OK],
    ]);
    expect(pub.foreign).toBe(0);
  });

  it("a record published while the end waits for the start's answer joins the batch", () => {
    const { nc, pub, send, at } = setup(100);
    send(1);
    pub.drained();
    send(1);
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":100}');
    expect(nc.sent.length).toBe(2); // no end: more may follow
    pub.drained();
    expect(fields(at(2))).toMatchObject({ seq: 3, op: 3 });
  });

  it("after a gap: the unconfirmed records go again, in a new batch, never with a used batch seq", () => {
    const { nc, pub, acks, unconfirmed, send, at } = setup(4);
    send(6);
    const first = fields(at(0)).batch;
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":2}');
    nc.reply(at(1), '{"type":"ack","seq":2,"msgs":2}');
    nc.reply(at(3), '{"type":"gap","last_seq":3,"seq":4}');
    expect(unconfirmed).toEqual([{ tokens: [2, 3, 4, 5], why: "the server lost batch records 3..3", refused: true }]);
    // What the server says afterwards about the ended batch is ignored, and is not foreign.
    nc.reply(at(4), `{"stream":"events","seq":54,"batch":"${first}","count":3}`);
    nc.reply(
      at(5),
      '{"error":{"code":400,"err_code":10208,"description":"batch publish ID unknown"},"stream":"events","seq":0}',
    );
    expect(acks.length).toBe(2);
    expect(pub.foreign).toBe(0);
    expect(pub.stats.stale).toBe(2);
    pub.publish("events.a.b", new Uint8Array(1), new Uint8Array(1), 2);
    expect(fields(at(6))).toMatchObject({ seq: 1, op: 0 });
    expect(fields(at(6)).batch).not.toBe(first);
  });

  it("a batch the server no longer knows (10208, after its restart) hands its records back as refused", () => {
    const { nc, unconfirmed, send, at } = setup(4);
    send(3);
    nc.reply(at(0), '{"type":"ack","seq":0,"msgs":4}');
    nc.reply(
      at(1),
      '{"error":{"code":400,"err_code":10208,"description":"batch publish ID unknown"},"stream":"events","seq":0}',
    );
    expect(unconfirmed).toEqual([
      { tokens: [0, 1, 2], why: "batch publish ID unknown (err_code 10208)", refused: true },
    ]);
  });

  it("a failed record ends the batch (gap=fail): records after the last flow ack go again", () => {
    const { nc, unconfirmed, send, at } = setup(4);
    send(4);
    nc.reply(at(0), '{"type":"ack","seq":1,"msgs":4}');
    nc.reply(
      at(2),
      '{"type":"err","seq":3,"error":{"code":503,"err_code":10047,"description":"insufficient resources"}}',
    );
    expect(unconfirmed).toEqual([{ tokens: [1, 2, 3], why: "insufficient resources (err_code 10047)", refused: true }]);
  });

  it("gives up a batch without an answer for timeoutMs; its records go again at once (not refused)", () => {
    const { nc, pub, unconfirmed, send, at, tick } = setup(4);
    send(2);
    nc.reply(at(0), '{"type":"ack","seq":1,"msgs":4}');
    tick(4999);
    pub.sweep(1000 + 4999);
    expect(unconfirmed).toEqual([]);
    tick(1);
    pub.sweep(1000 + 5000);
    expect(unconfirmed).toEqual([
      { tokens: [1], why: "no reply to fast batch records within 5000 ms", refused: false },
    ]);
  });

  it("after a reconnect no batch goes on (the caller resends everything unacked)", () => {
    const { nc, pub, acks, unconfirmed, fallbacks, send, at } = setup(4);
    send(2);
    pub.reconnected();
    nc.reply(at(0), '{"type":"ack","seq":2,"msgs":4}');
    expect(acks).toEqual([]);
    expect(unconfirmed).toEqual([]);
    expect(fallbacks).toEqual([]);
    send(1);
    expect(fields(at(2))).toMatchObject({ seq: 1, op: 0 });
  });

  it("reconnected to a server without fast batch: inbox acks from then on", () => {
    const { nc, pub, fallbacks, send } = setup(4);
    nc.info = { version: "2.9.10" };
    pub.reconnected();
    expect(fallbacks).toEqual(["reconnected to nats-server 2.9.10 without fast batch publishing (API level 0)"]);
    expect(pub.mode).toBe("inbox");
    send(1);
    expect(nc.sent[0].reply).not.toMatch(/\$FI$/);
    expect(nc.sent[0].reply.split(".").length).toBe(3); // <inbox>.<token>
  });

  it("a plain PubAck (the server stored it as an ordinary message) acks that record and falls back", () => {
    const { nc, pub, acks, unconfirmed, fallbacks, send, at } = setup(4);
    send(3);
    nc.reply(at(0), '{"stream":"events", "seq":1}');
    expect(acks).toEqual([[0, ACK_OK]]);
    expect(fallbacks.length).toBe(1);
    expect(pub.mode).toBe("inbox");
    // The batch's other records go again on the inbox path (token 0 is acked: the caller skips it).
    expect(unconfirmed).toEqual([{ tokens: [0, 1, 2], why: fallbacks[0], refused: false }]);
    pub.drained();
    expect(nc.sent.length).toBe(3); // never an end of batch to such a server
  });

  it("batch publish disabled on the stream (10205): fallback, nothing was stored", () => {
    const { nc, pub, acks, unconfirmed, fallbacks, send, at } = setup(4);
    send(2);
    nc.reply(
      at(0),
      '{"error":{"code":400,"err_code":10205,"description":"batch publish is disabled"},"stream":"events","seq":0}',
    );
    expect(acks).toEqual([]);
    expect(fallbacks).toEqual(["the server refused fast batches: batch publish is disabled (err_code 10205)"]);
    expect(unconfirmed).toMatchObject([{ tokens: [0, 1], refused: false }]);
    expect(pub.mode).toBe("inbox");
  });

  it("a publish that throws (e.g. over max_payload) uses no batch seq", () => {
    const { nc, pub, send, at } = setup(4);
    send(1);
    nc.throwNext = new Error("MAX_PAYLOAD_EXCEEDED");
    expect(() => pub.publish("events.a.b", new Uint8Array(1), new Uint8Array(1), 1)).toThrow(/MAX_PAYLOAD/);
    send(1);
    expect(fields(at(1))).toMatchObject({ seq: 2, op: 1 });
  });

  it("counts replies on batch ids it never used, and replies of other streams, as foreign", () => {
    const { nc, pub, acks, send, at } = setup(4);
    send(2);
    const f = fields(at(0));
    nc.reply(at(0).replace(f.batch, "someoneelse"), '{"type":"ack","seq":2,"msgs":4}');
    nc.reply(at(0), `{"stream":"other","seq":3,"batch":"${f.batch}","count":2}`);
    nc.reply(at(0), `{"stream":"events","seq":3,"batch":"notthisone","count":2}`);
    nc.reply(`${at(0)}.x`, '{"type":"ack","seq":2,"msgs":4}');
    expect(acks).toEqual([]);
    expect(pub.foreign).toBe(4);
  });

  it("a duplicate flag is passed on only where the server gives it per record", () => {
    const { nc, acks, send, at } = setup(4);
    send(1);
    nc.reply(at(0), '{"stream":"events", "seq":5, "duplicate": true}');
    expect(acks).toEqual([[0, ACK_DUPLICATE]]);
  });
});
