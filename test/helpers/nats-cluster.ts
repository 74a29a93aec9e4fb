// A JetStream cluster on loopback for tests: N nats-server processes (N >= 3 for R3 streams), each
// with its own client port, route port, server_name and store directory, routed to the others.
// nats-server 2.9.10 needs a server_name per node in a JetStream cluster and elects a meta leader
// only once a quorum of nodes has met; waitForMetaLeader() waits until an R3 stream can be created.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { freePort, NatsServer } from "./nats-server.ts";

export interface ClusterNode {
  /** The node's server_name: what stream info reports as cluster leader and replicas. */
  name: string;
  server: NatsServer;
  routePort: number;
}

export class NatsCluster {
  readonly name: string;
  readonly nodes: ClusterNode[];

  private constructor(name: string, nodes: ClusterNode[]) {
    this.name = name;
    this.nodes = nodes;
  }

  /** Starts `size` routed nodes and waits until JetStream has a meta leader. */
  static async start(size = 3, name = "itc"): Promise<NatsCluster> {
    if (size < 3) throw new Error("a JetStream cluster that can hold R3 streams needs at least 3 nodes");
    const ports: { client: number; route: number }[] = [];
    const taken = new Set<number>();
    while (ports.length < size) {
      const client = await freePort();
      const route = await freePort();
      if (client === route || taken.has(client) || taken.has(route)) continue;
      taken.add(client).add(route);
      ports.push({ client, route });
    }
    const nodes: ClusterNode[] = [];
    const cluster = new NatsCluster(name, nodes);
    try {
      // All nodes at once: each one retries its routes until the others listen.
      const started = await Promise.allSettled(
        ports.map((p, i) => {
          const routes = ports.filter((_, j) => j !== i).map((o) => `nats://127.0.0.1:${o.route}`);
          return NatsServer.start({
            port: p.client,
            args: [
              "--server_name",
              `${name}-n${i + 1}`,
              "--cluster_name",
              name,
              "--cluster",
              `nats://127.0.0.1:${p.route}`,
              "--routes",
              routes.join(","),
            ],
          }).then((server) => ({ name: `${name}-n${i + 1}`, server, routePort: p.route }));
        }),
      );
      for (const r of started) if (r.status === "fulfilled") nodes.push(r.value);
      const failed = started.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      await cluster.waitForMetaLeader();
      return cluster;
    } catch (e) {
      await cluster.dispose();
      throw e;
    }
  }

  /** Client URLs of every node, comma-separated (the plugin's natsUrl form). */
  get urls(): string {
    return this.nodes.map((n) => n.server.url).join(",");
  }

  /** URLs of the nodes that are running now. */
  runningUrls(): string[] {
    return this.nodes.filter((n) => n.server.running).map((n) => n.server.url);
  }

  node(name: string): ClusterNode {
    const n = this.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`no node named ${name} (nodes: ${this.nodes.map((x) => x.name).join(", ")})`);
    return n;
  }

  /** Runs `fn` with a connection to the running nodes and a JetStream manager. */
  async withJsm<T>(fn: (jsm: JetStreamManager, nc: NatsConnection) => Promise<T>): Promise<T> {
    const nc = await connect({ servers: this.runningUrls(), timeout: 5000 });
    try {
      return await fn(await jetstreamManager(nc, { timeout: 5000 }), nc);
    } finally {
      await nc.close();
    }
  }

  /** Waits until an R3 stream can be created (and deletes the probe), i.e. a meta leader exists. */
  async waitForMetaLeader(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      try {
        await this.withJsm(async (jsm) => {
          const probe = `meta-probe-${attempt}`;
          await jsm.streams.add({
            name: probe,
            subjects: [`${probe}.>`],
            num_replicas: Math.min(3, this.nodes.length),
          });
          await jsm.streams.delete(probe);
        });
        return;
      } catch (e) {
        last = e;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    throw new Error(
      `no JetStream meta leader within ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`,
    );
  }

  /** server_name of the stream's current leader (waits through an election). */
  async streamLeader(stream: string, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        const leader = await this.withJsm(async (jsm) => (await jsm.streams.info(stream)).cluster?.leader);
        if (leader) return leader;
      } catch (e) {
        last = e;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `stream ${stream} has no leader after ${timeoutMs} ms${last ? `: ${last instanceof Error ? last.message : String(last)}` : ""}`,
    );
  }

  /** Kills every node and removes their stores. */
  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.server.dispose()));
  }
}
