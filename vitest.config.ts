import { defineConfig } from "vitest/config";
import { natsServerBinary, natsServerRelease } from "./test/helpers/nats-server.ts";
import { natsTools } from "./test/helpers/nats-tools.ts";

// The integration suite runs once per nats-server version: Debian's package (2.9.10, on PATH or in
// /usr/sbin) and the current release built by scripts/ensure-nats-tools.sh. Each run is a vitest
// project named after the version (it prefixes every test name in the output); the tests find their
// server through NATS_SERVER_BIN. NATS_SERVER_BIN set by the caller runs the suite on that server only.
function servers(): string[] {
  if (process.env.NATS_SERVER_BIN) return [process.env.NATS_SERVER_BIN];
  const debian = natsServerBinary();
  const current = natsTools().natsServer;
  return debian === current ? [current] : [debian, current];
}

const INTEGRATION = "test/integration/**/*.test.ts";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start their own nats-server processes and worker threads; on two cores
    // running files one at a time keeps their timing honest.
    fileParallelism: false,
    pool: "forks",
    projects: [
      { extends: true, test: { name: "unit, bench, e2e", include: ["test/**/*.test.ts"], exclude: [INTEGRATION] } },
      ...servers().map((bin) => ({
        extends: true,
        test: {
          name: `nats-server ${natsServerRelease(bin).join(".")}`,
          include: [INTEGRATION],
          env: { NATS_SERVER_BIN: bin },
        },
      })),
    ],
  },
});
