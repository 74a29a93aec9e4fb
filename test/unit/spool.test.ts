// The spool and its coordination with the ring, without a NATS server: files, damage, progress,
// locks, and the decision of when ring records go to disk.
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Spool, type ReplaySegment } from "../../workers/spool.ts";
import { SpoolLock } from "../../workers/spool-lock.ts";
import { Backlog, RING_STALL_MS, ringMustSpool, type RingState } from "../../workers/backlog.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import {
  ACKED,
  AckWindow,
  MOVED,
  OUTCOME_ACKED,
  OUTCOME_DUPLICATE,
  OUTCOME_OWN,
  SENT,
  newReleased,
} from "../../workers/ack-window.ts";
import { Counter, CTL_I32_RELEASE } from "../../src/ring/layout.ts";
import { recSeq } from "../../src/record/format.ts";
import { FRAME_PREFIX_BYTES } from "../../workers/spool-format.ts";
import { filledRing, ringRecords, writeSegment } from "../helpers/spool-files.ts";

const root = mkdtempSync(join(tmpdir(), "spool-unit-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};
const logs: string[] = [];
const log = (level: string, msg: string) => logs.push(`${level} ${msg}`);
const open = (dir: string, max = 1 << 30) => {
  const s = new Spool(dir, max, 7, "json", log);
  s.open();
  return s;
};
/** The payload field i of each record of a segment, in order. */
const payloadIs = (seg: ReplaySegment) =>
  seg.scan.offsets.map((o) => JSON.parse(`${/\{"i":\d+/.exec(seg.src.bytes.toString("latin1", o, o + 400))![0]}}`).i);
const segFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(".seg"));

describe("spool files", () => {
  it("gives back appended records in order, and deletes a segment once all of it is released", () => {
    const dir = freshDir();
    const { views } = filledRing(50);
    const s = open(dir);
    for (const [pos, len] of ringRecords(views)) expect(s.append(views.bytes, pos, len)).toBe(true);
    s.flush(true);
    const seg = s.nextSegment()!;
    expect(payloadIs(seg)).toEqual([...Array(50).keys()]);
    expect(seg.instance).toBe(7);
    expect(s.nextSegment()).toBeUndefined();
    expect(segFiles(dir).length).toBe(1);
    s.retire(seg);
    expect(segFiles(dir)).toEqual([]);
    expect(s.bytes).toBe(0);
  });

  it("resumes a replay after the saved acked progress (a stop mid-replay re-sends nothing stored)", () => {
    const dir = freshDir();
    const { views } = filledRing(100);
    writeSegment(dir, "000000000000001-000000.seg", views, 3);
    const first = open(dir);
    const seg = first.nextSegment()!;
    seg.released = 40;
    first.progressed(seg);
    first.saveProgress(() => {});
    first.close();
    const again = open(dir).nextSegment()!;
    expect(payloadIs(again)).toEqual([...Array(60).keys()].map((k) => k + 40));
    expect(again.instance).toBe(3);
  });

  it("ignores a damaged progress mark (replays from the start: duplicates at worst, never loss)", () => {
    const dir = freshDir();
    const { views } = filledRing(10);
    writeSegment(dir, "a.seg", views, 3);
    writeFileSync(join(dir, "a.seg.ack"), Buffer.alloc(16, 0x41));
    expect(open(dir).nextSegment()!.scan.offsets.length).toBe(10);
  });

  it("sets aside what it cannot read as *.bad, counts and logs it, and goes on with the next segment", () => {
    const dir = freshDir();
    const { views } = filledRing(20);
    writeFileSync(join(dir, "001-garbage.seg"), "this is not a segment at all, but it is long enough");
    mkdirSync(join(dir, "002-a-directory.seg"));
    writeFileSync(join(dir, "003-empty.seg"), Buffer.alloc(0));
    writeSegment(dir, "004-good.seg", views, 3);
    logs.length = 0;
    const s = open(dir);
    const seg = s.nextSegment()!;
    expect(seg.name).toBe("004-good.seg");
    expect(seg.scan.offsets.length).toBe(20);
    expect(s.damage.segments).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(["001-garbage.seg.bad", "002-a-directory.seg.bad", "004-good.seg"]);
    expect(logs.filter((l) => l.includes("kept as")).length).toBe(2);
  });

  it("after setting aside every older file, goes on with the records being written (not stuck behind them)", () => {
    // A worker that found only damaged files from an earlier run and spooled ring records before
    // its first replay: those records are the next to publish, with nothing else to wake it later.
    const dir = freshDir();
    const { views } = filledRing(30);
    writeFileSync(join(dir, "000000000000000-000000.seg"), "this is not a segment at all, but it is long enough");
    const s = open(dir);
    for (const [pos, len] of ringRecords(views)) expect(s.append(views.bytes, pos, len)).toBe(true);
    s.flush(true);
    const seg = s.nextSegment();
    expect(seg && payloadIs(seg)).toEqual([...Array(30).keys()]);
    expect(s.hasUnloaded).toBe(false);
  });

  it("delivers the readable records of a damaged segment, then keeps the file aside instead of deleting it", () => {
    const dir = freshDir();
    const { views } = filledRing(100);
    const frames = writeSegment(dir, "x.seg", views, 3);
    const raw = readFileSync(join(dir, "x.seg"));
    raw.writeUInt32LE(0, frames[9] + FRAME_PREFIX_BYTES); // zero record 10's length word
    writeFileSync(join(dir, "x.seg"), raw);
    logs.length = 0;
    const s = open(dir);
    const seg = s.nextSegment()!;
    expect(seg.scan.offsets.length).toBe(99);
    expect(payloadIs(seg).includes(9)).toBe(false);
    expect(logs.some((l) => /x\.seg is damaged .*99 readable records/.test(l))).toBe(true);
    expect(s.damage.records).toBe(1);
    s.retire(seg);
    expect(readdirSync(dir)).toEqual(["x.seg.bad"]);
  });

  it("sets aside a file too large to be a segment without reading it", () => {
    const dir = freshDir();
    const big = Buffer.alloc(64 * 1024 * 1024);
    big.writeUInt32LE(0x5345434f, 0);
    writeFileSync(join(dir, "huge.seg"), big);
    const s = open(dir);
    expect(s.nextSegment()).toBeUndefined();
    expect(readdirSync(dir)).toEqual(["huge.seg.bad"]);
  });

  it("stops taking records at spoolMaxBytes", () => {
    const dir = freshDir();
    const { views } = filledRing(100);
    const s = open(dir, 4096);
    const took = ringRecords(views).filter(([pos, len]) => s.append(views.bytes, pos, len)).length;
    expect(took).toBeGreaterThan(0);
    expect(took).toBeLessThan(100);
    expect(s.bytes).toBeLessThanOrEqual(4096);
  });
});

describe("spool lock", () => {
  it("takes over an empty, garbage or dead-process LOCK, and removes its own on release", () => {
    for (const content of ["", "{not json", JSON.stringify({ pid: 2 ** 22 + 12345, start: "1", token: "x" })]) {
      const dir = freshDir();
      writeFileSync(join(dir, "LOCK"), content);
      const lock = new SpoolLock(dir);
      expect(lock.acquire()).toBeUndefined();
      lock.release();
      expect(existsSync(join(dir, "LOCK"))).toBe(false);
    }
  });

  it("takes over a LOCK whose pid now belongs to an unrelated process (other start time)", () => {
    const dir = freshDir();
    writeFileSync(join(dir, "LOCK"), JSON.stringify({ pid: 1, start: "999999999999", token: "x" }));
    expect(new SpoolLock(dir).acquire()).toBeUndefined();
  });

  it("refuses while another live process holds it", async () => {
    const dir = freshDir();
    const child = spawn("sleep", ["30"]);
    try {
      await new Promise((r) => setTimeout(r, 50));
      const stat = readFileSync(`/proc/${child.pid}/stat`, "utf8");
      const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
      writeFileSync(join(dir, "LOCK"), JSON.stringify({ pid: child.pid, start, token: "x" }));
      expect(new SpoolLock(dir).acquire()).toMatch(`in use by process ${child.pid}`);
    } finally {
      child.kill();
    }
  });
});

describe("when ring records go to the spool", () => {
  const state = (over: Partial<RingState>): RingState => ({
    used: 600,
    capacity: 1000,
    spoolMark: 500,
    refusing: false,
    canPublish: true,
    backlog: false,
    msSinceRingRelease: 0,
    ...over,
  });
  it("never below the spool mark (a quarter of it behind a replay, which the ring must wait for anyway)", () => {
    expect(ringMustSpool(state({ used: 499, canPublish: false }))).toBe(false);
    expect(ringMustSpool(state({ used: 124, backlog: true }))).toBe(false);
    expect(ringMustSpool(state({ used: 125, backlog: true }))).toBe(true);
  });
  it("past the mark when JetStream does not take the ring: disconnected, refusing, not acking", () => {
    expect(ringMustSpool(state({ canPublish: false }))).toBe(true);
    expect(ringMustSpool(state({ refusing: true }))).toBe(true);
    expect(ringMustSpool(state({ msSinceRingRelease: RING_STALL_MS }))).toBe(true);
  });
  it("when JetStream takes it but more slowly than the host fills it: only once it is nearly full", () => {
    expect(ringMustSpool(state({}))).toBe(false);
    expect(ringMustSpool(state({ used: 875 }))).toBe(true);
  });
});

describe("moving the ring to the spool", () => {
  function setup(n: number) {
    const dir = freshDir();
    const ring = filledRing(n);
    const window = new AckWindow<ReplaySegment>(64);
    const spool = open(dir);
    const backlog = new Backlog(spool, ring.views, ring.consumer, window);
    /** Publishes the next `k` ring records into the window (as the publisher does). */
    const publish = (k: number) => {
      for (let j = 0; j < k; j++) {
        const pos = ring.consumer.next();
        window.add(pos, ring.consumer.end, undefined, true, 0, 0, 1000);
      }
    };
    const seqs = (seg: ReplaySegment) => seg.scan.offsets.map((o) => recSeq(seg.src, o));
    return { dir, ...ring, window, spool, backlog, publish, seqs };
  }

  it("moves the in-flight records too (a late ack is then ignored) and frees the ring at once", () => {
    const t = setup(30);
    t.publish(10);
    t.window.state[t.window.slot(2)] = ACKED; // stored already: not spooled again, counted when released
    const r = t.backlog.moveRing();
    expect(r.moved).toBe(29);
    expect(r.releaseTo).toBe(t.consumer.cursor);
    expect(t.window.pending(0)).toBe(-1);
    expect(t.window.state[t.window.slot(0)]).toBe(MOVED);
    const seg = t.backlog.nextSegment()!;
    expect(t.seqs(seg)).toEqual([...Array(30).keys()].filter((k) => k !== 2));
    expect(t.window.ringEntries).toBe(0);
    const out = newReleased<ReplaySegment>();
    expect(t.window.releaseFinished(out)).toBe(10);
    expect([out.acked, out.ringTo]).toEqual([1, -1]); // the ring space went with the move
  });

  it("stops at a full spool: what it took is released, the rest stays in the ring", () => {
    const dir = freshDir();
    const ring = filledRing(30);
    const window = new AckWindow<ReplaySegment>(64);
    const b = new Backlog(open(dir, 3000), ring.views, ring.consumer, window);
    const r = b.moveRing();
    expect(r.complete).toBe(false);
    expect(r.moved).toBeGreaterThan(0);
    expect(r.moved).toBeLessThan(30);
    const rest = new RingConsumer(ring.views);
    rest.rewind(r.releaseTo);
    let left = 0;
    while (rest.next() >= 0) left++;
    expect(left).toBe(30 - r.moved);
    expect(ring.consumer.cursor).toBe(r.releaseTo);
  });

  it("keeps capture order across segments: the replay of older segments comes before newer spooled records", () => {
    const t = setup(10);
    const older = filledRing(5, { first: 1000 });
    writeSegment(t.dir, "000000000000001-000000.seg", older.views, 99);
    const s2 = new Spool(t.dir, 1 << 30, 7, "json", log); // re-open to see the older file
    s2.open();
    const b = new Backlog(s2, t.views, t.consumer, t.window);
    b.moveRing();
    const first = b.nextSegment()!;
    expect(payloadIs(first)).toEqual([1000, 1001, 1002, 1003, 1004]);
    first.next = first.scan.offsets.length;
    expect(payloadIs(b.nextSegment()!)).toEqual([...Array(10).keys()]);
  });

  it("a spool write that fails releases nothing and leaves the records where they were", () => {
    const t = setup(10);
    t.publish(3);
    const cursor = t.consumer.cursor;
    rmSync(t.dir, { recursive: true, force: true }); // the next segment cannot be created
    const r = t.backlog.moveRing();
    expect(r).toEqual({ moved: 0, complete: false, releaseTo: -1 });
    expect(t.consumer.cursor).toBe(cursor);
    expect(t.window.state[t.window.slot(0)]).toBe(SENT);
    expect(Atomics.load(t.views.ctl, CTL_I32_RELEASE)).toBe(0);
  });

  it("retires a segment when all its records are released, in order, and saves progress before that", () => {
    const t = setup(6);
    t.backlog.moveRing();
    const seg = t.backlog.nextSegment()!;
    seg.next = seg.scan.offsets.length;
    const acked = [OUTCOME_ACKED | OUTCOME_OWN, OUTCOME_ACKED | OUTCOME_OWN, OUTCOME_ACKED | OUTCOME_OWN];
    t.backlog.released([seg, seg, seg], acked);
    t.backlog.saveProgress();
    expect(existsSync(join(t.dir, `${seg.name}.ack`))).toBe(true);
    t.backlog.released([seg, seg, seg], acked);
    expect(segFiles(t.dir)).toEqual([]);
    expect(existsSync(join(t.dir, `${seg.name}.ack`))).toBe(false);
    expect(t.backlog.idle).toBe(true);
  });

  it("counts replayed outcomes in status only once the progress mark covering them is saved", () => {
    // A worker that dies before saving its mark: its successor replays those records and counts them.
    const t = setup(4);
    t.backlog.moveRing();
    const seg = t.backlog.nextSegment()!;
    seg.next = 4;
    const c = t.views.counters;
    t.backlog.released([seg, seg], [OUTCOME_ACKED | OUTCOME_OWN, OUTCOME_ACKED | OUTCOME_DUPLICATE]);
    expect([c[Counter.acked], c[Counter.recovered]]).toEqual([0, 0]);
    t.backlog.saveProgress();
    expect([c[Counter.acked], c[Counter.recovered], c[Counter.duplicates]]).toEqual([1, 1, 1]);
    t.backlog.released([seg, seg], [OUTCOME_OWN, OUTCOME_ACKED | OUTCOME_OWN]); // one given up, one stored
    expect([c[Counter.acked], c[Counter.undeliverable]]).toEqual([2, 1]); // counted at retirement
  });
});
