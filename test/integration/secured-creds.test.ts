// Decentralised JWT auth: a server in operator mode (full resolver) with an operator, account and
// users made by `nsc`. A .creds file works, a user of an account the server does not know is refused,
// a bad file is named with its path, and a creds file rotated on disk (new user, old user revoked on
// the server) is picked up at the reconnect: publishing resumes without a restart and loses nothing.
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import { NatsServer } from "../helpers/nats-server.ts";
import { NscOperator } from "../helpers/nsc.ts";
import { MemoryLogger, testPipeline } from "../helpers/pipeline.ts";
import { captureEvents, SecretWatch, securedRun } from "../helpers/secured.ts";
import { expectEachEventOnce, waitFor } from "../helpers/stream-reader.ts";
import { statusText } from "../../src/status-text.ts";

const watch = new SecretWatch();
const dir = mkdtempSync(join(tmpdir(), "nats-creds-"));
let op: NscOperator;
let server: NatsServer;
const creds: Record<string, string> = {};
const file = (name: string) => join(dir, `${name}.creds`);

beforeAll(async () => {
  op = NscOperator.create();
  for (const u of ["alice", "bob"]) creds[u] = op.addUser(u);
  server = await NatsServer.start({ config: op.serverConfig() });
  op.pushAll(server.url);
  // An account the server was never told about, and its user.
  op.addAccount("OTHER");
  creds.mallory = op.addUser("mallory", "OTHER");
  for (const [u, text] of Object.entries(creds)) {
    writeFileSync(file(u), text);
    watch.secret(`${u}'s JWT`, NscOperator.jwtOf(text));
  }
  watch.secret("NKey seed", ...op.seeds());
}, 60_000);
afterAll(async () => {
  await server?.dispose();
  op?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

/** A reader connection as `user` (the stream is in the account, so a plain URL would not do). */
const as = (user: string) => ({
  servers: `127.0.0.1:${server.port}`,
  authenticator: credsAuthenticator(new TextEncoder().encode(creds[user])),
});

describe("creds files (operator mode)", () => {
  it("publishes with a creds file; a user of an unknown account is refused; a bad file is named", async () => {
    await securedRun(
      server.url,
      { credsFile: file("alice"), streamName: "creds", subjectPrefix: "creds" },
      "ok",
      watch,
    );
    await expectEachEventOnce(as("alice"), "creds", 20);

    // The server looks the unknown account up for up to 1.9 s (resolver timeout) before it refuses.
    const unknown = { credsFile: file("mallory"), connectTimeoutMs: 5000, streamName: "creds", subjectPrefix: "creds" };
    const stranger = await securedRun(server.url, unknown, "fail", watch);
    expect(stranger.status.lastError).toMatch(
      new RegExp(
        `the server refused the credentials \\(credsFile ${file("mallory")}\\): .*authorization violation`,
        "i",
      ),
    );
    expect(stranger.logs.some((l) => l.includes(`refused the credentials (credsFile ${file("mallory")})`))).toBe(true);

    const missing = join(dir, "gone.creds");
    const gone = await securedRun(
      server.url,
      { credsFile: missing, streamName: "creds", subjectPrefix: "creds" },
      "fail",
      watch,
    );
    expect(gone.status.lastError).toBe(`credsFile ${missing}: cannot read it (no such file)`);
    const junk = join(dir, "junk.creds");
    writeFileSync(junk, "this is not a creds file\n");
    const bad = await securedRun(
      server.url,
      { credsFile: junk, streamName: "creds", subjectPrefix: "creds" },
      "fail",
      watch,
    );
    expect(bad.status.lastError).toBe(`credsFile ${junk}: no user JWT between -----BEGIN NATS USER JWT----- lines`);
    expect(bad.logs.some((l) => l.startsWith("error") && l.includes(`credsFile ${junk}: no user JWT`))).toBe(true);
  });

  it("rotation: creds file replaced, old user revoked; publishing resumes after a reconnect, no loss", async () => {
    const live = join(dir, "live.creds");
    writeFileSync(live, creds.alice);
    const logger = new MemoryLogger();
    const p = testPipeline(server.url, { credsFile: live, streamName: "rot", subjectPrefix: "rot" }, logger);
    p.start();
    try {
      let sent = 0;
      const burst = async (n: number) => {
        captureEvents(p, n, sent);
        sent += n;
        await new Promise((r) => setTimeout(r, 20));
      };
      for (let k = 0; k < 20; k++) await burst(100);
      await waitFor(async () => (await p.status()).counters.acked === sent, 15_000, "acks as alice");

      // The operator rotates: bob's creds replace alice's on disk (atomically), then alice is revoked.
      writeFileSync(`${live}.new`, creds.bob);
      renameSync(`${live}.new`, live);
      op.revokeUser("alice", server.url);
      for (let k = 0; k < 30; k++) await burst(100); // events keep coming during the switch

      await waitFor(
        async () => (await p.status()).counters.acked === sent,
        30_000,
        "every event acked after the rotation",
      );
      const s = await p.status();
      expect(s.counters.reconnects).toBeGreaterThanOrEqual(1);
      expect(s.counters.workerCrashes).toBe(0); // the same worker and connection object: no restart
      expect(s.connection.state).toBe("connected");
      expect(s.counters.dropped.total).toBe(0);
      watch.collect(s, statusText({ ...s, hints: [] }));
    } finally {
      await p.stop();
      watch.collect(...logger.lines);
    }
    await expectEachEventOnce(as("bob"), "rot", 5000);
    // Alice is really revoked: her creds no longer connect.
    const refused = await connect({ ...as("alice"), reconnect: false, timeout: 3000 }).then(
      async (nc) => {
        await nc.close();
        return "connected";
      },
      (e: Error) => e.message,
    );
    expect(refused).toMatch(/authorization violation|revoked/i);
  });

  it("finds no seed or JWT in any log line, status or error of these runs", () => {
    watch.expectClean(10);
  });
});
