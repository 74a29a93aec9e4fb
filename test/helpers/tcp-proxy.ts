// A loopback TCP proxy in front of a nats-server, for tests that need to cut a connection at an
// exact moment of the protocol (e.g. while the client waits for a JetStream API reply).
import { createServer, connect, type Server, type Socket } from "node:net";

export class TcpProxy {
  readonly port: number;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  /** Called with each chunk the client sends; return true to cut every connection and stop listening. */
  cutWhen: ((clientBytes: string) => boolean) | undefined;
  cuts = 0;

  private constructor(server: Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(targetPort: number, port = 0): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = createServer((client) => {
      const upstream = connect({ port: targetPort, host: "127.0.0.1" });
      for (const s of [client, upstream]) {
        proxy!.sockets.add(s);
        s.on("close", () => proxy!.sockets.delete(s));
        s.on("error", () => {});
      }
      client.on("data", (d) => {
        if (proxy!.cutWhen?.(d.toString("latin1"))) {
          proxy!.cutWhen = undefined;
          void proxy!.cut();
          return;
        }
        upstream.write(d);
      });
      upstream.on("data", (d) => client.write(d));
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    proxy = new TcpProxy(server, (server.address() as { port: number }).port);
    return proxy;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Drops every connection and stops accepting new ones (the client sees the server go away). */
  async cut(): Promise<void> {
    this.cuts++;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** Accepts connections again on the same port. */
  async resume(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(this.port, "127.0.0.1", r));
  }

  async dispose(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((r) => this.server.close(() => r()));
  }
}
