// Which record format should cross the ring? Measures, per event, the host-thread cost (event ->
// bytes in the ring) and the worker cost (ring bytes -> publishable envelope bytes) of:
//   header+json    fixed binary header + payload JSON written straight into the ring; the worker
//                  splices the envelope around the payload bytes (what the plugin does)
//   header+msgpack the same with a MessagePack payload and envelope (encoding: "msgpack")
//   msgpack-record the whole record packed with msgpackr; the worker unpacks it and encodes JSON
//   json-record    the whole record as JSON; the worker parses it and encodes the envelope JSON
// Run: node bench/codec-compare.ts   (figures are relative: compare rows of one run)
import { Bench } from "tinybench";
import { Packr } from "msgpackr";
import { randomUUID } from "node:crypto";
import { createRing, ringViews } from "../src/ring/layout.ts";
import { RingConsumer } from "../src/ring/consumer.ts";
import { EventCapture } from "../src/capture.ts";
import { EnvelopeBuilder } from "../workers/envelope.ts";
import { eventTypeIndex } from "../src/event-types.ts";
import { makeEvents } from "./lib/events.ts";

const BATCH = 1000;
const events = makeEvents({ count: BATCH, payloadBytes: 165, agents: 1, types: 1 });
const TYPE = eventTypeIndex("tool.call");
const packr = new Packr({ useRecords: false });

function splice(encoding: "json" | "msgpack") {
  const v = ringViews(createRing(1 << 22, 12345));
  const cap = new EventCapture(v, { encoding, maxPayloadBytes: 65536 });
  const consumer = new RingConsumer(v);
  const builder = new EnvelopeBuilder(v, encoding, 12345, "openclaw.events");
  return {
    host() {
      for (const e of events) cap.capture(TYPE, e.agent, e.session, e.payload);
      // release everything so the next iteration has room (not part of the host's real cost)
      while (consumer.next() >= 0);
      consumer.release(consumer.cursor);
    },
    fill() {
      for (const e of events) cap.capture(TYPE, e.agent, e.session, e.payload);
    },
    worker() {
      let bytes = 0;
      for (let pos = consumer.next(); pos >= 0; pos = consumer.next()) bytes += builder.build(pos).body.length;
      consumer.release(consumer.cursor);
      return bytes;
    },
  };
}

// Whole-record formats use a plain byte buffer as their "ring" (reset each batch).
const ring = Buffer.alloc(1 << 22);
const offsets = new Uint32Array(BATCH + 1);
function recordFormat(kind: "msgpack" | "json") {
  return {
    host() {
      let o = 0;
      for (let i = 0; i < BATCH; i++) {
        const e = events[i];
        const rec = { type: e.type, agent: e.agent, session: e.session, ts: Date.now(), seq: i, payload: e.payload };
        if (kind === "msgpack") {
          const b = packr.pack(rec);
          ring.set(b, o);
          o += b.length;
        } else o += ring.write(JSON.stringify(rec), o);
        offsets[i + 1] = o;
      }
    },
    worker() {
      let bytes = 0;
      for (let i = 0; i < BATCH; i++) {
        const slice = ring.subarray(offsets[i], offsets[i + 1]);
        const r =
          kind === "msgpack" ? packr.unpack(slice) : JSON.parse(ring.toString("utf8", offsets[i], offsets[i + 1]));
        bytes += Buffer.from(
          JSON.stringify({
            id: randomUUID(),
            ts: r.ts,
            agent: r.agent,
            session: r.session,
            type: r.type,
            payload: r.payload,
          }),
        ).length;
      }
      return bytes;
    },
  };
}

const json = splice("json");
const mp = splice("msgpack");
const mr = recordFormat("msgpack");
const jr = recordFormat("json");
const bench = new Bench({ time: 1500, warmupTime: 300 });
bench
  .add("host   header+json", () => json.host())
  .add("host   header+msgpack", () => mp.host())
  .add("host   msgpack-record", () => mr.host())
  .add("host   json-record", () => jr.host())
  .add("worker header+json", () => json.worker(), { beforeEach: () => json.fill() })
  .add("worker header+msgpack", () => mp.worker(), { beforeEach: () => mp.fill() })
  .add("worker msgpack-record", () => mr.worker(), { beforeAll: () => mr.host() })
  .add("worker json-record", () => jr.worker(), { beforeAll: () => jr.host() });
await bench.run();
console.log(`node ${process.version}; ${BATCH} seed-shaped tool.call events per iteration; ns per event (median):`);
for (const t of bench.tasks) {
  const r = t.result as { latency?: { p50?: number } } | undefined;
  const ns = ((r?.latency?.p50 ?? NaN) * 1e6) / BATCH;
  console.log(`${t.name.padEnd(24)} ${ns.toFixed(0).padStart(6)} ns`);
}
