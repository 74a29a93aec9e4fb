// A fresh stream per (scenario, mode): the plugin's own stream settings (file storage, limits
// retention, 2-minute duplicate window), created before the run and deleted after it is checked.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { desiredStream } from "../../workers/stream-setup.ts";
import { offloadedConfig } from "../modes/offloaded.ts";
import type { ModeName } from "./types.ts";

interface StreamNames {
  stream: string;
  subjectPrefix: string;
}

export function streamNames(scenario: string, mode: ModeName): StreamNames {
  const token = scenario.replace(/[^A-Za-z0-9_-]/g, "_");
  return { stream: `bench_${token}_${mode}`, subjectPrefix: `bench.${token}.${mode}` };
}

export class StreamAdmin {
  readonly nc: NatsConnection;
  private readonly jsm: JetStreamManager;

  private constructor(nc: NatsConnection, jsm: JetStreamManager) {
    this.nc = nc;
    this.jsm = jsm;
  }

  static async connect(url: string): Promise<StreamAdmin> {
    const nc = await connect({ servers: url, noAsyncTraces: true, timeout: 10_000 });
    return new StreamAdmin(nc, await jetstreamManager(nc, { timeout: 30_000 }));
  }

  get serverVersion(): string {
    return this.nc.info?.version ?? "unknown";
  }

  /** Deletes any stream of that name left over, then creates it as the plugin would. */
  async fresh(names: StreamNames, url: string, maxInFlight: number): Promise<void> {
    await this.remove(names.stream);
    await this.jsm.streams.add(desiredStream(offloadedConfig({ url, ...names, maxInFlight })));
  }

  async count(stream: string): Promise<number> {
    return (await this.jsm.streams.info(stream)).state.messages;
  }

  async remove(stream: string): Promise<void> {
    await this.jsm.streams.delete(stream).catch(() => false);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
