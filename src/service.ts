// The plugin service: start spawns the publisher worker (never register(), which the CLI runs
// too), stop drains it within drainTimeoutMs. Starting twice, or a reload with the same engine
// settings, reuses the running pipeline: one worker and one connection per process.
import { homedir } from "node:os";
import { join } from "node:path";
import type { EventStoreConfig } from "./config.ts";
import { EventPipeline } from "./pipeline.ts";
import { pluginState } from "./plugin-state.ts";
import type { PluginLogger } from "./plugin-api.ts";

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
export function spoolDirFor(config: EventStoreConfig, stateDir: string | undefined): string {
  if (config.spoolMaxBytes === 0) return "";
  const base = config.spoolDir || join(stateDir || join(homedir(), ".openclaw"), "nats-eventstore", "spool");
  return join(base, config.streamName);
}

export async function startService(config: EventStoreConfig, logger: PluginLogger, stateDir?: string): Promise<void> {
  const state = pluginState();
  const old = state.pipeline;
  if (old && engineKey(old.config) !== engineKey(config)) {
    logger.info("[nats-eventstore] configuration changed: draining the old publisher before starting the new one");
    state.pipeline = undefined;
    await old.stop();
  }
  const p = ensurePipeline(config, logger);
  p.start(spoolDirFor(config, stateDir));
  logger.info(`[nats-eventstore] publishing to stream ${config.streamName} (subjects ${config.subjectPrefix}.>) from a worker thread`);
}

export async function stopService(logger: PluginLogger): Promise<void> {
  const p = pluginState().pipeline;
  if (!p) return;
  const unacked = await p.stop();
  if (unacked > 0) logger.warn(`[nats-eventstore] stopped with ${unacked} bytes of events not acked by JetStream`);
}
