// The NATS server the bench runs against: NATS_URL when set, otherwise a private
// `nats-server -js` on a free loopback port with a temporary file store (the test suite's
// NatsServer), removed afterwards. That server is the current release the project builds
// (scripts/ensure-nats-tools.sh), unless --nats-server or NATS_SERVER_BIN names another binary.
import { existsSync } from "node:fs";
import { NatsServer } from "../../test/helpers/nats-server.ts";
import { natsTools } from "../../test/helpers/nats-tools.ts";
import { processCpuMs } from "./cpu.ts";

export class NoServerBinary extends Error {}

function findNatsServer(bin = process.env.NATS_SERVER_BIN): string {
  if (bin) {
    if (!existsSync(bin)) throw new NoServerBinary(`no nats-server at ${bin} (--nats-server / NATS_SERVER_BIN)`);
    return bin;
  }
  try {
    return natsTools().natsServer;
  } catch (e) {
    throw new NoServerBinary(
      "the bench runs the current nats-server, built by scripts/ensure-nats-tools.sh, which failed " +
        `(${(e as Error).message.split("\n")[0]}).\n` +
        "  Pick another binary (NATS_SERVER_BIN=/usr/sbin/nats-server npm run bench, or -- --nats-server PATH),\n" +
        "  or point the bench at a running server: NATS_URL=nats://127.0.0.1:4222 npm run bench",
    );
  }
}

export interface BenchServer {
  url: string;
  embedded: boolean;
  /** The embedded server's binary; null with NATS_URL. */
  bin: string | null;
  /** CPU time (ms) the embedded server has used so far; undefined for an external server. */
  cpuMs(): number | undefined;
  close(): Promise<void>;
}

export async function startServer(env = process.env, bin?: string): Promise<BenchServer> {
  if (env.NATS_URL) {
    return { url: env.NATS_URL, embedded: false, bin: null, cpuMs: () => undefined, close: async () => {} };
  }
  const server = await NatsServer.start({ bin: findNatsServer(bin ?? env.NATS_SERVER_BIN) });
  // A bench stopped with Ctrl-C must not leave its server or store behind.
  const cleanup = () => {
    if (server.pid !== undefined) process.kill(server.pid, "SIGKILL");
  };
  process.once("exit", cleanup);
  return {
    url: server.url,
    embedded: true,
    bin: server.bin,
    cpuMs: () => processCpuMs(server.pid),
    close: async () => {
      process.removeListener("exit", cleanup);
      await server.dispose();
    },
  };
}
