import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Integration tests start their own nats-server processes and worker threads; on two cores
    // running files one at a time keeps their timing honest.
    fileParallelism: false,
    pool: "forks",
  },
});
