// Shared set-up for integration tests of the pipeline.
import { EventPipeline } from "../../src/pipeline.ts";
import { resolveConfig, type EventStoreConfig } from "../../src/config.ts";
import type { PluginLogger } from "../../src/plugin-api.ts";

export class MemoryLogger implements PluginLogger {
  readonly lines: string[] = [];
  info(m: string) {
    this.lines.push(`info ${m}`);
  }
  warn(m: string) {
    this.lines.push(`warn ${m}`);
  }
  error(m: string) {
    this.lines.push(`error ${m}`);
  }
}

/** A valid config for tests; `url` undefined leaves natsUrl out (e.g. for natsContext). */
export function testConfig(url: string | undefined, extra: Record<string, unknown> = {}): EventStoreConfig {
  const where = url === undefined ? {} : { natsUrl: url };
  const r = resolveConfig({ ...where, streamName: "it-events", subjectPrefix: "it.events", ...extra });
  if (!r.ok) throw new Error(r.error);
  return r.config;
}

export function testPipeline(
  url: string | undefined,
  extra: Record<string, unknown> = {},
  logger = new MemoryLogger(),
): EventPipeline {
  return new EventPipeline(testConfig(url, extra), logger);
}

/** Kills the running publisher worker the hard way (as a crash would). */
export async function killWorker(p: EventPipeline): Promise<void> {
  const w = (p.supervisor as unknown as { worker?: { terminate(): Promise<number> } }).worker;
  await w?.terminate();
}
