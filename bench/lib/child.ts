// Runs (scenario, mode) pairs in child processes (bench/lib/run-one.ts) and relays their progress.
// The full run forks a fresh child for every run; --quick keeps one child per mode and reuses it.
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ChildMessage, MicroResult, ParentMessage, RunResult, RunSpec } from "./types.ts";
import type { Progress } from "./run-one.ts";

const ENTRY = fileURLToPath(new URL("./run-one.ts", import.meta.url));

interface ChildEvents {
  progress?: (p: Progress) => void;
  mark?: (at: "start" | "end") => void;
}

export class BenchChild {
  private readonly proc: ChildProcess;
  private waiting: { resolve: (m: ChildMessage) => void; reject: (e: Error) => void; on: ChildEvents } | undefined;
  private exited: string | undefined;

  constructor() {
    // --expose-gc: the child collects garbage between warm-up and measuring. No inherited flags
    // (a test runner's loaders must not leak into the measured process).
    this.proc = fork(ENTRY, [], {
      execArgv: ["--expose-gc", "--no-warnings"],
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.proc.on("message", (m: ChildMessage) => {
      const w = this.waiting;
      if (!w) return;
      if (m.t === "progress") w.on.progress?.(m);
      else if (m.t === "mark") w.on.mark?.(m.at);
      else {
        this.waiting = undefined;
        if (m.t === "error") w.reject(new Error(m.message));
        else w.resolve(m);
      }
    });
    this.proc.once("exit", (code, signal) => {
      this.exited = `bench child exited (${signal ?? code})`;
      this.waiting?.reject(new Error(`${this.exited} without a result`));
      this.waiting = undefined;
    });
  }

  get alive(): boolean {
    return this.exited === undefined;
  }

  private request(msg: ParentMessage, on: ChildEvents, timeoutMs: number): Promise<ChildMessage> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.proc.kill("SIGKILL");
        reject(new Error(`run did not finish within ${Math.round(timeoutMs / 1000)} s`));
      }, timeoutMs);
      const done =
        <T>(f: (v: T) => void) =>
        (v: T) => {
          clearTimeout(timer);
          f(v);
        };
      this.waiting = { resolve: done(resolve), reject: done(reject), on };
      this.proc.send(msg);
    });
  }

  async run(spec: RunSpec, on: ChildEvents, timeoutMs: number): Promise<RunResult> {
    const m = await this.request({ t: "run", spec }, on, timeoutMs);
    if (m.t !== "result") throw new Error(`unexpected answer ${m.t}`);
    return m.result;
  }

  async micro(url: string, quick: boolean, timeoutMs: number): Promise<MicroResult[]> {
    const m = await this.request({ t: "micro", url, quick }, {}, timeoutMs);
    if (m.t !== "micro") throw new Error(`unexpected answer ${m.t}`);
    return m.result;
  }

  /** Asks the child to exit and waits for it (kills it after 5 s). */
  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.send({ t: "exit" } satisfies ParentMessage);
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  }
}
