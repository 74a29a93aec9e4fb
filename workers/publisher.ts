// The publisher thread: ring -> envelope -> core publish with a reply inbox -> JetStream ack ->
// release. One wildcard subscription receives every PubAck; one sweep timer handles time-outs.
// Records are released from the ring only once acked (or written to the disk spool), so a crash of
// this thread loses nothing: its successor resumes at the release cursor and re-publishes with the
// same message ids, which JetStream de-duplicates.
import { parentPort, workerData } from "node:worker_threads";
import { connect } from "@nats-io/transport-node";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { C, CTL_INSTANCE, CTL_RELEASE, HEADER_BYTES, ringViews } from "../src/ring/layout.ts";
import { RingConsumer } from "../src/ring/consumer.ts";
import { REC_CAPTURED, REC_LEN, REC_SEQ, sharedClockMs } from "../src/record/format.ts";
import { redactUrl } from "../src/nats-url.ts";
import type { HostMessage, WorkerData, WorkerMessage } from "../src/worker-protocol.ts";
import { EnvelopeBuilder, type RecordSource } from "./envelope.ts";
import { Redactor } from "./redact.ts";
import { ACKED, AckWindow, DROPPED, SENT } from "./ack-window.ts";
import { LatencyRecorder } from "./latency.ts";
import { connectionOptions } from "./nats-connection.ts";
import { ACK_DUPLICATE, ACK_ERROR, type AckKind, describeNak, InboxPublisher } from "./inbox-publisher.ts";
import { ensureStream } from "./stream-setup.ts";
import { lockSpool, Spool, type ReplaySegment } from "./spool.ts";

const port = parentPort!;
const { sab, config, spoolDir } = workerData as WorkerData;
const views = ringViews(sab);
const c = views.counters;
const instance = views.ctl[CTL_INSTANCE] >>> 0;
const consumer = new RingConsumer(views);
const redactor = config.redact ? new Redactor(config.redactPatterns, c) : undefined;
const builder = new EnvelopeBuilder(views, config.encoding, instance, config.subjectPrefix, redactor);
const window = new AckWindow(config.maxInFlight);
const latency = new LatencyRecorder();
const timeoutMs = config.publishTimeoutMs;
const SWEEP_MS = Math.min(250, Math.max(20, timeoutMs >>> 2));
const IDLE_WAIT_MS = 1000;
/**
 * After the ring runs dry the worker polls it on a 1 ms timer for this long before it sleeps on
 * the ring's doorbell. While it polls, the host never has to wake it: Atomics.notify costs the
 * gateway's thread 7-40 us per call on this kind of VM (measured), against < 1 us for the rest of
 * a capture. The price is up to ~1 ms more latency for events that arrive while it polls.
 */
const LINGER_MS = 250;
const POLL_MS = 1;
/** While NATS is unreachable, records go to the spool once the ring is this full. */
const SPOOL_AT = views.capacity >>> 1;
const SPOOL_CHECK_MS = 10;

const post = (m: WorkerMessage) => port.postMessage(m);
const log = (level: "info" | "warn" | "error", msg: string) => post({ t: "log", level, msg });

let nc: NatsConnection | undefined;
let publisher: InboxPublisher | undefined;
let connected = false;
let stopping = false;
let sleeping = false;
let pumpScheduled = false;
let stopDeadline = 0;
/** When the last record was taken from the ring (shared clock ms). */
let lastRecordAt = 0;
let pollTimer: NodeJS.Timeout | undefined;

const spool = openSpool();
/** Segments being replayed, oldest first; the last one may still have records to publish. */
const replaying: ReplaySegment[] = [];
/** For window slots holding spool replays: the segment the record is in. */
const slotSegment: (ReplaySegment | undefined)[] = [];

function openSpool(): Spool | undefined {
  if (!spoolDir || config.spoolMaxBytes === 0) return undefined;
  try {
    const busy = lockSpool(spoolDir);
    if (busy) {
      log("warn", `${busy}; events will wait in memory only`);
      return undefined;
    }
    const s = new Spool(spoolDir, config.spoolMaxBytes, instance);
    const pending = s.open();
    c[C.spoolBytes] = s.bytes;
    if (pending > 0) log("info", `found ${pending} spool segment(s) in ${spoolDir} from an earlier run; publishing them first`);
    return s;
  } catch (e) {
    log("error", `cannot use spool directory ${spoolDir} (${e instanceof Error ? e.message : e}); events will wait in memory only`);
    c[C.spoolFailed] = 1;
    return undefined;
  }
}

/** Publishes the record in window slot `i`; false when the server can never accept it. */
function send(i: number, token: number): boolean {
  const seg = slotSegment[i];
  const m = seg ? builder.build(window.pos[i], seg.src, seg.instance) : builder.build(window.pos[i]);
  try {
    publisher!.publish(m.subject, m.headers, m.body, token);
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

/** Adds a record to the window and publishes it. */
function publishRecord(pos: number, end: number, src: RecordSource, seg: ReplaySegment | undefined, now: number): void {
  const token = window.add(pos, end, seg !== undefined, src.f64[(pos + REC_CAPTURED) >>> 3], now, timeoutMs);
  const i = window.slot(token);
  slotSegment[i] = seg;
  send(i, token);
}

function pump(): void {
  pumpScheduled = false;
  if (!connected || nc === undefined) return;
  const now = sharedClockMs();
  // Spooled records go first, in order, with their original ids.
  while (!window.full && spool !== undefined) {
    let seg = replaying[replaying.length - 1];
    if (seg === undefined || seg.next === seg.offsets.length) {
      const next = spool.nextSegment(isReplaying);
      if (next === undefined) break;
      replaying.push((seg = next));
    }
    publishRecord(seg.offsets[seg.next++], 0, seg.src, seg, now);
    c[C.replayed]++;
  }
  // The ring waits behind the spool; nothing is spooled while connected, so this holds for the loop.
  const ringTurn = !spoolBacklog();
  while (ringTurn && !window.full) {
    const pos = consumer.next();
    if (pos < 0) break;
    lastRecordAt = now;
    const seq = views.f64[(pos + REC_SEQ) >>> 3];
    if (seq < c[C.publishedUpTo]) c[C.retried]++; // a predecessor published it before dying
    else {
      c[C.published]++;
      c[C.publishedUpTo] = seq + 1;
    }
    publishRecord(pos, consumer.end, views, undefined, now);
  }
  c[C.inFlight] = window.size;
  if (stopping) return checkStopped();
  if (!window.full && !sleeping && !spoolBacklog()) waitForRecords(now);
}

/** Ring empty: poll for a while (no cost to the host), then sleep until the producer rings. */
function waitForRecords(now: number): void {
  if (now - lastRecordAt < LINGER_MS) {
    if (pollTimer === undefined) {
      pollTimer = setTimeout(() => {
        pollTimer = undefined;
        schedulePump();
      }, POLL_MS);
    }
    return;
  }
  const wake = consumer.waitForData(IDLE_WAIT_MS);
  if (wake === null) schedulePump();
  else {
    sleeping = true;
    wake.then((outcome) => {
      sleeping = false;
      // Woken by the producer: poll again for a while rather than sleep after one record.
      if (outcome === "ok") lastRecordAt = sharedClockMs();
      schedulePump();
    });
  }
}

const isReplaying = (name: string) => replaying.some((r) => r.name === name);

/** True while spooled records remain to be published (the ring waits behind them). */
function spoolBacklog(): boolean {
  if (spool === undefined) return false;
  const last = replaying[replaying.length - 1];
  return (last !== undefined && last.next < last.offsets.length) || spool.hasUnloaded(isReplaying);
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
    if (window.releasedRing) consumer.release(window.releaseTo);
    c[C.acked] += window.releasedAcked;
    c[C.duplicates] += window.releasedDuplicates;
    if (window.releasedSpooled > 0) segmentsAcked(window.releasedSpooled);
  }
  c[C.inFlight] = window.size;
  if (!pumpScheduled) pump();
}

/** Spool replays are released in order: retire `n` records from the oldest replayed segments. */
function segmentsAcked(n: number): void {
  while (n > 0 && replaying.length > 0) {
    const seg = replaying[0];
    const k = Math.min(n, seg.unacked);
    seg.unacked -= k;
    n -= k;
    if (seg.unacked === 0 && seg.next === seg.offsets.length) {
      replaying.shift();
      spool!.done(seg.name);
      c[C.spoolBytes] = spool!.bytes;
      c[C.spoolFull] = 0;
    } else break;
  }
}

const ERROR_LOG_EVERY = 1000;
let errorsSinceLog = 0;
let lastEnsure = 0;

function onAck(token: number, kind: AckKind, reply: Msg): void {
  const i = window.pending(token);
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
    log("warn", `JetStream refused an event: ${describeNak(reply)}; retrying with the same id`);
  }
  if (noResponders && now - lastEnsure > 5000) {
    lastEnsure = now;
    void setupStream();
  }
}

/** Every SWEEP_MS: re-publish records whose ack is overdue (or whose error backoff has passed); fsync the spool. */
function sweep(): void {
  spool?.flush();
  if (!connected) return;
  const now = sharedClockMs();
  for (let t = window.low; t < window.high; t++) {
    const i = window.pending(t);
    if (i < 0 || window.deadline[i] > now) continue;
    if (now - window.sentAt[i] >= timeoutMs) {
      c[C.timeouts]++;
      c[C.failed]++;
    }
    resend(i, t, now);
  }
}

function resend(i: number, token: number, now: number): void {
  window.sentAt[i] = now;
  window.deadline[i] = now + timeoutMs;
  window.attempts[i]++;
  c[C.retried]++;
  send(i, token);
}

/** After a reconnect the client has dropped whatever it had buffered: send every unacked record again. */
function resendAll(): void {
  const now = sharedClockMs();
  for (let t = window.low; t < window.high; t++) {
    const i = window.pending(t);
    if (i >= 0) resend(i, t, now);
  }
}

/**
 * Moves every unacked record out of the ring into the spool, oldest first, and frees the ring.
 * Spool replays in flight stay in their segment files and are published again from the start
 * (JetStream de-duplicates what was already stored). If the spool fills up, the rest stays in
 * the ring and the ring's drop policy applies.
 */
function spoolRing(): void {
  const s = spool!;
  if (s.error !== undefined) return;
  let releaseTo = -1;
  let moved = 0;
  let ackedHere = 0;
  let duplicatesHere = 0;
  let ok = true;
  const put = (pos: number) => s.append(views.bytes, pos, views.u32[(pos + REC_LEN) >>> 2]);
  for (let t = window.low; t < window.high && ok; t++) {
    const i = window.slot(t);
    if (window.spooled[i] === 1) continue;
    const st = window.state[i];
    if (st === SENT) ok = put(window.pos[i]);
    if (!ok) break;
    if (st === SENT) moved++;
    else if (st === ACKED) {
      ackedHere++; // stored already: counted, not spooled
      duplicatesHere += window.duplicate[i];
    } // DROPPED: counted as undeliverable when it was dropped
    releaseTo = window.end[i];
  }
  if (ok) {
    consumer.rewind(releaseTo >= 0 ? releaseTo : consumer.cursor);
    for (let pos = consumer.next(); pos >= 0; pos = consumer.next()) {
      if (!put(pos)) {
        ok = false;
        break;
      }
      releaseTo = consumer.end;
      moved++;
    }
  }
  // On disk first, then the ring space is given back; if the disk failed, nothing is released.
  s.flush(true);
  window.clear();
  replaying.length = 0;
  if (s.error === undefined && releaseTo >= 0) {
    consumer.release(releaseTo);
    consumer.rewind(releaseTo);
    c[C.spooled] += moved;
    c[C.acked] += ackedHere;
    c[C.duplicates] += duplicatesHere;
  } else consumer.rewind(Atomics.load(views.ctl, CTL_RELEASE) >>> 0);
  c[C.spoolBytes] = s.bytes;
  c[C.inFlight] = 0;
  if (s.error !== undefined) {
    c[C.spoolFailed] = 1;
    log("error", `spool write failed in ${s.dir}: ${s.error}; events wait in the ring and are dropped when it is full`);
  } else if (!ok && c[C.spoolFull] === 0) {
    c[C.spoolFull] = 1;
    log("warn", `spool is full (spoolMaxBytes ${config.spoolMaxBytes}); events wait in the ring and are dropped when it is full`);
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
  const idle = window.size === 0 && consumer.used() === 0 && !spoolBacklog() && replaying.length === 0;
  if (idle || sharedClockMs() >= stopDeadline) void finish();
  else setTimeout(schedulePump, 5);
}

let finishing = false;
/** Graceful stop: what is not acked by the deadline goes to the spool for the next start. */
async function finish(): Promise<void> {
  if (finishing) return;
  finishing = true;
  clearInterval(sweeper);
  clearInterval(spoolWatch);
  if (spool !== undefined) {
    if (consumer.used() > 0) spoolRing();
    spool.close();
  }
  const unacked = consumer.used();
  if (nc) {
    const left = Math.max(100, stopDeadline - sharedClockMs());
    await Promise.race([nc.drain().catch(() => {}), new Promise((r) => setTimeout(r, left))]);
    if (!nc.isClosed()) await nc.close().catch(() => {});
  }
  post({ t: "connection", state: "closed" });
  post({ t: "stopped", unacked });
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
// While NATS is unreachable, move the ring to the spool once it is half full. Checked often so a
// burst cannot fill the other half in between.
const spoolWatch = spool ? setInterval(() => !connected && !finishing && consumer.used() >= SPOOL_AT && spoolRing(), SPOOL_CHECK_MS) : undefined;

/**
 * Maps the whole ring into memory from this thread, so the gateway's thread never pays a page
 * fault on its first pass through the ring (measured: 1.9 us instead of 0.8 us per event, and
 * 250 ms of faults for 32 MiB on this kind of VM). An atomic add of 0 writes each page without
 * changing a byte the producer may be writing. Done in slices to keep this thread responsive.
 */
function prefaultRing(): void {
  const words = new Int32Array(sab, HEADER_BYTES, views.capacity >>> 2);
  const PAGE_WORDS = 1024;
  let w = 0;
  const slice = () => {
    for (const end = Math.min(words.length, w + PAGE_WORDS * 256); w < end; w += PAGE_WORDS) Atomics.add(words, w, 0);
    if (w < words.length && !finishing) setImmediate(slice);
  };
  slice();
}

/**
 * One attempt that reports why it failed (server down, wrong credentials...), then attempts in the
 * background for as long as it takes; events wait in the ring (or the spool) meanwhile.
 */
async function firstConnection(): Promise<NatsConnection> {
  const opts = connectionOptions(config.natsUrl, config.connectTimeoutMs);
  try {
    return await connect({ ...opts, waitOnFirstConnect: false });
  } catch (e) {
    const why = redactUrl(e instanceof Error ? e.message : String(e));
    post({ t: "connection", state: "connecting", error: `cannot connect to NATS: ${why}` });
    log("warn", `cannot connect to NATS (${why}); retrying in the background, events wait in the ring`);
    return connect(opts);
  }
}

async function main(): Promise<void> {
  prefaultRing();
  post({ t: "connection", state: "connecting" });
  const conn = await firstConnection();
  if (finishing) {
    await conn.close();
    return;
  }
  nc = conn;
  publisher = new InboxPublisher(conn, onAck);
  void watchStatus(conn);
  // The client gave up on the connection (e.g. authorization revoked): exit, and the supervisor
  // starts a fresh worker (and connection) after its backoff. Nothing unacked is lost.
  void conn.closed().then((err) => {
    if (finishing) return;
    log("error", `NATS connection closed${err ? `: ${err.message}` : ""}; restarting the publisher`);
    process.exit(1);
  });
  await setupStream();
  connected = true;
  post({ t: "connection", state: "connected", server: redactUrl(conn.getServer()) });
  schedulePump();
}

// A connection the client gives up on (e.g. rejected credentials): exit, and the supervisor tries
// again with a fresh worker after its backoff. Nothing in the ring or the spool is lost.
main().catch((e) => {
  const why = redactUrl(e instanceof Error ? e.message : String(e));
  post({ t: "connection", state: "closed", error: `cannot connect to NATS: ${why}` });
  log("error", `cannot connect to NATS (${why}); the publisher restarts after a backoff`);
  process.exit(1);
});
