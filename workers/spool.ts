// The disk spool's files: append-only segment files of ring records (format in spool-format.ts),
// written when the ring must be emptied faster than JetStream takes it, read back for replay in
// creation order, each with an acked-progress mark, deleted once fully acked. A file that cannot be
// trusted is never deleted and never crashes the worker: it is renamed to `*.bad`, counted and
// logged, and what could be read of it is still delivered.
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import type { Encoding } from "../src/record/format.ts";
import {
  ACK_MARK_BYTES,
  decodeAckMark,
  decodeSegmentHeader,
  encodeAckMark,
  encodeSegmentHeader,
  FRAME_PREFIX_BYTES,
  frameBytes,
  MAX_RECORD_BYTES,
  recordProblem,
  SEGMENT_HEADER_BYTES,
  SegmentScanner,
  segmentBytes,
  type SegmentBytes,
  type SegmentVersion,
  sniffEncoding,
  writeFrame,
} from "./spool-format.ts";

/**
 * A segment is sealed (and a new one begun) once it holds this many bytes. A replay reads a whole
 * segment at once, on the worker's thread: 16 MiB took up to ~270 ms on a loaded two-core host,
 * long enough for a small ring to fill meanwhile; 4 MiB keeps that read short.
 */
const SEGMENT_BYTES = 4 * 1024 * 1024;
/** Larger files are not segments of ours: set aside unread rather than loaded into memory. */
const MAX_SEGMENT_FILE_BYTES = SEGMENT_BYTES + 2 * MAX_RECORD_BYTES;
const WRITE_BUFFER = 1024 * 1024;
const FSYNC_EVERY_MS = 200;

/** Records of a segment checked per step: bounds how long one step holds the worker's event loop. */
const SCAN_BATCH = 2048;

/** A segment loaded for replay. Records are published in order and released in order. */
export interface ReplaySegment {
  readonly name: string;
  /** Instance id of the process that captured the records (it makes their message ids). */
  readonly instance: number;
  readonly encoding: Encoding;
  readonly src: SegmentBytes;
  /** Finds the usable records as the replay goes: `scan.offsets[k]`, `scan.ends[k]`. */
  readonly scan: SegmentScanner;
  /** Next record to publish. */
  next: number;
  /** Records released (acked, or given up as undeliverable), in order from the first. */
  released: number;
  /**
   * Outcomes of released records not yet in the status counters: they are counted when the progress
   * mark that covers them is saved (or the segment retired), so a successor that replays from the
   * saved mark after a crash does not count them twice.
   */
  uncounted: Tally;
}

interface Tally {
  ownAcked: number;
  earlierAcked: number;
  duplicates: number;
  ownDropped: number;
  earlierDropped: number;
}

export function emptyTally(): Tally {
  return { ownAcked: 0, earlierAcked: 0, duplicates: 0, ownDropped: 0, earlierDropped: 0 };
}

interface SpoolDamage {
  /** Files set aside as `*.bad` (or left alone where even that failed). */
  segments: number;
  records: number;
  bytes: number;
}

type SpoolLog = (level: "info" | "warn" | "error", msg: string) => void;

export class Spool {
  readonly dir: string;
  private readonly maxBytes: number;
  private readonly instance: number;
  private readonly encoding: Encoding;
  private readonly log: SpoolLog;
  /** Sealed segments not yet loaded for replay, oldest first (names sort by creation). */
  private readonly sealed: string[] = [];
  /** Loaded segments whose acked progress changed since it was last saved. */
  private readonly progressDirty = new Set<ReplaySegment>();
  /** Names that could not even be renamed aside: skipped for the life of this spool. */
  private readonly ignored = new Set<string>();
  private fd = -1;
  private currentName = "";
  private currentBytes = 0;
  private buf = Buffer.alloc(WRITE_BUFFER);
  private bufLen = 0;
  private lastSync = 0;
  private dirty = false;
  private counter = 0;
  /** Bytes of segment files on disk (plus buffered bytes): what spoolMaxBytes limits. */
  bytes = 0;
  readonly damage: SpoolDamage = { segments: 0, records: 0, bytes: 0 };
  /** Set when a write failed (disk full, no permission): spooling stops, the ring's drop policy applies. */
  error: string | undefined;

  constructor(dir: string, maxBytes: number, instance: number, encoding: Encoding, log: SpoolLog) {
    this.dir = dir;
    this.maxBytes = maxBytes;
    this.instance = instance;
    this.encoding = encoding;
    this.log = log;
  }

  /** Creates the directory and lists the segments an earlier run left (to replay first). */
  open(): number {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (const e of readdirSync(this.dir, { withFileTypes: true })) {
      if (!e.name.endsWith(".seg")) continue;
      if (!e.isFile()) {
        this.setAside(e.name, "not a regular file", 0);
        continue;
      }
      this.sealed.push(e.name);
      this.bytes += this.sizeOf(e.name);
    }
    this.sealed.sort();
    return this.sealed.length;
  }

  /** True while records wait on disk in segments not loaded yet. */
  get hasUnloaded(): boolean {
    return this.sealed.length > 0 || (this.fd >= 0 && this.currentBytes > 0);
  }

  /** Appends one record (its bytes as in the ring). False when the spool is full or broken. */
  append(src: Uint8Array, start: number, len: number): boolean {
    if (this.error !== undefined) return false;
    const size = frameBytes(len);
    if (this.bytes + size > this.maxBytes) return false;
    try {
      if (this.fd < 0 || this.currentBytes + size > SEGMENT_BYTES) this.roll();
      if (this.bufLen + size > this.buf.length) this.flushBuffer();
      if (size > this.buf.length) this.buf = Buffer.alloc(size);
      this.bufLen = writeFrame(src, start, len, this.buf, this.bufLen);
      this.currentBytes += size;
      this.bytes += size;
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

  /**
   * Loads the oldest segment not loaded yet, for replay; the segment being written is sealed when it
   * is the only one left. Unusable files are set aside on the way. Never throws.
   */
  nextSegment(): ReplaySegment | undefined {
    for (;;) {
      // Checked again after every file set aside: the segment being written may be all that is left.
      if (this.sealed.length === 0 && this.fd >= 0 && this.currentBytes > 0) this.seal();
      const name = this.sealed.shift();
      if (name === undefined) return undefined;
      const seg = this.load(name);
      if (seg !== undefined) return seg;
    }
  }

  /**
   * True when `seg` has a record `seg.next` to publish, checking more of the file if needed. Damage
   * found on the way is counted, and logged once the whole file has been read.
   */
  hasNext(seg: ReplaySegment): boolean {
    const scan = seg.scan;
    if (seg.next < scan.offsets.length) return true;
    while (!scan.done && seg.next >= scan.offsets.length) {
      const bad = scan.badRecords;
      const badBytes = scan.badBytes;
      scan.more(SCAN_BATCH);
      this.damage.records += scan.badRecords - bad;
      this.damage.bytes += scan.badBytes - badBytes;
      if (scan.done && scan.badRecords > 0) {
        this.log(
          "warn",
          `spool segment ${seg.name} is damaged (${scan.firstProblem}): ${scan.badRecords} unreadable stretch(es), ` +
            `${scan.badBytes} bytes skipped; delivering the ${scan.offsets.length} readable records, ` +
            `the file is kept as ${seg.name}.bad`,
        );
      }
    }
    return seg.next < scan.offsets.length;
  }

  /** True when every readable record of `seg` is released: it can be retired. */
  finished(seg: ReplaySegment): boolean {
    return seg.scan.done && seg.released === seg.scan.offsets.length;
  }

  /** Notes that the first `seg.released` records of a loaded segment are stored (saved by saveProgress). */
  progressed(seg: ReplaySegment): void {
    this.progressDirty.add(seg);
  }

  /**
   * Saves the acked progress of the segments that moved, so a stop or crash resumes after it;
   * `saved` is called for each segment whose mark is on disk.
   */
  saveProgress(saved: (seg: ReplaySegment) => void): void {
    for (const seg of this.progressDirty) {
      if (seg.released === 0) continue;
      const path = join(this.dir, `${seg.name}.ack`);
      try {
        writeFileSync(`${path}.tmp`, encodeAckMark(seg.scan.ends[seg.released - 1]), { mode: 0o600, flush: true });
        renameSync(`${path}.tmp`, path);
        saved(seg);
      } catch (e) {
        // Only costs duplicates (a replay from an older mark), which JetStream removes.
        this.log("warn", `could not save replay progress of ${seg.name}: ${errorText(e)}`);
      }
    }
    this.progressDirty.clear();
  }

  /** A segment all of whose readable records are released: deleted, or set aside if damaged. */
  retire(seg: ReplaySegment): void {
    this.progressDirty.delete(seg);
    const size = this.sizeOf(seg.name);
    if (seg.scan.badRecords > 0) this.setAside(seg.name, undefined, size);
    else {
      removeFile(join(this.dir, seg.name));
      this.bytes = Math.max(0, this.bytes - size);
    }
    removeFile(join(this.dir, `${seg.name}.ack`));
  }

  /** Seals the segment being written (after saveProgress); the spool can be opened again later. */
  close(): void {
    this.seal();
  }

  private load(name: string): ReplaySegment | undefined {
    const path = join(this.dir, name);
    const size = this.sizeOf(name);
    let raw: Buffer;
    try {
      if (size > MAX_SEGMENT_FILE_BYTES) {
        this.setAside(name, `${size} bytes, more than a segment can hold`, size);
        return undefined;
      }
      raw = readFileSync(path);
    } catch (e) {
      this.setAside(name, `unreadable (${errorText(e)})`, size);
      return undefined;
    }
    const header = decodeSegmentHeader(raw);
    if (typeof header === "string") {
      // A file cut short before its header was written holds nothing: that is not damage.
      if (raw.length < SEGMENT_HEADER_BYTES && raw.every((b) => b === 0)) this.discardEmpty(name, raw.length);
      else this.setAside(name, header, size);
      return undefined;
    }
    const src = segmentBytes(raw);
    const scan = new SegmentScanner(src, header, this.resumeOffset(name, src, header.version, header.dataStart));
    const seg: ReplaySegment = {
      name,
      instance: header.instance,
      encoding: header.encoding ?? this.encoding,
      src,
      scan,
      next: 0,
      released: 0,
      uncounted: emptyTally(),
    };
    if (!this.hasNext(seg)) {
      this.retire(seg);
      return undefined;
    }
    // A 0.1.0 segment did not record its encoding: tell it from the first payload.
    if (header.encoding === undefined) return { ...seg, encoding: sniffEncoding(src, scan.offsets[0]) };
    return seg;
  }

  /** Where the replay of a segment starts: after its saved acked progress, if that mark is sound. */
  private resumeOffset(name: string, src: SegmentBytes, version: SegmentVersion, dataStart: number): number {
    let mark: number | undefined;
    try {
      const raw = readFileSync(join(this.dir, `${name}.ack`));
      mark = raw.length === ACK_MARK_BYTES ? decodeAckMark(raw) : undefined;
    } catch {
      return dataStart; // no mark: nothing acked yet
    }
    const size = src.bytes.length;
    if (mark === undefined || mark < dataStart || mark > size || mark % 8 !== 0) return dataStart;
    if (mark === size) return mark;
    // A v2 mark must sit on a frame (checked by the scan); a v1 one on a sound record.
    const prefix = version === 1 ? 0 : FRAME_PREFIX_BYTES;
    return recordProblem(src, mark + prefix, size) === undefined ? mark : dataStart;
  }

  private seal(): void {
    if (this.fd < 0) return;
    this.flush(true);
    try {
      closeSync(this.fd);
    } catch {
      // already reported by flush
    }
    this.fd = -1;
    if (this.currentBytes > 0) this.sealed.push(this.currentName);
    else this.discardEmpty(this.currentName, SEGMENT_HEADER_BYTES);
    this.currentBytes = 0;
  }

  private roll(): void {
    if (this.fd >= 0) this.seal();
    // Names sort in creation order across runs: time, then a counter.
    const name = `${Date.now().toString().padStart(15, "0")}-${(this.counter++).toString().padStart(6, "0")}.seg`;
    this.currentName = name;
    this.fd = openSync(join(this.dir, name), "wx", 0o600);
    const h = encodeSegmentHeader(this.instance, this.encoding, Date.now());
    writeSync(this.fd, h);
    this.currentBytes = 0;
    this.bytes += h.length;
  }

  private flushBuffer(): void {
    if (this.bufLen === 0) return;
    let off = 0;
    while (off < this.bufLen) off += writeSync(this.fd, this.buf, off, this.bufLen - off);
    this.bufLen = 0;
    this.dirty = true;
  }

  private sizeOf(name: string): number {
    try {
      return statSync(join(this.dir, name)).size;
    } catch {
      return 0;
    }
  }

  private discardEmpty(name: string, size: number): void {
    removeFile(join(this.dir, name));
    this.bytes = Math.max(0, this.bytes - size);
  }

  /**
   * Moves an unusable file out of the way (`*.bad`), counted and logged (`why` undefined: logged
   * already); `size` is what it counted for in `bytes`.
   */
  private setAside(name: string, why: string | undefined, size: number): void {
    if (this.ignored.has(name)) return;
    this.damage.segments++;
    this.bytes = Math.max(0, this.bytes - size);
    try {
      renameSync(join(this.dir, name), join(this.dir, `${name}.bad`));
      if (why !== undefined) this.log("warn", `spool file ${name} cannot be replayed (${why}); kept as ${name}.bad`);
    } catch (e) {
      this.ignored.add(name);
      this.log(
        "warn",
        `spool file ${name} cannot be replayed (${why ?? "damaged"}) nor renamed (${errorText(e)}); skipped`,
      );
    }
  }

  private fail(e: unknown): void {
    this.error = errorText(e);
  }
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
