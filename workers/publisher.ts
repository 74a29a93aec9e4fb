// The publisher thread: ring -> envelope -> core publish with a reply inbox -> JetStream ack ->
// release. One wildcard subscription receives every PubAck; one sweep timer handles time-outs.
// Records are released from the ring only once acked, so a crash of this thread loses nothing:
// its successor resumes at the release cursor and re-publishes with the same message ids.
import { parentPort, workerData } from "node:worker_threads";
import { connect } from "@nats-io/transport-node";
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { C, CTL_INSTANCE, ringViews } from "../src/ring/layout.ts";
import { RingConsumer } from "../src/ring/consumer.ts";
import { REC_CAPTURED, REC_SEQ, sharedClockMs } from "../src/record/format.ts";
import { redactUrl } from "../src/config.ts";
import type { HostMessage, WorkerData, WorkerMessage } from "../src/worker-protocol.ts";
import { EnvelopeBuilder } from "./envelope.ts";
import { ACKED, AckWindow, DROPPED } from "./ack-window.ts";
import { LatencyRecorder } from "./latency.ts";
import { connectionOptions } from "./nats-connection.ts";
import { ACK_DUPLICATE, ACK_ERROR, type AckKind, describeNak, InboxPublisher } from "./inbox-publisher.ts";
import { ensureStream } from "./stream-setup.ts";

const port = parentPort!;
const { sab, config } = workerData as WorkerData;
const views = ringViews(sab);
const c = views.counters;
const consumer = new RingConsumer(views);
const builder = new EnvelopeBuilder(views, config.encoding, views.ctl[CTL_INSTANCE] >>> 0, config.subjectPrefix);
const window = new AckWindow(config.maxInFlight);
const latency = new LatencyRecorder();
const timeoutMs = config.publishTimeoutMs;
const SWEEP_MS = Math.min(250, Math.max(20, timeoutMs >>> 2));
const IDLE_WAIT_MS = 1000;

const post = (m: WorkerMessage) => port.postMessage(m);
const log = (level: "info" | "warn" | "error", msg: string) => post({ t: "log", level, msg });

let nc: NatsConnection | undefined;
let publisher: InboxPublisher | undefined;
let connected = false;
let stopping = false;
let sleeping = false;
let pumpScheduled = false;
let stopDeadline = 0;

/** Publishes the record in window slot `i`; false when the server can never accept it. */
function send(i: number, pos: number): boolean {
  const m = builder.build(pos);
  try {
    publisher!.publish(m.subject, m.headers, m.body, m.seq);
    return true;
  } catch (e) {
    if (/max_payload/.test(String(e))) {
      // Larger than the server's max_payload: retrying cannot help. Count it and let it go.
      c[C.undeliverable]++;
      window.state[i] = DROPPED;
      log("error", `event ${m.seq} (${m.body.length} bytes) exceeds the server's max_payload; lower maxPayloadBytes`);
      scheduleRelease();
      return false;
    }
    throw e;
  }
}

function pump(): void {
  pumpScheduled = false;
  if (!connected || nc === undefined) return;
  const now = sharedClockMs();
  while (!window.full) {
    const pos = consumer.next();
    if (pos < 0) break;
    const seq = views.f64[(pos + REC_SEQ) >>> 3];
    const i = window.add(seq, pos, consumer.end, views.f64[(pos + REC_CAPTURED) >>> 3], now, timeoutMs);
    if (seq < c[C.publishedUpTo]) c[C.retried]++; // a predecessor published it before dying
    else {
      c[C.published]++;
      c[C.publishedUpTo] = seq + 1;
    }
    send(i, pos);
  }
  c[C.inFlight] = window.size;
  if (stopping) return checkStopped();
  if (!window.full && !sleeping) {
    const wake = consumer.waitForData(IDLE_WAIT_MS);
    if (wake === null) schedulePump();
    else {
      sleeping = true;
      wake.then(() => {
        sleeping = false;
        schedulePump();
      });
    }
  }
}

function schedulePump(): void {
  if (!pumpScheduled) {
    pumpScheduled = true;
    setImmediate(pump);
  }
}

let releaseScheduled = false;
function scheduleRelease(): void {
  if (!releaseScheduled) {
    releaseScheduled = true;
    queueMicrotask(releaseAcked);
  }
}

/** Runs once after a burst of acks: frees the ring over the acked prefix, then publishes more. */
function releaseAcked(): void {
  releaseScheduled = false;
  const n = window.releaseAcked();
  if (n > 0) {
    consumer.release(window.releaseTo);
    c[C.acked] += window.releasedAcked;
    c[C.duplicates] += window.releasedDuplicates;
  }
  c[C.inFlight] = window.size;
  if (!pumpScheduled) pump();
}

const ERROR_LOG_EVERY = 1000;
let errorsSinceLog = 0;
let lastEnsure = 0;

function onAck(seq: number, kind: AckKind, reply: Msg): void {
  const i = window.pending(seq);
  if (i < 0) return; // late ack of a record already acked via a retry
  const now = sharedClockMs();
  if (kind !== ACK_ERROR) {
    window.state[i] = ACKED;
    window.duplicate[i] = kind === ACK_DUPLICATE ? 1 : 0;
    latency.record(window.captured[i], window.sentAt[i], now);
    scheduleRelease();
    return;
  }
  c[C.failed]++;
  const attempts = window.attempts[i];
  window.deadline[i] = now + Math.min(timeoutMs, 50 * 2 ** Math.min(attempts, 10));
  const noResponders = reply.data.length === 0 && reply.headers?.code === 503;
  if (errorsSinceLog++ % ERROR_LOG_EVERY === 0) {
    log("warn", `JetStream refused event ${seq}: ${describeNak(reply)}; retrying with the same id`);
  }
  if (noResponders && now - lastEnsure > 5000) {
    lastEnsure = now;
    void setupStream();
  }
}

/** Re-publishes records whose ack is overdue (or whose error backoff has passed). */
function sweep(): void {
  if (!connected) return;
  const now = sharedClockMs();
  for (let s = window.low; s < window.high; s++) {
    const i = window.pending(s);
    if (i < 0 || window.deadline[i] > now) continue;
    if (now - window.sentAt[i] >= timeoutMs) {
      c[C.timeouts]++;
      c[C.failed]++;
    }
    resend(i, now);
  }
}

function resend(i: number, now: number): void {
  window.sentAt[i] = now;
  window.deadline[i] = now + timeoutMs;
  window.attempts[i]++;
  c[C.retried]++;
  send(i, window.pos[i]);
}

/** After a reconnect the client has dropped whatever it had buffered: send every unacked record again. */
function resendAll(): void {
  const now = sharedClockMs();
  for (let s = window.low; s < window.high; s++) {
    const i = window.pending(s);
    if (i >= 0) resend(i, now);
  }
}

async function setupStream(): Promise<void> {
  try {
    const info = await ensureStream(await jetstreamManager(nc!), config);
    post({ t: "stream", info });
    if (info.warning) log("warn", info.warning);
  } catch (e) {
    post({ t: "stream", info: { name: config.streamName, action: "error", warning: String(e) } });
    log("warn", `could not check stream ${config.streamName}: ${e instanceof Error ? e.message : e}; publishing anyway`);
  }
}

async function watchStatus(conn: NatsConnection): Promise<void> {
  for await (const s of conn.status()) {
    switch (s.type) {
      case "disconnect":
        connected = false;
        post({ t: "connection", state: "reconnecting", server: s.server });
        break;
      case "reconnect":
        connected = true;
        c[C.reconnects]++;
        post({ t: "connection", state: "connected", server: s.server });
        resendAll();
        schedulePump();
        break;
    }
  }
}

function checkStopped(): void {
  if ((window.size === 0 && consumer.used() === 0) || sharedClockMs() >= stopDeadline) void finish();
  else setTimeout(schedulePump, 5);
}

let finishing = false;
async function finish(): Promise<void> {
  if (finishing) return;
  finishing = true;
  const unacked = consumer.used();
  if (nc) {
    const left = Math.max(100, stopDeadline - sharedClockMs());
    await Promise.race([nc.drain().catch(() => {}), new Promise((r) => setTimeout(r, left))]);
    if (!nc.isClosed()) await nc.close().catch(() => {});
  }
  post({ t: "connection", state: "closed" });
  post({ t: "stopped", unacked });
  clearInterval(sweeper);
  port.close();
}

port.on("message", (m: HostMessage) => {
  if (m.t === "latency") post({ t: "latency", id: m.id, snapshot: latency.snapshot() });
  else if (m.t === "stop") {
    stopping = true;
    stopDeadline = m.deadline;
    if (!connected) void finish();
    else schedulePump();
  }
});

const sweeper = setInterval(sweep, SWEEP_MS); // also keeps this thread alive while waitAsync is pending

async function main(): Promise<void> {
  post({ t: "connection", state: "connecting" });
  const conn = await connect(connectionOptions(config.natsUrl, config.connectTimeoutMs));
  if (stopping && finishing) {
    await conn.close();
    return;
  }
  nc = conn;
  publisher = new InboxPublisher(conn, onAck);
  void watchStatus(conn);
  await setupStream();
  connected = true;
  post({ t: "connection", state: "connected", server: redactUrl(conn.getServer()) });
  schedulePump();
}

void main();
