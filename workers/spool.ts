// The disk spool: where the worker puts records while NATS is unreachable and the ring is filling,
// and what is left at a graceful stop. Append-only segment files hold ring records byte for byte
// (each 8-byte aligned, its length in its first word) behind a header with the instance id of the
// process that captured them, so a replay builds the very same message ids. A segment is deleted
// only when every record in it is acked.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, unlinkSync, writeSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { align8 } from "../src/ring/layout.ts";
import type { RecordSource } from "./envelope.ts";

const MAGIC = 0x5345434f; // "OCES" little-endian
const VERSION = 1;
const HEADER = 16;
const SEGMENT_BYTES = 16 * 1024 * 1024;
const WRITE_BUFFER = 1024 * 1024;
const FSYNC_EVERY_MS = 200;

/** A segment loaded for replay: its records as a RecordSource, read front to back. */
export interface ReplaySegment {
  name: string;
  instance: number;
  src: RecordSource;
  /** Offsets of the records, in order. */
  offsets: number[];
  /** Next record to publish. */
  next: number;
  /** Records not yet acked; the file is deleted when this reaches 0 after the last publish. */
  unacked: number;
}

function sourceOf(bytes: Uint8Array): RecordSource {
  // Copy into a fresh, 8-byte aligned buffer so the typed views line up with the records.
  const ab = new ArrayBuffer(align8(bytes.length));
  const b = Buffer.from(ab);
  b.set(bytes);
  return { bytes: b, u16: new Uint16Array(ab), u32: new Uint32Array(ab), f64: new Float64Array(ab) };
}

export class Spool {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly instance: number;
  /** Sealed or current segments not yet fully acked, oldest first (file names sort by creation). */
  private readonly pendingNames: string[] = [];
  private fd = -1;
  private currentName = "";
  private currentBytes = 0;
  private buf = Buffer.alloc(WRITE_BUFFER);
  private bufLen = 0;
  private lastSync = 0;
  private dirty = false;
  private counter = 0;
  /** Bytes on disk (segments not yet deleted, plus buffered bytes). */
  bytes = 0;
  /** Set when a write failed (disk full, no permission): spooling stops, the ring's drop policy applies. */
  error: string | undefined;

  constructor(dir: string, maxBytes: number, instance: number) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.instance = instance;
  }

  /** Creates the directory and finds segments left by an earlier run (to replay first). */
  open(): number {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const names = readdirSync(this.dir)
      .filter((n) => n.endsWith(".seg"))
      .sort();
    for (const n of names) {
      const size = statSync(join(this.dir, n)).size;
      if (size <= HEADER) {
        unlinkSync(join(this.dir, n));
        continue;
      }
      this.pendingNames.push(n);
      this.bytes += size;
    }
    return this.pendingNames.length;
  }

  /** True when there are records on disk in segments for which `loaded` says no. */
  hasUnloaded(loaded: (name: string) => boolean): boolean {
    return (this.fd >= 0 && this.currentBytes > HEADER) || this.pendingNames.some((n) => !loaded(n));
  }

  /** Appends one record (its bytes as in the ring). False when the spool is full or broken. */
  append(src: Uint8Array, start: number, len: number): boolean {
    if (this.error !== undefined) return false;
    const padded = align8(len);
    if (this.bytes + padded > this.maxBytes) return false;
    try {
      if (this.fd < 0 || this.currentBytes + padded > SEGMENT_BYTES) this.roll();
      if (this.bufLen + padded > this.buf.length) this.flushBuffer();
      if (padded > this.buf.length) this.buf = Buffer.alloc(padded);
      this.buf.set(src.subarray(start, start + len), this.bufLen);
      this.buf.fill(0, this.bufLen + len, this.bufLen + padded);
      this.bufLen += padded;
      this.currentBytes += padded;
      this.bytes += padded;
      return true;
    } catch (e) {
      this.fail(e);
      return false;
    }
  }

  /** Writes buffered records to the file; fsyncs at most every FSYNC_EVERY_MS unless forced. */
  flush(force = false): void {
    if (this.fd < 0 || this.error !== undefined) return;
    try {
      this.flushBuffer();
      const now = Date.now();
      if (this.dirty && (force || now - this.lastSync >= FSYNC_EVERY_MS)) {
        fsyncSync(this.fd);
        this.dirty = false;
        this.lastSync = now;
      }
    } catch (e) {
      this.fail(e);
    }
  }

  /** Seals the current segment so it can be replayed. */
  seal(): void {
    if (this.fd < 0) return;
    this.flush(true);
    try {
      closeSync(this.fd);
    } catch {
      // already reported by flush
    }
    this.fd = -1;
    if (this.currentBytes > HEADER) this.pendingNames.push(this.currentName);
    else {
      try {
        unlinkSync(join(this.dir, this.currentName));
      } catch {
        // nothing to remove
      }
    }
    this.currentBytes = 0;
  }

  /**
   * Loads the oldest segment for which `loaded` says no, for replay; the segment being written is
   * sealed when it is the only one left.
   */
  nextSegment(loaded: (name: string) => boolean): ReplaySegment | undefined {
    let name = this.pendingNames.find((n) => !loaded(n));
    if (name === undefined && this.fd >= 0) {
      this.seal();
      name = this.pendingNames.find((n) => !loaded(n));
    }
    if (name === undefined) return undefined;
    const raw = readFileSync(join(this.dir, name));
    const src = sourceOf(raw);
    const ok = raw.length >= HEADER && src.u32[0] === MAGIC && src.u32[1] === VERSION;
    const offsets: number[] = [];
    if (ok) {
      // A record cut short by a crash mid-write ends the segment.
      for (let o = HEADER; o + 8 <= raw.length; ) {
        const len = src.u32[o >>> 2];
        if (len < 40 || o + len > raw.length) break;
        offsets.push(o);
        o += align8(len);
      }
    }
    if (offsets.length === 0) {
      this.done(name);
      return this.nextSegment(loaded);
    }
    return { name, instance: src.u32[2], src, offsets, next: 0, unacked: offsets.length };
  }

  /** Deletes a fully acked segment. */
  done(name: string): void {
    const i = this.pendingNames.indexOf(name);
    if (i >= 0) this.pendingNames.splice(i, 1);
    const path = join(this.dir, name);
    try {
      this.bytes -= statSync(path).size;
      unlinkSync(path);
    } catch {
      // already gone
    }
    if (this.bytes < 0) this.bytes = 0;
  }

  close(): void {
    this.seal();
  }

  private roll(): void {
    if (this.fd >= 0) this.seal();
    // Names sort in creation order across runs: time, then a counter.
    this.currentName = `${Date.now().toString().padStart(15, "0")}-${(this.counter++).toString().padStart(6, "0")}.seg`;
    this.fd = openSync(join(this.dir, this.currentName), "wx", 0o600);
    const h = Buffer.alloc(HEADER);
    h.writeUInt32LE(MAGIC, 0);
    h.writeUInt32LE(VERSION, 4);
    h.writeUInt32LE(this.instance >>> 0, 8);
    writeSync(this.fd, h);
    this.currentBytes = HEADER;
    this.bytes += HEADER;
  }

  private flushBuffer(): void {
    if (this.bufLen === 0) return;
    let off = 0;
    while (off < this.bufLen) off += writeSync(this.fd, this.buf, off, this.bufLen - off);
    this.bufLen = 0;
    this.dirty = true;
  }

  private fail(e: unknown): void {
    this.error = e instanceof Error ? e.message : String(e);
  }
}

/** An exclusive lock on a spool directory (one gateway process per directory). */
export function lockSpool(dir: string): string | undefined {
  const lock = join(dir, "LOCK");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    writeFileSync(lock, String(process.pid), { flag: "wx" });
    return undefined;
  } catch {
    const pid = Number(readFileSync(lock, "utf8"));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = pid !== process.pid;
    } catch {
      alive = false;
    }
    if (alive) return `spool directory ${dir} is in use by process ${pid}`;
    writeFileSync(lock, String(process.pid));
    return undefined;
  }
}
