// The publisher thread: ring -> envelope -> core publish with a reply inbox -> JetStream ack ->
// release. One wildcard subscription receives every PubAck; one sweep timer handles time-outs.
// Records are released from the ring only once acked (or fsynced to the disk spool), so a crash of
// this thread loses nothing: its successor resumes at the release cursor and re-publishes with the
// same message ids, which JetStream de-duplicates. The spool's coordination lives in backlog.ts;
// this file holds the connection, the publishing loop and the stop path.
import { mkdirSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { connect } from "@nats-io/transport-node";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { Counter, CTL_I32_INSTANCE, CTL_I32_RELEASE, CONTROL_AREA_BYTES, ringViews } from "../src/ring/layout.ts";
import { RingConsumer } from "../src/ring/consumer.ts";
import { recCaptured, recSeq, sharedClockMs } from "../src/record/format.ts";
import { redactUrl } from "../src/nats-url.ts";
import type { Encoding } from "../src/record/format.ts";
import type { HostMessage, StreamInfoSummary, WorkerData, WorkerMessage } from "../src/worker-protocol.ts";
import { type BuiltMessage, EnvelopeBuilder } from "./envelope.ts";
import { Redactor } from "./redact.ts";
import { ACKED, AckWindow, DROPPED, FROM_SPOOL, newReleased } from "./ack-window.ts";
import { LatencyRecorder } from "./latency.ts";
import { type ConnectionPlan, describeConnectError, explainConnectError, waitForConnectionPlan } from "./nats-auth.ts";
import { InboxPublisher } from "./inbox-publisher.ts";
import { ACK_DUPLICATE, ACK_ERROR, type AckKind, describeNak } from "./pub-ack.ts";
import { ensureStream, setupFailure } from "./stream-setup.ts";
import { type ReplaySegment, Spool } from "./spool.ts";
import { SpoolLock } from "./spool-lock.ts";
import { ahead, Backlog, RING_STALL_MS, ringMustSpool } from "./backlog.ts";
import { detectFastBatch, FastBatchPublisher } from "./fast-batch.ts";

const port = parentPort!;
const { sab, config, spoolDir } = workerData as WorkerData;
const views = ringViews(sab);
const c = views.counters;
const instance = views.ctl[CTL_I32_INSTANCE] >>> 0;
const consumer = new RingConsumer(views);
const redactor = config.redact ? new Redactor(config.redactPatterns, c) : undefined;
const window = new AckWindow<ReplaySegment>(config.maxInFlight);
const released = newReleased<ReplaySegment>();
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
/** Past this many bytes in use, ring records that JetStream does not take fast enough go to the spool. */
const SPOOL_MARK = views.capacity >>> 1;
/** How often the ring is checked against its spool mark: often enough that a burst cannot fill the other half. */
const SPOOL_CHECK_MS = 10;
const ERROR_LOG_EVERY = 1000;
/** Publishing a full window takes tens of ms on a busy machine: check the ring every 256 records meanwhile. */
const CHECK_EVERY = 255;

const post = (m: WorkerMessage) => port.postMessage(m);
const log = (level: "info" | "warn" | "error", msg: string) => post({ t: "log", level, msg });

/** Everything about this thread that changes while it runs. */
const st = {
  nc: undefined as NatsConnection | undefined,
  publisher: undefined as InboxPublisher | FastBatchPublisher | undefined,
  /** The publisher, when publishMode is "fast-batch" (it falls back to inbox acks by itself). */
  fast: undefined as FastBatchPublisher | undefined,
  /** The last stream report, re-sent when the publish path changes. */
  streamInfo: undefined as StreamInfoSummary | undefined,
  /** The client's connection is up: follows its status events, nothing else. */
  connected: false,
  /** The stream was checked (or could not be, and publishing goes on regardless). */
  streamReady: false,
  stopping: false,
  finishing: false,
  stopDeadline: 0,
  sleeping: false,
  pumpScheduled: false,
  finePollScheduled: false,
  releaseScheduled: false,
  /** When the last record was taken from the ring (shared clock ms). */
  lastRecordAt: 0,
  /** When the ring's release cursor last moved, or ring records began to wait for acks. */
  ringProgressAt: sharedClockMs(),
  pollTimer: undefined as NodeJS.Timeout | undefined,
  errorsSinceLog: 0,
  sendErrorsSinceLog: 0,
  lastEnsure: 0,
  /** When JetStream last refused a record or let its ack time out. */
  lastRefusalAt: -Infinity,
  /** Spool bytes when it last refused a record for want of room. */
  fullAt: 0,
};

/** The one answer to "can JetStream take records now". */
function canPublish(): boolean {
  return st.connected && st.streamReady && !st.finishing && st.publisher !== undefined;
}

const builders = new Map<Encoding, EnvelopeBuilder>();
/** Spooled records are published in the encoding they were captured in, whatever the config says now. */
function builderFor(encoding: Encoding): EnvelopeBuilder {
  let b = builders.get(encoding);
  if (b === undefined) {
    b = new EnvelopeBuilder(views, encoding, instance, config.subjectPrefix, redactor);
    builders.set(encoding, b);
  }
  return b;
}
const ringBuilder = builderFor(config.encoding);

/** Damage already added to the shared counters, which add up over every worker of this process. */
const damageCounted = { segments: 0, records: 0, bytes: 0 };
const lock = spoolDir && config.spoolMaxBytes > 0 ? new SpoolLock(spoolDir) : undefined;
const backlog = openBacklog();

function openBacklog(): Backlog | undefined {
  if (lock === undefined) return undefined;
  try {
    mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
    const busy = lock.acquire();
    if (busy) {
      log("warn", `${busy}; events will wait in memory only`);
      return undefined;
    }
    const spool = new Spool(spoolDir, config.spoolMaxBytes, instance, config.encoding, log);
    const pending = spool.open();
    if (pending > 0)
      log("info", `found ${pending} spool segment(s) in ${spoolDir} from an earlier run; publishing them first`);
    const b = new Backlog(spool, views, consumer, window);
    spoolCounters(spool);
    return b;
  } catch (e) {
    log("error", `cannot use spool directory ${spoolDir} (${errorText(e)}); events will wait in memory only`);
    c[Counter.spoolFailed] = 1;
    return undefined;
  }
}

function spoolCounters(spool: Spool): void {
  c[Counter.spoolBytes] = spool.bytes;
  const d = spool.damage;
  c[Counter.spoolBadSegments] += d.segments - damageCounted.segments;
  c[Counter.spoolBadRecords] += d.records - damageCounted.records;
  c[Counter.spoolBadBytes] += d.bytes - damageCounted.bytes;
  Object.assign(damageCounted, d);
}

/** Publishes the record in window slot `i` (again, for a retry). */
function send(i: number, token: number): void {
  const seg = window.segment[i];
  const b = seg ? builderFor(seg.encoding) : ringBuilder;
  const src = seg ? seg.src : views;
  const pub = st.publisher!;
  // Whole frames on the inbox path where the client takes them (workers/inbox-publisher.ts).
  if (pub instanceof InboxPublisher && pub.frames) {
    const m = b.buildFrame(window.pos[i], src, seg ? seg.instance : instance, pub.replyPrefix, token);
    try {
      pub.publishFrame(m.buf, m.frameStart, m.end, m.payloadBytes);
    } catch (e) {
      publishFailed(i, m, e);
    }
  } else {
    const m = b.build(window.pos[i], src, seg ? seg.instance : instance);
    try {
      pub.publish(m.subject, m.headers, m.body, token);
    } catch (e) {
      publishFailed(i, m, e);
    }
  }
}

function publishFailed(i: number, m: BuiltMessage, e: unknown): void {
  if (/max_payload/i.test(String(e))) {
    // Larger than the server's max_payload: retrying cannot help. Count it and let it go.
    window.state[i] = DROPPED;
    // a spool record's outcome is counted with its segment's progress
    if (window.segment[i] === undefined) c[Counter.undeliverable]++;
    const bytes = m.bodyEnd - m.bodyStart;
    log("error", `event ${m.seq} (${bytes} bytes) exceeds the server's max_payload; lower maxPayloadBytes`);
    scheduleRelease();
    return;
  }
  // E.g. the connection closing under us: the entry stays unacked and the sweep retries it.
  if (st.sendErrorsSinceLog++ % ERROR_LOG_EVERY === 0) log("warn", `publish failed (${errorText(e)}); will retry`);
}

/** Adds a record to the window and publishes it; `seg` undefined for a ring record. */
function publishRecord(pos: number, end: number, seg: ReplaySegment | undefined, now: number): void {
  const src = seg ? seg.src : views;
  const own = seg === undefined || seg.instance === instance;
  if (own) {
    const seq = recSeq(src, pos);
    if (seq < c[Counter.publishedUpTo])
      c[Counter.retried]++; // published before (a predecessor worker, or before spooling)
    else {
      c[Counter.published]++;
      c[Counter.publishedUpTo] = seq + 1;
    }
  }
  if (seg !== undefined) c[Counter.replayed]++;
  else if (window.ringEntries === 0) st.ringProgressAt = now; // ring records begin to wait for acks
  const token = window.add(pos, end, seg, own, recCaptured(src, pos), now, timeoutMs);
  send(window.slot(token), token);
}

function pump(): void {
  st.pumpScheduled = false;
  if (!canPublish()) {
    if (st.stopping) void finish();
    return;
  }
  const now = sharedClockMs();
  // Spooled records go first, in capture order, with their original ids.
  let n = 0;
  const fast = st.fast;
  while (backlog !== undefined && !window.full && (fast === undefined || fast.room())) {
    const seg = backlog.nextSegment();
    if (seg === undefined) break;
    const k = seg.next++;
    publishRecord(seg.scan.offsets[k], seg.scan.ends[k], seg, now);
    if ((++n & CHECK_EVERY) === 0) checkRing();
  }
  const ringTurn = backlog === undefined || !backlog.active;
  while (ringTurn && !window.full && (fast === undefined || fast.room())) {
    const pos = consumer.next();
    if (pos < 0) break;
    st.lastRecordAt = now;
    publishRecord(pos, consumer.end, undefined, now);
    if ((++n & CHECK_EVERY) === 0) checkRing();
  }
  c[Counter.inFlight] = window.size;
  // Stopped for want of records or window space, not waiting for a flow ack: end the batch so its tail is confirmed.
  if (fast?.room()) fast.drained();
  checkRing(); // a busy worker checks here, not only on its timer
  if (st.stopping) {
    checkStopped();
    return;
  }
  if (ringTurn && !window.full && !st.sleeping) waitForRecords(now);
}

/** Ring empty: poll for a while (no cost to the host), then sleep until the producer rings. */
function waitForRecords(now: number): void {
  if (now - st.lastRecordAt < FINE_LINGER_MS) {
    pollSoon();
    return;
  }
  if (now - st.lastRecordAt < LINGER_MS) {
    st.pollTimer ??= setTimeout(() => {
      st.pollTimer = undefined;
      schedulePump();
    }, POLL_MS);
    return;
  }
  const wake = consumer.waitForData(IDLE_WAIT_MS);
  if (wake === null) schedulePump();
  else {
    st.sleeping = true;
    wake.then((outcome) => {
      st.sleeping = false;
      // Woken by the producer: poll again for a while rather than sleep after one record.
      if (outcome === "ok") st.lastRecordAt = sharedClockMs();
      schedulePump();
    });
  }
}

/**
 * While records keep coming (one in the last FINE_LINGER_MS), the worker looks at the ring again
 * after a blocking wait of FINE_POLL_MS on a word nobody notifies (the host pays nothing), instead of
 * the 1 ms timer: it notices a record ~0.1-0.3 ms after it was written rather than ~1-2 ms (a 1 ms
 * timer fires 1.1-1.3 ms late at best here; a timed Atomics.wait overshoots by ~0.1 ms). The wait
 * runs in a macrotask of its own, after the publishes' flush (a microtask) and a pass of the event
 * loop for acks, which wait at most that long. Measured here (bench rate-1k, three runs each way):
 * offered -> stored p50 0.2 ms instead of 0.7, p99 1.3-2.4 ms instead of 2.7-3.3; ~30 µs of CPU per
 * look, i.e. 10-15% of a core while events keep coming (+50-75 µs per event at 1k events/s, nothing
 * visible at 10k/s), none once they stop.
 */
const FINE_LINGER_MS = 2;
const FINE_POLL_MS = 0.1;
const finePollWord = new Int32Array(new SharedArrayBuffer(4));

function pollSoon(): void {
  if (st.finePollScheduled) return;
  st.finePollScheduled = true;
  setImmediate(() => {
    st.finePollScheduled = false;
    if (st.sleeping || st.finishing) return;
    if (!consumer.hasData()) Atomics.wait(finePollWord, 0, 0, FINE_POLL_MS);
    if (!st.pumpScheduled) pump(); // in this macrotask: one pass of the event loop per look
  });
}

function schedulePump(): void {
  if (!st.pumpScheduled) {
    st.pumpScheduled = true;
    setImmediate(pump);
  }
}

function scheduleRelease(): void {
  if (!st.releaseScheduled) {
    st.releaseScheduled = true;
    queueMicrotask(releaseAcked);
  }
}

/** Gives ring space back up to `to`; never backwards (spooling may have released past acked records). */
function releaseRing(to: number): void {
  if (
    to === Atomics.load(views.ctl, CTL_I32_RELEASE) >>> 0 ||
    !ahead(to, Atomics.load(views.ctl, CTL_I32_RELEASE) >>> 0)
  )
    return;
  consumer.release(to);
  st.ringProgressAt = sharedClockMs();
}

/** Releases the finished entries at the start of the window and counts what they were. */
function settle(): void {
  if (window.releaseFinished(released) > 0) {
    if (released.ringTo >= 0) releaseRing(released.ringTo);
    c[Counter.acked] += released.acked;
    c[Counter.duplicates] += released.duplicates;
    if (released.segments.length > 0 && backlog !== undefined) {
      backlog.released(released.segments, released.outcomes);
      spoolCounters(backlog.spool);
      if (backlog.spool.bytes < config.spoolMaxBytes) c[Counter.spoolFull] = 0;
    }
  }
  c[Counter.inFlight] = window.size;
}

/** Runs once after a burst of acks: frees what is done, then publishes more. */
function releaseAcked(): void {
  st.releaseScheduled = false;
  settle();
  if (!st.pumpScheduled && !st.finishing) pump();
}

function onAck(token: number, kind: AckKind, reply: Msg): void {
  const i = window.pending(token);
  if (i < 0) return; // late ack of a record already acked via a retry, or moved to the spool
  const now = sharedClockMs();
  if (kind !== ACK_ERROR) {
    window.state[i] = ACKED;
    window.duplicate[i] = kind === ACK_DUPLICATE ? 1 : 0;
    latency.record(window.captured[i], window.sentAt[i], now);
    scheduleRelease();
    return;
  }
  c[Counter.failed]++;
  st.lastRefusalAt = now;
  window.deadline[i] = now + Math.min(timeoutMs, 50 * 2 ** Math.min(window.attempts[i], 10));
  if (st.errorsSinceLog++ % ERROR_LOG_EVERY === 0) {
    log("warn", `JetStream refused an event: ${describeNak(reply)}; retrying with the same id`);
  }
  const noResponders = reply.data.length === 0 && reply.headers?.code === 503;
  if (noResponders && now - st.lastEnsure > 5000) {
    st.lastEnsure = now;
    void setupStream();
  }
}

/** Every SWEEP_MS: heartbeat, spool fsync and replay progress, re-publish overdue records. */
function sweep(): void {
  c[Counter.workerHeartbeat] = sharedClockMs(); // the host's watchdog: this thread's event loop is turning
  const now = sharedClockMs();
  if (backlog !== undefined) {
    backlog.spool.flush();
    backlog.saveProgress();
    spoolCounters(backlog.spool);
  }
  c[Counter.foreignAcks] = st.publisher?.foreign ?? 0;
  if (!canPublish()) return;
  st.fast?.sweep(now);
  resendDue(now);
}

/** Publishes again every record whose ack is overdue or whose retry backoff is over. */
function resendDue(now: number): void {
  let n = 0;
  for (let t = window.low; t < window.high; t++) {
    const i = window.pending(t);
    if (i < 0 || window.deadline[i] > now) continue;
    if (now - window.sentAt[i] >= timeoutMs) {
      c[Counter.timeouts]++;
      c[Counter.failed]++;
      st.lastRefusalAt = now;
    }
    resend(i, t, now);
    n++;
  }
  if (n > 0 && st.fast !== undefined) schedulePump(); // which ends the fast batch they went into
}

// --- fast batch (publishMode "fast-batch", workers/fast-batch.ts) ---
/**
 * A fast batch ended before these records were confirmed. They go again in a new batch with the
 * same ids (the server skips those it stored): at once after a time-out or a lost connection, after
 * the usual backoff when the server refused.
 */
function onUnconfirmed(tokens: number[], why: string, refusal: Msg | undefined): void {
  const now = sharedClockMs();
  for (const t of tokens) {
    const i = window.pending(t);
    if (i < 0) continue;
    if (refusal === undefined) window.deadline[i] = now;
    else {
      c[Counter.failed]++;
      window.deadline[i] = now + Math.min(timeoutMs, 50 * 2 ** Math.min(window.attempts[i], 10));
    }
  }
  if (refusal === undefined) {
    setImmediate(() => canPublish() && resendDue(sharedClockMs()));
    return;
  }
  st.lastRefusalAt = now;
  if (st.errorsSinceLog++ % ERROR_LOG_EVERY === 0) {
    log("warn", `JetStream ended a fast batch: ${why}; retrying ${tokens.length} event(s) with the same ids`);
  }
  if (refusal.data.length === 0 && refusal.headers?.code === 503 && now - st.lastEnsure > 5000) {
    st.lastEnsure = now;
    void setupStream();
  }
}

function onFallback(why: string): void {
  log("warn", `publishMode fast-batch: ${why}; publishing with a PubAck per event from now on`);
  const info = st.streamInfo ?? { name: config.streamName, action: "not-checked" };
  reportStream({ ...info, publishMode: "inbox", publishModeNote: why });
}

/** Detection after every stream check: fast batches when the server and the stream take them. */
async function choosePublishPath(info: StreamInfoSummary, jsm: JetStreamManager | undefined): Promise<void> {
  const fast = st.fast;
  if (fast === undefined) {
    info.publishMode = "inbox";
    return;
  }
  const support =
    jsm === undefined || info.action === "error" || info.action === "not-checked"
      ? { ok: false, why: "the stream could not be checked" }
      : await detectFastBatch(st.nc!, jsm, config.streamName);
  const before = fast.mode;
  fast.use(support.ok);
  info.publishMode = fast.mode;
  if (!support.ok) info.publishModeNote = support.why;
  if (fast.mode === before && st.streamInfo !== undefined) return; // said once
  if (support.ok) log("info", `publishMode fast-batch: publishing in fast batches (${support.why})`);
  else log("warn", `publishMode fast-batch: ${support.why}; publishing with a PubAck per event instead`);
}
// --- end fast batch ---

function resend(i: number, token: number, now: number): void {
  window.sentAt[i] = now;
  window.deadline[i] = now + timeoutMs;
  window.attempts[i]++;
  c[Counter.retried]++;
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

/** Every SPOOL_CHECK_MS and after each pump: empties the ring to the spool when JetStream does not keep up with it. */
function checkRing(): void {
  const used = consumer.noteHighWater();
  if (backlog === undefined || st.finishing) return;
  const now = sharedClockMs();
  const mustSpool = ringMustSpool({
    used,
    capacity: views.capacity,
    spoolMark: SPOOL_MARK,
    refusing: now - st.lastRefusalAt < RING_STALL_MS,
    canPublish: canPublish(),
    backlog: backlog.active,
    msSinceRingRelease: window.ringEntries > 0 ? now - st.ringProgressAt : 0,
  });
  if (mustSpool) moveRing();
}

let spoolFailureLogged = false;
function moveRing(): void {
  const spool = backlog!.spool;
  // A full spool takes nothing until a segment is retired: do not retry on every pump.
  if (spool.error !== undefined || (c[Counter.spoolFull] === 1 && spool.bytes >= st.fullAt)) return;
  const r = backlog!.moveRing();
  if (r.releaseTo >= 0) releaseRing(r.releaseTo);
  spoolCounters(spool);
  if (spool.error !== undefined) {
    c[Counter.spoolFailed] = 1;
    if (!spoolFailureLogged) {
      spoolFailureLogged = true;
      log(
        "error",
        `spool write failed in ${spool.dir}: ${spool.error}; events wait in the ring and are dropped when it is full`,
      );
    }
  } else if (!r.complete) {
    st.fullAt = spool.bytes;
    if (c[Counter.spoolFull] === 0) {
      c[Counter.spoolFull] = 1;
      log(
        "warn",
        `spool is full (spoolMaxBytes ${config.spoolMaxBytes}); ` +
          "events wait in the ring and are dropped when it is full",
      );
    }
  }
  if (r.moved > 0 || r.releaseTo >= 0) scheduleRelease(); // the moved entries are finished now
}

async function setupStream(): Promise<void> {
  try {
    // checkAPI off: a user allowed only $JS.API.STREAM.*.<stream> has no $JS.API.INFO to probe.
    const jsm = await jetstreamManager(st.nc!, { checkAPI: false });
    const info = await ensureStream(jsm, config, st.nc!.info);
    await choosePublishPath(info, jsm);
    reportStream(info);
    if (info.warning) log("warn", info.warning);
  } catch (e) {
    const info = setupFailure(config.streamName, e);
    await choosePublishPath(info, undefined);
    reportStream(info);
    log("warn", info.warning!);
  }
}

function reportStream(info: StreamInfoSummary): void {
  st.streamInfo = info;
  post({ t: "stream", info });
}

async function watchStatus(conn: NatsConnection): Promise<void> {
  for await (const s of conn.status()) {
    switch (s.type) {
      case "disconnect":
        st.connected = false;
        post({ t: "connection", state: "reconnecting", server: redactUrl(String(s.server)) });
        if (st.stopping) void finish();
        break;
      case "reconnect":
        st.connected = true;
        c[Counter.reconnects]++;
        post({
          t: "connection",
          state: st.streamReady ? "connected" : "connecting",
          server: redactUrl(String(s.server)),
        });
        st.fast?.reconnected();
        if (st.streamReady) resendAll();
        schedulePump();
        break;
    }
  }
}

function checkStopped(): void {
  const idle = window.size === 0 && consumer.used() === 0 && (backlog === undefined || backlog.idle);
  if (idle || sharedClockMs() >= st.stopDeadline) void finish();
  else setTimeout(schedulePump, 5);
}

/**
 * Graceful stop: whatever is not stored by the deadline goes to the spool for the next start (the
 * ring, in flight or not; spool replays keep their saved progress). Reports the bytes left over
 * when there is no spool to take them.
 */
async function finish(): Promise<void> {
  if (st.finishing) return;
  st.finishing = true;
  clearInterval(sweeper);
  clearInterval(ringWatch);
  if (st.pollTimer) clearTimeout(st.pollTimer);
  settle();
  countAckedOutOfOrder();
  if (backlog !== undefined) {
    if (consumer.used() > 0) moveRing();
    backlog.saveProgress();
    backlog.spool.close();
    spoolCounters(backlog.spool);
  }
  lock?.release();
  const unacked = consumer.used();
  const nc = st.nc;
  if (nc) {
    const left = Math.max(100, st.stopDeadline - sharedClockMs());
    await Promise.race([nc.drain().catch(() => {}), new Promise((r) => setTimeout(r, left))]);
    if (!nc.isClosed()) await nc.close().catch(() => {});
  }
  post({ t: "connection", state: "closed" });
  post({ t: "stopped", unacked });
  port.close();
}

/**
 * At stop: ring records acked behind an older unacked record are stored and will not be published
 * again (the spool takes only unacked ones): count them now. Spool records acked out of order are
 * not: the next start replays them from the saved progress mark and counts them then.
 */
function countAckedOutOfOrder(): void {
  for (let t = window.low; t < window.high; t++) {
    const i = window.slot(t);
    if (window.state[i] !== ACKED || window.from[i] === FROM_SPOOL) continue;
    c[Counter.acked]++;
    c[Counter.duplicates] += window.duplicate[i];
    window.state[i] = DROPPED; // counted: not again
  }
}

port.on("message", (m: HostMessage) => {
  if (m.t === "latency") post({ t: "latency", id: m.id, snapshot: latency.snapshot() });
  else if (m.t === "stop") {
    st.stopping = true;
    st.stopDeadline = m.deadline;
    if (!canPublish()) void finish();
    else schedulePump();
  }
});

const sweeper = setInterval(sweep, SWEEP_MS); // also keeps this thread alive while waitAsync is pending
const ringWatch = setInterval(checkRing, SPOOL_CHECK_MS);

/**
 * Maps the whole ring into memory from this thread, so the gateway's thread never pays a page
 * fault on its first pass through the ring (measured: 1.9 us instead of 0.8 us per event, and
 * 250 ms of faults for 32 MiB on this kind of VM). An atomic add of 0 writes each page without
 * changing a byte the producer may be writing. Done in slices to keep this thread responsive.
 */
function prefaultRing(): void {
  const words = new Int32Array(sab, CONTROL_AREA_BYTES, views.capacity >>> 2);
  const PAGE_WORDS = 1024;
  let w = 0;
  const slice = () => {
    for (const end = Math.min(words.length, w + PAGE_WORDS * 256); w < end; w += PAGE_WORDS) Atomics.add(words, w, 0);
    if (w < words.length && !st.finishing) setImmediate(slice);
  };
  slice();
}

let plan: ConnectionPlan | undefined;

/**
 * One attempt that reports why it failed (server down, wrong credentials...), then attempts in the
 * background for as long as it takes; events wait in the ring (or the spool) meanwhile. Settings that
 * cannot be used (a missing creds file...) are reported once and checked again every 5 s.
 */
async function firstConnection(): Promise<NatsConnection | undefined> {
  plan = await waitForConnectionPlan(
    config,
    (problem) => {
      post({ t: "connection", state: "connecting", error: problem });
      log("error", `${problem}; checking again every 5 s, events wait in the ring`);
    },
    (msg) => log("warn", msg),
    () => st.finishing,
  );
  if (plan === undefined) return undefined;
  const opts = plan.options;
  try {
    return await connect({ ...opts, waitOnFirstConnect: false });
  } catch (e) {
    const why = await explainConnectError(e, plan);
    post({ t: "connection", state: "connecting", error: `cannot connect to NATS: ${why}` });
    log("warn", `cannot connect to NATS (${why}); retrying in the background, events wait in the ring`);
    return connect(opts);
  }
}

async function main(): Promise<void> {
  prefaultRing();
  post({ t: "connection", state: "connecting" });
  const conn = await firstConnection();
  if (conn === undefined || st.finishing) {
    await conn?.close();
    return;
  }
  st.nc = conn;
  st.connected = !conn.isClosed();
  if (config.publishMode === "fast-batch") {
    const handler = { onAck, onUnconfirmed, onFallback, onRoom: schedulePump };
    const opts = { flow: config.maxInFlight >>> 2, timeoutMs, now: sharedClockMs };
    st.publisher = st.fast = new FastBatchPublisher(conn, config.streamName, handler, opts);
  } else st.publisher = new InboxPublisher(conn, config.streamName, onAck);
  void watchStatus(conn);
  // The client gave up on the connection (e.g. authorization revoked): exit, and the supervisor
  // starts a fresh worker (and connection) after its backoff. Nothing unacked is lost.
  void conn.closed().then((err) => {
    if (st.finishing) return;
    const why = err ? `: ${describeConnectError(err, plan)}` : "";
    log("error", `NATS connection closed${why}; restarting the publisher`);
    process.exit(1);
  });
  await setupStream();
  st.streamReady = true;
  // The connection may have dropped while the stream was checked: report what it is now.
  post({ t: "connection", state: st.connected ? "connected" : "reconnecting", server: redactUrl(conn.getServer()) });
  if (st.stopping && !canPublish()) void finish();
  else schedulePump();
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// A connection the client gives up on (e.g. rejected credentials): exit, and the supervisor tries
// again with a fresh worker after its backoff. Nothing in the ring or the spool is lost.
main().catch((e) => {
  const why = describeConnectError(e, plan);
  post({ t: "connection", state: "closed", error: `cannot connect to NATS: ${why}` });
  log("error", `cannot connect to NATS (${why}); the publisher restarts after a backoff`);
  process.exit(1);
});
