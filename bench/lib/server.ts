// The NATS server the bench runs against: NATS_URL when set, otherwise a private
// `nats-server -js` on a free loopback port with a temporary file store, removed afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export class NoServerBinary extends Error {}

export function findNatsServer(): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir && existsSync(join(dir, "nats-server"))) return join(dir, "nats-server");
  }
  for (const p of ["/usr/sbin/nats-server", "/usr/local/bin/nats-server"]) if (existsSync(p)) return p;
  throw new NoServerBinary(
    "the bench needs a NATS server with JetStream: no nats-server binary on PATH or at /usr/sbin/nats-server.\n" +
      "  Install one (Debian/Ubuntu: apt-get install nats-server), or point the bench at a running server:\n" +
      "  NATS_URL=nats://127.0.0.1:4222 npm run bench",
  );
}

function freePort(): Promise<number> {
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

export interface BenchServer {
  url: string;
  embedded: boolean;
  /** CPU time (ms) the embedded server has used so far; undefined for an external server. */
  cpuMs(): number | undefined;
  close(): Promise<void>;
}

export async function startServer(env = process.env): Promise<BenchServer> {
  if (env.NATS_URL) {
    return { url: env.NATS_URL, embedded: false, cpuMs: () => undefined, close: async () => {} };
  }
  const bin = findNatsServer();
  const port = await freePort();
  const store = mkdtempSync(join(tmpdir(), "nats-bench-"));
  const proc: ChildProcess = spawn(bin, ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  proc.stderr!.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const cleanup = () => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    rmSync(store, { recursive: true, force: true });
  };
  // A bench stopped with Ctrl-C must not leave its server or store behind.
  process.once("exit", cleanup);
  const deadline = Date.now() + 10_000;
  while (!(await portOpen(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      cleanup();
      throw new Error(`nats-server (${bin}) did not start: ${stderr.trim() || `exit code ${proc.exitCode}`}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const clk = 100; // USER_HZ on Linux
  return {
    url: `nats://127.0.0.1:${port}`,
    embedded: true,
    cpuMs: () => {
      try {
        const f = readFileSync(`/proc/${proc.pid}/stat`, "utf8").split(") ")[1].split(" ");
        return ((Number(f[11]) + Number(f[12])) * 1000) / clk;
      } catch {
        return undefined;
      }
    },
    close: async () => {
      process.removeListener("exit", cleanup);
      if (proc.exitCode === null) {
        const gone = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGTERM");
        await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      }
      cleanup();
    },
  };
}
