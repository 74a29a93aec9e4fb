// The NATS server the bench runs against: NATS_URL when set, otherwise a private
// `nats-server -js` on a free loopback port with a temporary file store (the test suite's
// NatsServer), removed afterwards.
import { readFileSync } from "node:fs";
import { NatsServer, natsServerBinary } from "../../test/helpers/nats-server.ts";

export class NoServerBinary extends Error {}

export function findNatsServer(): string {
  try {
    return natsServerBinary();
  } catch {
    throw new NoServerBinary(
      "the bench needs a NATS server with JetStream: no nats-server binary on PATH or at /usr/sbin/nats-server.\n" +
        "  Install one (Debian/Ubuntu: apt-get install nats-server), or point the bench at a running server:\n" +
        "  NATS_URL=nats://127.0.0.1:4222 npm run bench",
    );
  }
}

export interface BenchServer {
  url: string;
  embedded: boolean;
  /** CPU time (ms) the embedded server has used so far; undefined for an external server. */
  cpuMs(): number | undefined;
  close(): Promise<void>;
}

const USER_HZ = 100; // clock ticks per second in /proc/<pid>/stat on Linux

export async function startServer(env = process.env): Promise<BenchServer> {
  if (env.NATS_URL) {
    return { url: env.NATS_URL, embedded: false, cpuMs: () => undefined, close: async () => {} };
  }
  findNatsServer();
  const server = await NatsServer.start();
  // A bench stopped with Ctrl-C must not leave its server or store behind.
  const cleanup = () => {
    if (server.pid !== undefined) process.kill(server.pid, "SIGKILL");
  };
  process.once("exit", cleanup);
  return {
    url: server.url,
    embedded: true,
    cpuMs: () => {
      try {
        const f = readFileSync(`/proc/${server.pid}/stat`, "utf8").split(") ")[1].split(" ");
        return ((Number(f[11]) + Number(f[12])) * 1000) / USER_HZ;
      } catch {
        return undefined;
      }
    },
    close: async () => {
      process.removeListener("exit", cleanup);
      await server.dispose();
    },
  };
}
