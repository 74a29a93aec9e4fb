// The plugin service: start spawns the publisher worker (never register(), which the CLI runs
// too), stop drains it within drainTimeoutMs. Starting twice, or a reload with the same engine
// settings, reuses the pipeline (and whatever its ring holds): one worker and one connection per
// process. OpenClaw replaces a registration as: old service stop, old gateway_stop hooks, new
// register, new service start; events captured between the stop and the start wait in the ring.
import { homedir } from "node:os";
import { join } from "node:path";
import type { EventStoreConfig } from "./config.ts";
import { EventPipeline } from "./pipeline.ts";
import { pluginState } from "./plugin-state.ts";
import type { PluginLogger } from "./plugin-api.ts";
import { WORKER_URL, type WorkerHost } from "./supervisor.ts";

/** The process's pipeline, created on first use (a hook may fire before the service starts). */
export function ensurePipeline(config: EventStoreConfig, logger: PluginLogger): EventPipeline {
  const state = pluginState();
  return (state.pipeline ??= new EventPipeline(config, logger));
}

/** Settings that the ring and the worker were built with; a change needs a new pipeline. */
function engineKey(c: EventStoreConfig): string {
  const { includeHooks: _i, excludeHooks: _e, privacy: _p, enabled: _n, ...engine } = c;
  return JSON.stringify(engine);
}

/** The spool directory: spoolDir, else under the OpenClaw state dir; one sub-directory per stream. */
function spoolDirFor(config: EventStoreConfig, stateDir: string | undefined): string {
  if (config.spoolMaxBytes === 0) return "";
  const base = config.spoolDir || join(stateDir || join(homedir(), ".openclaw"), "nats-eventstore", "spool");
  return join(base, config.streamName);
}

export async function startService(config: EventStoreConfig, logger: PluginLogger, stateDir?: string): Promise<void> {
  const state = pluginState();
  // This module belongs to the registration OpenClaw starts now; an earlier registration's files
  // may be gone already (a plugin reload deletes them), so the worker comes from ours.
  const host: WorkerHost = { workerUrl: WORKER_URL, logger };
  const old = state.pipeline;
  if (old && engineKey(old.config) !== engineKey(config)) {
    logger.info("[nats-eventstore] configuration changed: draining the old publisher before starting the new one");
    // Hooks of every registration capture into the new ring from here on; the old ring goes to
    // the stream or the spool before the new worker takes the spool over.
    state.pipeline = new EventPipeline(config, logger);
    old.adopt(host);
    await old.stop();
  }
  const p = ensurePipeline(config, logger);
  p.start(spoolDirFor(config, stateDir), host);
  logger.info(
    `[nats-eventstore] publishing to stream ${config.streamName} (subjects ${config.subjectPrefix}.>) ` +
      "from a worker thread",
  );
}

/** Stops the worker; what it could not store anywhere is logged by the supervisor, with its count. */
export async function stopService(): Promise<void> {
  await pluginState().pipeline?.stop();
}
