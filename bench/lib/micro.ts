// Micro-benchmarks (tinybench) of what one event costs the host thread in each mode, and what the
// worker spends building an envelope with secret redaction off and on. Each task loops over
// PER_ITERATION calls and the figures are divided by it: a single call is too short for the
// timer. Only the synchronous call is timed; acks are awaited outside the timed part.
import { Bench } from "tinybench";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { EventPipeline } from "../../src/pipeline.ts";
import { Counter, CTL_I32_RELEASE, CTL_I32_WRITE } from "../../src/ring/layout.ts";
import { desiredStream } from "../../workers/stream-setup.ts";
import { InboxPublisher } from "../../workers/inbox-publisher.ts";
import { ACK_ERROR } from "../../workers/pub-ack.ts";
import { EnvelopeBuilder } from "../../workers/envelope.ts";
import { Redactor } from "../../workers/redact.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import type { BenchEvent } from "./events.ts";
import { connectionOptions } from "../../workers/nats-connection.ts";
import { makeEvents, seedEnvelope, seedSubject, STANDARD_PAYLOAD_BYTES } from "./events.ts";
import { offloadedConfig } from "../modes/offloaded.ts";
import type { MicroResult } from "./types.ts";

const PER_ITERATION = 1000;
const STREAM = "bench_micro";
const PREFIX = "bench.micro";

export async function runMicro(url: string, quick: boolean): Promise<MicroResult[]> {
  const events = makeEvents({ count: PER_ITERATION, payloadBytes: STANDARD_PAYLOAD_BYTES, agents: 1, types: 1 });
  const envelopeBytes = Buffer.byteLength(JSON.stringify(seedEnvelope(events[0])));
  const config = offloadedConfig({ url, stream: STREAM, subjectPrefix: PREFIX, maxInFlight: 4096 });

  // The offloaded capture path. The pipeline is not started (no worker): after each iteration the
  // ring is released by hand, as the worker does once JetStream acks, so no capture meets a full ring.
  const pipeline = new EventPipeline(config, { info() {}, warn() {}, error() {} });
  const v = pipeline.views;
  const releaseAll = () => void Atomics.store(v.ctl, CTL_I32_RELEASE, Atomics.load(v.ctl, CTL_I32_WRITE));

  const nc = await connect(connectionOptions(url, 10_000));
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(STREAM).catch(() => false);
  await jsm.streams.add(desiredStream(config));
  const js = jetstream(nc);
  let jsFailures = 0;
  let pending: Promise<unknown>[] = [];
  // The seed's NatsClient.publish(): js.publish raced against a timeout, awaited by nobody.
  const seedPublish = async (subject: string, data: string): Promise<void> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        js.publish(subject, data),
        new Promise<never>((_r, reject) => {
          timer = setTimeout(() => reject(new Error("Publish timeout after 5000ms")), 5000);
        }),
      ]).finally(() => clearTimeout(timer));
    } catch {
      jsFailures++;
    }
  };

  let acks = 0;
  let ackErrors = 0;
  let ackWaiter: (() => void) | undefined;
  const pub = new InboxPublisher(nc, STREAM, (_t, kind) => {
    acks++;
    if (kind === ACK_ERROR) ackErrors++;
    if (ackWaiter && acks >= token) ackWaiter();
  });
  const ceilingMsgs = events.map((e) => {
    const env = seedEnvelope(e);
    return { subject: seedSubject(PREFIX, e), body: Buffer.from(JSON.stringify(env)), id: env.id };
  });
  let token = 0;

  const bench = new Bench({
    time: quick ? 250 : 1500,
    warmupTime: quick ? 100 : 300,
    iterations: quick ? 16 : 64,
    throws: true,
  });
  bench.add(
    `offloaded: EventPipeline.capture (${envelopeBytes} B event)`,
    () => {
      for (let i = 0; i < PER_ITERATION; i++) {
        const e = events[i];
        pipeline.capture(e.typeIndex, e.agent, e.session, e.payload);
      }
    },
    { afterEach: releaseAll },
  );
  bench.add(`inline: envelope + JSON.stringify`, () => {
    let n = 0;
    for (let i = 0; i < PER_ITERATION; i++) n += JSON.stringify(seedEnvelope(events[i])).length;
    return n;
  });
  bench.add(
    `inline: envelope + JSON.stringify + js.publish call`,
    () => {
      for (let i = 0; i < PER_ITERATION; i++) {
        const e = events[i];
        pending.push(seedPublish(seedSubject(PREFIX, e), JSON.stringify(seedEnvelope(e))));
      }
    },
    {
      afterEach: async () => {
        await Promise.all(pending);
        pending = [];
      },
    },
  );
  const headers: Buffer[] = [];
  let headersFor = -1;
  // Every message needs an id of its own (the stream de-duplicates): made before the timed loop.
  const makeHeaders = () => {
    for (let i = 0; i < PER_ITERATION; i++)
      headers[i] = Buffer.from(`NATS/1.0\r\nNats-Msg-Id: ${ceilingMsgs[i].id}-${token + i}\r\n\r\n`);
    headersFor = token;
  };
  bench.add(
    `ceiling: InboxPublisher.publish (pre-encoded)`,
    () => {
      if (headersFor !== token) makeHeaders(); // only when tinybench calls the task outside an iteration
      for (let i = 0; i < PER_ITERATION; i++) {
        const m = ceilingMsgs[i];
        pub.publish(m.subject, headers[i], m.body, token++);
      }
    },
    {
      beforeEach: makeHeaders,
      afterEach: () =>
        acks >= token
          ? undefined
          : new Promise<void>((resolve) => {
              ackWaiter = () => {
                ackWaiter = undefined;
                resolve();
              };
            }),
    },
  );

  // The worker's envelope, redaction off and on, over records captured once (never released).
  const records = (evs: BenchEvent[]) => {
    const p = new EventPipeline(config, { info() {}, warn() {}, error() {} });
    for (const e of evs) p.capture(e.typeIndex, e.agent, e.session, e.payload);
    const consumer = new RingConsumer(p.views);
    const pos: number[] = [];
    for (let at = consumer.next(); at >= 0; at = consumer.next()) pos.push(at);
    return { views: p.views, pos };
  };
  const plain = records(events);
  const secretEvents = makeEvents({ count: PER_ITERATION, payloadBytes: 650, agents: 1, types: 1, secrets: true });
  const secret = records(secretEvents);
  const secretBytes = Buffer.byteLength(JSON.stringify(seedEnvelope(secretEvents[0])));
  const build = (name: string, r: ReturnType<typeof records>, redact: boolean) => {
    const b = new EnvelopeBuilder(r.views, "json", 1, PREFIX, redact ? new Redactor([]) : undefined);
    bench.add(name, () => {
      let n = 0;
      for (let i = 0; i < r.pos.length; i++) n += b.build(r.pos[i]).body.length;
      return n;
    });
  };
  build(`worker: envelope, redaction off (${envelopeBytes} B event)`, plain, false);
  build(`worker: envelope, redaction on (${envelopeBytes} B event, no secret)`, plain, true);
  build(`worker: envelope, redaction off (${secretBytes} B event with 3 secrets)`, secret, false);
  build(`worker: envelope, redaction on (${secretBytes} B event with 3 secrets)`, secret, true);

  await bench.run();
  const captured = v.counters[Counter.captured];
  const written = v.counters[Counter.written];
  const out: MicroResult[] = bench.tasks.map((t) => {
    const r = t.result;
    if (r.state !== "completed")
      throw new Error(`micro-benchmark ${t.name}: ${r.state === "errored" ? r.error.message : r.state}`);
    const ns = (ms: number) => Math.round((ms * 1e6) / PER_ITERATION);
    let notes = "";
    if (t.name.startsWith("offloaded")) notes = captured === written ? "" : `${captured - written} captures refused`;
    if (t.name.includes("js.publish"))
      notes = jsFailures ? `${jsFailures} publishes failed` : "sync part of the call; acks awaited between iterations";
    if (t.name.startsWith("ceiling"))
      notes = ackErrors ? `${ackErrors} negative acks` : "acks awaited between iterations";
    return {
      name: t.name,
      meanNs: ns(r.latency.mean),
      p50Ns: ns(r.latency.p50),
      p99Ns: ns(r.latency.p99),
      perIteration: PER_ITERATION,
      samples: r.latency.samplesCount,
      rmePct: Math.round(r.latency.rme * 10) / 10,
      notes,
    };
  });
  await jsm.streams.delete(STREAM).catch(() => false);
  await nc.close();
  return out;
}
