// Decentralised JWT auth for tests, made with the real `nsc`: an operator with a system account, an
// account with JetStream, its users and their .creds files, the server configuration for them
// (operator mode, the NATS-based "full" resolver) and `nsc push` of account changes such as a
// revocation. (nats-server 2.9.10 loses JetStream for an account whose JWT a MEMORY resolver reloads
// with SIGHUP; pushing the JWT to a full resolver works on every version.) Everything lives in a
// temporary NSC_HOME / NKEYS_PATH / data dir; nothing touches ~/.config or ~/.local.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { natsTools } from "./nats-tools.ts";

export class NscOperator {
  readonly dir: string;
  readonly account: string;

  private constructor(dir: string, account: string) {
    this.dir = dir;
    this.account = account;
  }

  /** An operator `OP` with a system account `SYS` and an account with JetStream enabled. */
  static create(account = "APP"): NscOperator {
    const op = new NscOperator(mkdtempSync(join(tmpdir(), "nsc-")), account);
    op.nsc("add", "operator", "--generate-signing-key", "--sys", "--name", "OP");
    op.nsc("add", "account", account);
    op.nsc("edit", "account", account, "--js-enable", "1");
    return op;
  }

  nsc(...args: string[]): string {
    const env = { ...process.env, NSC_HOME: join(this.dir, "home"), NKEYS_PATH: join(this.dir, "keys") };
    try {
      return execFileSync(natsTools().nsc, ["-H", join(this.dir, "store"), ...args], {
        encoding: "utf8",
        env,
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (e) {
      throw new Error(`nsc ${args.join(" ")} failed: ${(e as { stderr?: string }).stderr ?? e}`);
    }
  }

  /** Adds a user to the account (or `account`) and returns its .creds file's text. */
  addUser(name: string, account = this.account): string {
    this.nsc("add", "user", "-a", account, name);
    return this.nsc("generate", "creds", "-a", account, "-n", name);
  }

  addAccount(name: string): void {
    this.nsc("add", "account", name);
    this.nsc("edit", "account", name, "--js-enable", "1");
  }

  /** Revokes a user of the account and pushes the account JWT to the server at `url`. */
  revokeUser(name: string, url: string): void {
    this.nsc("revocations", "add-user", "-a", this.account, "-n", name);
    this.nsc("push", "-a", this.account, "-u", url);
  }

  /** Pushes every account JWT to the server at `url` (after it started with serverConfig()). */
  pushAll(url: string): void {
    this.nsc("push", "-A", "-u", url);
  }

  /** A server configuration in operator mode with a full resolver storing account JWTs in a temp dir. */
  serverConfig(): string {
    const conf = this.nsc("generate", "config", "--nats-resolver", "--sys-account", "SYS");
    return conf.replace("dir: './jwt'", `dir: ${JSON.stringify(join(this.dir, "jwt"))}`);
  }

  /** Every seed nsc made (operator, accounts, users): what must never show up in a log line. */
  seeds(): string[] {
    const out = this.nsc("list", "keys", "--all", "--show-seeds");
    return [...out.matchAll(/\bS[OAU][A-Z2-7]{50,}\b/g)].map((m) => m[0]);
  }

  /** A user's JWT, as it appears in their .creds file. */
  static jwtOf(creds: string): string {
    return /-----BEGIN NATS USER JWT-----\s*(\S+)/.exec(creds)![1];
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
