// One process at a time per spool directory. The LOCK file names its holder by pid, the kernel's
// start time of that pid and a random token, so a lock left by a dead process, by a process whose
// pid is now used by an unrelated one, or half-written (empty) is recognised as stale and taken
// over: a stale lock must never strand the segments of an earlier run. It is removed on release.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

interface Holder {
  pid: number;
  /** Start time of the pid in clock ticks since boot (/proc/<pid>/stat field 22); "" where unknown. */
  start: string;
  token: string;
}

/** The start time of `pid` as the kernel reports it, or "" where /proc is not available. */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 2 (the command) may hold spaces and parentheses: count fields after the last ")".
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, "utf8")) as Partial<Holder>;
    if (typeof h.pid === "number" && Number.isInteger(h.pid) && h.pid > 0 && typeof h.token === "string") {
      return { pid: h.pid, start: typeof h.start === "string" ? h.start : "", token: h.token };
    }
  } catch {
    // missing, empty or not ours: stale
  }
  return undefined;
}

/** True while another live process holds the lock. Our own pid: a predecessor worker of this process. */
function heldByOther(h: Holder | undefined): boolean {
  if (h === undefined || h.pid === process.pid) return false;
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  // Alive (or not ours to signal): the same process only if it started when the lock says.
  const now = startTimeOf(h.pid);
  return h.start === "" || now === "" || now === h.start;
}

export class SpoolLock {
  private readonly path: string;
  private readonly token = randomBytes(8).toString("hex");
  private held = false;

  constructor(dir: string) {
    this.path = join(dir, "LOCK");
  }

  /** Takes the lock; returns a reason when another live process holds it. */
  acquire(): string | undefined {
    const h = readHolder(this.path);
    if (heldByOther(h)) return `spool directory ${this.path.slice(0, -5)} is in use by process ${h!.pid}`;
    const me: Holder = { pid: process.pid, start: startTimeOf(process.pid), token: this.token };
    // Write beside it and rename: the LOCK file is never seen half-written.
    const tmp = `${this.path}.${this.token}`;
    writeFileSync(tmp, JSON.stringify(me), { mode: 0o600 });
    renameSync(tmp, this.path);
    this.held = readHolder(this.path)?.token === this.token;
    return this.held ? undefined : `spool directory ${this.path.slice(0, -5)} was locked by another process meanwhile`;
  }

  /** Removes the LOCK file if it is still ours. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      if (readHolder(this.path)?.token === this.token) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}
