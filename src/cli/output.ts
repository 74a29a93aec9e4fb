// Buffered output for events: lines are gathered into 256 KiB chunks (one write per chunk, not
// per event) and the reader is paused while the destination (a pipe, a terminal) is full.
import type { Writable } from "node:stream";
import type { StoredEvent } from "../read/events.ts";

const CHUNK = 256 * 1024;
const NL = 0x0a;

export class LineOutput {
  private readonly out: Writable;
  private buf = Buffer.allocUnsafe(CHUNK);
  private pos = 0;
  private waiting: Promise<void> | undefined;
  /** The destination went away (EPIPE: `| head`): stop reading. */
  closed = false;
  /** Called when the destination cannot take more (pause the reader) and when it can again. */
  onFull: (() => void) | undefined;
  onDrain: (() => void) | undefined;

  constructor(out: Writable) {
    this.out = out;
    out.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE" || e.code === "ERR_STREAM_DESTROYED") this.closed = true;
    });
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = Buffer.allocUnsafe(n);
  }

  /** One line of bytes (a newline is added). */
  bytes(b: Uint8Array): void {
    this.room(b.length + 1);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    this.buf[this.pos++] = NL;
    if (this.pos >= CHUNK / 2) this.flush();
  }

  /** One line of text (a newline is added). */
  line(s: string): void {
    this.room(s.length * 3 + 1);
    this.pos += this.buf.write(s, this.pos, "utf8");
    this.buf[this.pos++] = NL;
    if (this.pos >= CHUNK / 2) this.flush();
  }

  /** Writes what is gathered (e.g. after each event of a live tail). */
  flush(): void {
    if (this.pos === 0 || this.closed) {
      this.pos = 0;
      return;
    }
    const chunk = this.buf.subarray(0, this.pos);
    // The stream keeps the chunk until it is written: continue in a fresh buffer.
    this.buf = Buffer.allocUnsafe(CHUNK);
    this.pos = 0;
    if (!this.out.write(chunk) && !this.waiting) {
      this.onFull?.();
      this.waiting = new Promise((resolve) => {
        const done = () => {
          this.out.off("drain", done);
          this.out.off("close", done);
          this.waiting = undefined;
          resolve();
          this.onDrain?.();
        };
        this.out.once("drain", done);
        this.out.once("close", done);
      });
    }
  }

  /** Flushes and waits until the destination took everything. */
  async end(): Promise<void> {
    this.flush();
    if (this.waiting) await this.waiting;
  }
}

/** An event as an NDJSON line: the stored JSON as it is when it was only checked, else re-encoded. */
export function writeJson(out: LineOutput, e: StoredEvent): void {
  if (e.env === undefined) out.bytes(e.msg.data);
  else out.line(JSON.stringify(e.env));
}
