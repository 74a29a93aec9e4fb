// Starts private nats-server processes for tests: JetStream on, a free loopback port, a temporary
// store, and control over its life (stop, SIGKILL, restart on the same port and store).
import { spawn, type ChildProcess, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/**
 * The nats-server the tests run: NATS_SERVER_BIN when set (vitest.config.ts sets it per project, one
 * project per server version), else the one on PATH or Debian's /usr/sbin/nats-server.
 */
export function natsServerBinary(): string {
  const chosen = process.env.NATS_SERVER_BIN;
  if (chosen) {
    if (!existsSync(chosen)) throw new Error(`NATS_SERVER_BIN=${chosen}: no such file`);
    return chosen;
  }
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, "nats-server"))) return join(dir, "nats-server");
  }
  if (existsSync("/usr/sbin/nats-server")) return "/usr/sbin/nats-server";
  throw new Error("nats-server not found on PATH or at /usr/sbin/nats-server (apt-get install nats-server)");
}

/** `nats-server: v2.9.10` */
export function natsServerVersion(bin = natsServerBinary()): string {
  return execFileSync(bin, ["--version"], { encoding: "utf8" }).trim();
}

/** [major, minor, patch] of the server the tests run, e.g. [2, 9, 10]. */
export function natsServerRelease(bin = natsServerBinary()): [number, number, number] {
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(natsServerVersion(bin));
  if (!m) throw new Error(`cannot read the version of ${bin}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** True when the server the tests run is at least `major.minor.patch`. */
export function serverAtLeast(major: number, minor: number, patch = 0): boolean {
  const [a, b, c] = natsServerRelease();
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ port, host: "127.0.0.1" });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export interface NatsServerOptions {
  port?: number;
  storeDir?: string;
  /** Extra command-line arguments (e.g. cluster routes). */
  args?: string[];
  /** A configuration file's text (authorization, TLS, operator mode...), passed with -c. */
  config?: string;
  /** The nats-server binary (default: natsServerBinary()). */
  bin?: string;
}

export class NatsServer {
  readonly port: number;
  readonly storeDir: string;
  private proc: ChildProcess | undefined;
  private readonly ownsStore: boolean;
  private readonly args: string[];
  /** The -c file, when the server runs with a configuration file (removed with the server). */
  private readonly configFile: string | undefined;
  readonly bin: string;

  private constructor(
    port: number,
    storeDir: string,
    ownsStore: boolean,
    args: string[],
    configFile: string | undefined,
    bin: string,
  ) {
    this.port = port;
    this.storeDir = storeDir;
    this.ownsStore = ownsStore;
    this.args = args;
    this.configFile = configFile;
    this.bin = bin;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const port = opts.port ?? (await freePort());
    const storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), "nats-js-"));
    let configFile: string | undefined;
    if (opts.config !== undefined) {
      configFile = join(mkdtempSync(join(tmpdir(), "nats-conf-")), "server.conf");
      writeFileSync(configFile, opts.config);
    }
    const owns = opts.storeDir === undefined;
    const s = new NatsServer(port, storeDir, owns, opts.args ?? [], configFile, opts.bin ?? natsServerBinary());
    await s.restart();
    return s;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Process id of the running server (undefined when stopped). */
  get pid(): number | undefined {
    return this.running ? this.proc?.pid : undefined;
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** (Re)starts the server on the same port and store; resolves once it accepts connections. */
  async restart(): Promise<void> {
    if (this.running) return;
    const conf = this.configFile ? ["-c", this.configFile] : [];
    const args = [...conf, "-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir, ...this.args];
    const p = spawn(this.bin, args, {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    p.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
    this.proc = p;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (p.exitCode !== null) throw new Error(`nats-server exited (${p.exitCode}): ${stderr}`);
      if (await portOpen(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    p.kill("SIGKILL");
    throw new Error(`nats-server did not listen on ${this.port} within 10 s: ${stderr}`);
  }

  /** Stops the server with `signal` (SIGKILL for a crash) and waits until it is gone. */
  async stop(signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const p = this.proc;
    if (!p || !this.running) return;
    const gone = new Promise((r) => p.once("exit", r));
    p.kill(signal);
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
    if (this.running) {
      p.kill("SIGKILL");
      await gone;
    }
  }

  async dispose(): Promise<void> {
    await this.stop("SIGKILL");
    if (this.ownsStore) rmSync(this.storeDir, { recursive: true, force: true });
    if (this.configFile) rmSync(dirname(this.configFile), { recursive: true, force: true });
  }
}
