// CPU time of the calling thread in nanoseconds, exact: clock_gettime(CLOCK_THREAD_CPUTIME_ID).
// process.threadCpuUsage() and /proc/thread-self/schedstat are only brought up to date at the
// scheduler's tick on this VM (a 1 ms batch of work reads as 0 or 4 ms), too coarse for batches of
// a few milliseconds. Node exposes that clock only through WASI, so a 103-byte WebAssembly module
// (written out below) imports WASI's clock_time_get and returns the thread CPU clock (id 3).
// Falls back to process.threadCpuUsage() where WASI is not available.
import { WASI } from "node:wasi";

const utf8 = (s: string) => [s.length, ...Buffer.from(s)];
// (module
//   (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
//   (memory (export "memory") 1)
//   (func (export "now") (result i64)
//     (drop (call $clock (i32.const 3) (i64.const 1) (i32.const 0)))
//     (i64.load (i32.const 0))))
const MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
  ...[0x01, 0x0c, 0x02, 0x60, 0x03, 0x7f, 0x7e, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7e],
  ...[0x02, 0x29, 0x01, ...utf8("wasi_snapshot_preview1"), ...utf8("clock_time_get"), 0x00, 0x00],
  ...[0x03, 0x02, 0x01, 0x01],
  ...[0x05, 0x03, 0x01, 0x00, 0x01],
  ...[0x07, 0x10, 0x02, ...utf8("now"), 0x00, 0x01, ...utf8("memory"), 0x02, 0x00],
  ...[0x0a, 0x12, 0x01, 0x10, 0x00, 0x41, 0x03, 0x42, 0x01, 0x41, 0x00, 0x10, 0x00, 0x1a],
  ...[0x41, 0x00, 0x29, 0x03, 0x00, 0x0b],
]);

// The few WebAssembly calls used here (the project's TypeScript lib has no WebAssembly types).
interface Wasm {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly?: Wasm }).WebAssembly;

function wasiClock(): (() => number) | undefined {
  try {
    if (wasm === undefined) return undefined;
    const wasi = new WASI({ version: "preview1" });
    const inst = new wasm.Instance(new wasm.Module(MODULE), wasi.getImportObject());
    wasi.initialize(inst);
    const now = inst.exports.now as () => bigint;
    return now() > 0n ? () => Number(now()) : undefined;
  } catch {
    return undefined;
  }
}

const exact = wasiClock();

/** Whether threadCpuNs() is exact (else: the tick-granular process.threadCpuUsage()). */
export const THREAD_CPU_EXACT = exact !== undefined;

/** CPU time this thread has used, in ns. */
export const threadCpuNs: () => number =
  exact ??
  (() => {
    const u = process.threadCpuUsage();
    return (u.user + u.system) * 1000;
  });
