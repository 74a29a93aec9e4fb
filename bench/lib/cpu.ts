// CPU time of the parts a run uses, read from Linux's /proc: a whole process (nats-server), one
// named thread of this process (the plugin's publisher worker), and a child that bash's `times`
// reports (the Go bench tool). Elsewhere these read as undefined and the report shows "-".
import { readdirSync, readFileSync } from "node:fs";

/** The name src/supervisor.ts gives the plugin's publisher Worker (the smoke test checks it is found). */
export const PUBLISHER_THREAD = "nats-eventstore-publisher";

const USER_HZ = 100; // clock ticks per second in /proc/<pid>/stat on Linux

/** User + system CPU time (ms) of process `pid` so far, all its threads; undefined without /proc. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after "(comm) ": utime and stime are the 12th and 13th.
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * CPU time (ms, ns resolution from schedstat) of this process's threads named `name` (a worker
 * thread's `name` option, cut to 15 bytes by the kernel); undefined when there is none or no /proc.
 * A thread that exited between two readings takes its time with it: the worker restarts only on a crash.
 */
export function threadCpuMs(name: string): number | undefined {
  const comm = name.slice(0, 15);
  let total: number | undefined;
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        if (readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim() !== comm) continue;
        const ns = Number(readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").split(" ")[0]);
        if (Number.isFinite(ns)) total = (total ?? 0) + ns / 1e6;
      } catch {
        // the thread ended while we looked
      }
    }
  } catch {
    return undefined;
  }
  return total;
}

/**
 * The children's user + system CPU time (ms) from the output of bash's `times` builtin: two lines,
 * the shell's own times then its children's, each "XmY.YYYs XmY.YYYs". Undefined if unreadable.
 */
export function parseBashTimes(out: string): number | undefined {
  const lines = out.trim().split("\n");
  if (lines.length < 2) return undefined;
  const m = /^(\d+)m([\d.]+)s\s+(\d+)m([\d.]+)s$/.exec(lines[lines.length - 1].trim());
  if (!m) return undefined;
  const ms = (min: string, sec: string) => (Number(min) * 60 + Number(sec)) * 1000;
  return ms(m[1], m[2]) + ms(m[3], m[4]);
}
