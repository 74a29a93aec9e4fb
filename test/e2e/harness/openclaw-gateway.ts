// Runs the REAL OpenClaw gateway (npm openclaw@2026.9.6, Node 24) as a plugin host for end-to-end tests.
//
//   const gw = await startGateway({ pluginTarball, pluginId, pluginConfig });
//   await gw.agentTurn("e2e", "list the workspace, then answer");   // one tool call + final text
//   await gw.call("probe.status", { echo: 1 });                      // plugin gateway method
//   await gw.command("cmd", "/probestatus");                          // slash command via chat.send
//   const { exitCode, log } = await gw.stop();                       // SIGTERM, then SIGKILL; nothing left running
//   gw.removeScratch();
//
// Isolation: every process gets a fresh scratch dir (HOME, OPENCLAW_HOME, OPENCLAW_STATE_DIR, OPENCLAW_CONFIG_PATH,
// logging.file, workspace), a clean env (no inherited OPENCLAW_* / npm_* / NODE_OPTIONS), loopback only, a random
// gateway token that never appears on a command line or in thrown errors. Every spawned process carries
// OPENCLAW_E2E_RUN_ID=<uuid> in its env; stop() sweeps /proc for leftovers with that marker.
//
// Plugin install: `openclaw plugins install npm-pack:<abs tarball> --force --accept-capabilities` with the gateway
// NOT running ("Saved for the next Gateway start"). The plugin entry (enabled, hooks.allowConversationAccess,
// config) is written into the config file BEFORE the install; that saves a separate `config patch` CLI call
// (~3-9 s). OpenClaw warns "settings cannot be checked until its data/settings upgrade finishes" during the
// install and reports "Deferred state migration completed" at gateway start; the plugin then loads normally.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmdirSync,
  rmSync,
  type Dirent,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startFakeModel, type FakeModel } from "./fake-model.ts";

export const OPENCLAW_VERSION = "2026.9.6";
const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const ENSURE_SCRIPT = join(REPO_ROOT, "scripts", "ensure-openclaw.sh");
const NODE24_SCRIPT = join(REPO_ROOT, "scripts", "node24.sh");

// ---------------------------------------------------------------------------------------------------------------
// Fixture: OpenClaw install + Node 24

let cachedFixtureDir: string | undefined;
let cachedNode: string | undefined;

/** Runs scripts/ensure-openclaw.sh (installs openclaw@2026.9.6 once into a cache dir) and returns that dir. */
export function ensureOpenClaw(): string {
  if (cachedFixtureDir) return cachedFixtureDir;
  const out = execFileSync("bash", [ENSURE_SCRIPT], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    timeout: 15 * 60_000,
  });
  const dir = out.trim().split("\n").pop()?.trim() ?? "";
  if (!dir || !existsSync(join(dir, "node_modules", "openclaw", "openclaw.mjs"))) {
    throw new Error(`ensure-openclaw.sh did not produce an OpenClaw install (got ${JSON.stringify(dir)})`);
  }
  cachedFixtureDir = dir;
  return dir;
}

/** Absolute path of a Node >= 24.16 binary (via scripts/node24.sh; OpenClaw refuses older Node). */
export function resolveNode24(): string {
  if (cachedNode) return cachedNode;
  const out = execFileSync(
    "bash",
    ["-c", `source "$1" >&2 && command -v node && node -p process.versions.node`, "node24", NODE24_SCRIPT],
    { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 5 * 60_000 },
  );
  const [bin, version] = out.trim().split("\n");
  const [major = 0, minor = 0] = (version ?? "").split(".").map(Number);
  if (!bin || !(major > 24 || (major === 24 && minor >= 16))) {
    throw new Error(`scripts/node24.sh gave node ${version ?? "?"} at ${bin ?? "?"}; need >= 24.16`);
  }
  cachedNode = bin;
  return bin;
}

/** `npm pack` a plugin directory into destDir; returns the absolute tarball path. */
export function packPlugin(pluginDir: string, destDir: string): string {
  mkdirSync(destDir, { recursive: true });
  const node = resolveNode24();
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", destDir, resolve(pluginDir)], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ""}` },
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 120_000,
  });
  const name = out.trim().split("\n").pop()?.trim() ?? "";
  const file = join(destDir, name);
  if (!name.endsWith(".tgz") || !existsSync(file)) throw new Error(`npm pack gave no tarball: ${out}`);
  return file;
}

// ---------------------------------------------------------------------------------------------------------------
// Small utilities

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => (port ? res(port) : rej(new Error("no port"))));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function tail(text: string, lines = 60): string {
  return text.split("\n").slice(-lines).join("\n");
}

/** Parses the JSON a CLI printed (tolerates leading noise lines). */
export function parseCliJson(stdout: string): unknown {
  const s = stdout.trim();
  try {
    return JSON.parse(s);
  } catch {
    // fall through
  }
  const lines = s.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]?.trimStart() ?? "";
    if (l.startsWith("{") || l.startsWith("[")) {
      try {
        return JSON.parse(lines.slice(i).join("\n"));
      } catch {
        // keep looking
      }
    }
  }
  throw new Error(`CLI output is not JSON: ${tail(s, 20)}`);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) {
    const cur = out[k];
    out[k] = isPlainObject(cur) && isPlainObject(v) ? deepMerge(cur, v) : v;
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // already gone
  }
}

/** PIDs of live processes whose environment contains OPENCLAW_E2E_RUN_ID=<runId> (Linux /proc). */
function processesWithMarker(runId: string): number[] {
  const needle = Buffer.from(`OPENCLAW_E2E_RUN_ID=${runId}\0`);
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/environ`).includes(needle)) found.push(pid);
    } catch {
      // gone or not ours
    }
  }
  return found;
}

const PROXY_ENV = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"];
const PASSTHROUGH_ENV = [
  "TZ",
  "NODE_EXTRA_CA_CERTS",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  ...PROXY_ENV,
  "npm_config_registry",
  "npm_config_cafile",
  "npm_config_ca",
  "npm_config_strict_ssl",
  "npm_config_proxy",
  "npm_config_https_proxy",
  "npm_config_noproxy",
];

/** Live descendants of pid (via /proc/<pid>/stat parent links). */
function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // gone
    }
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Gateway

export interface StartGatewayOptions {
  /** Absolute path of an `npm pack` tarball of the plugin. */
  pluginTarball: string;
  /** Manifest id (openclaw.plugin.json `id`), the key of plugins.entries. */
  pluginId: string;
  /** plugins.entries.<id>.config */
  pluginConfig: Record<string, unknown>;
  /** plugins.entries.<id>.hooks.allowConversationAccess (needed for llm_input/llm_output/agent_end ...). Default true. */
  allowConversationAccess?: boolean;
  /** Base URL of an OpenAI-compatible model (e.g. startFakeModel().url). Default: the harness starts its own fake model. */
  modelUrl?: string;
  /** Deep-merged into the generated openclaw.json before the plugin install. */
  configPatch?: Record<string, unknown>;
  /** Extra env for the gateway and every CLI call. */
  env?: Record<string, string>;
  /**
   * /readyz wait. Default 120 s (env OPENCLAW_E2E_READY_TIMEOUT_MS). Spawn-to-ready took 20-33 s on the 2-core box
   * with other tests running, and 88 s at load average 8; the reference measured 9.4 s on an idle machine.
   */
  readyTimeoutMs?: number;
  /** Parent for the scratch dir. Default os.tmpdir(). */
  scratchParent?: string;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface CliOptions {
  timeoutMs?: number;
  input?: string;
  /** Resolve instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

export interface GatewayStopResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** true when SIGTERM was not enough and the group had to be SIGKILLed. */
  forced: boolean;
  /** Gateway console output (stdout+stderr), token redacted. */
  log: string;
  durationMs: number;
}

export interface GatewayTimings {
  installMs?: number;
  spawnToReadyMs?: number;
  startTotalMs?: number;
}

const liveGateways = new Set<OpenClawGateway>();

/** Stops every gateway this process started that is not stopped yet (for afterAll: covers a start still in flight). */
export async function stopAllGateways(): Promise<void> {
  await Promise.allSettled([...liveGateways].map((g) => g.stop()));
}

export class OpenClawGateway {
  readonly runId = randomUUID();
  readonly fixtureDir: string;
  readonly node: string;
  readonly openclawMjs: string;
  readonly scratchDir: string;
  readonly homeDir: string;
  readonly stateDir: string;
  readonly configPath: string;
  readonly workspaceDir: string;
  /** JSON-lines file log (logging.file). The CLI processes write into it too. */
  readonly fileLogPath: string;
  /** Console output (stdout+stderr) of `gateway run`. */
  readonly consoleLogPath: string;
  /** TMPDIR of every spawned process. */
  readonly tmpDir: string;
  readonly timings: GatewayTimings = {};
  port = 0;
  model: FakeModel | undefined;
  private ownsModel = false;
  private readonly token = randomBytes(24).toString("hex");
  private readonly env: Record<string, string>;
  private child: ChildProcess | undefined;
  private exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly cliChildren = new Set<ChildProcess>();
  private stopResult: Promise<GatewayStopResult> | undefined;
  private readonly exitGuard = () => this.killEverythingSync();
  private readonly opts: StartGatewayOptions;
  private readonly hostTmpPreexisting = new Set<string>();

  constructor(opts: StartGatewayOptions) {
    this.opts = opts;
    if (!isAbsolute(opts.pluginTarball) || !existsSync(opts.pluginTarball)) {
      throw new Error(`pluginTarball must be an existing absolute path: ${opts.pluginTarball}`);
    }
    this.fixtureDir = ensureOpenClaw();
    this.node = resolveNode24();
    this.openclawMjs = join(this.fixtureDir, "node_modules", "openclaw", "openclaw.mjs");
    this.scratchDir = mkdtempSync(join(opts.scratchParent ?? tmpdir(), "openclaw-e2e-"));
    this.homeDir = join(this.scratchDir, "home");
    this.stateDir = join(this.scratchDir, "state");
    this.configPath = join(this.stateDir, "openclaw.json");
    this.workspaceDir = join(this.scratchDir, "workspace");
    this.fileLogPath = join(this.stateDir, "logs", "openclaw.log");
    this.consoleLogPath = join(this.scratchDir, "gateway.console.log");
    this.tmpDir = join(this.scratchDir, "tmp");
    for (const d of [hostLocksDir(), "/tmp/openclaw"]) if (existsSync(d)) this.hostTmpPreexisting.add(d);
    for (const d of [this.homeDir, join(this.stateDir, "logs"), this.workspaceDir, this.tmpDir])
      mkdirSync(d, { recursive: true });
    const sharedCompileCache = join(tmpdir(), "node-compile-cache");
    try {
      mkdirSync(sharedCompileCache, { recursive: true });
      symlinkSync(sharedCompileCache, join(this.tmpDir, "node-compile-cache"), "dir");
    } catch {
      // a cold compile cache only costs start-up time
    }

    const realHome = process.env.HOME ?? homedir();
    const env: Record<string, string> = {
      PATH: `${dirname(this.node)}:${process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"}`,
      HOME: this.homeDir,
      OPENCLAW_HOME: this.homeDir,
      OPENCLAW_STATE_DIR: this.stateDir,
      OPENCLAW_CONFIG_PATH: this.configPath,
      OPENCLAW_DISABLE_BONJOUR: "1",
      OPENCLAW_NO_RESPAWN: "1",
      OPENCLAW_EXEC_SHELL_SNAPSHOT: "0",
      OPENCLAW_NO_AUTO_UPDATE: "1",
      NO_COLOR: "1",
      LANG: process.env.LANG ?? "C.UTF-8",
      // Temp files that honour $TMPDIR stay in the scratch dir. Its Node compile cache ($TMPDIR/node-compile-cache)
      // is symlinked to the machine's so it stays warm across runs (setting NODE_COMPILE_CACHE instead makes
      // openclaw.mjs respawn itself). Hard-coded /tmp paths are handled in stop(), see cleanupHostTmp().
      TMPDIR: this.tmpDir,
      // the managed npm install of an npm-pack plugin reuses the real npm cache (faster, still registry-only)
      npm_config_cache: process.env.npm_config_cache ?? join(realHome, ".npm"),
      npm_config_update_notifier: "false",
      npm_config_fund: "false",
      npm_config_audit: "false",
      OPENCLAW_E2E_RUN_ID: this.runId,
    };
    // TLS trust, proxy and registry settings of the machine: the managed `npm install` of an npm-pack plugin needs
    // them (without NODE_EXTRA_CA_CERTS npm fails here with SELF_SIGNED_CERT_IN_CHAIN and retries for minutes).
    for (const k of PASSTHROUGH_ENV) {
      const v = process.env[k];
      if (v !== undefined) env[k] = v;
    }
    if (PROXY_ENV.some((k) => process.env[k])) {
      const noProxy = [process.env.NO_PROXY, process.env.no_proxy, "127.0.0.1", "localhost", "::1"]
        .filter(Boolean)
        .join(",");
      env.NO_PROXY = noProxy;
      env.no_proxy = noProxy;
    }
    this.env = { ...env, ...(opts.env ?? {}) };
    process.once("exit", this.exitGuard);
    liveGateways.add(this);
  }

  /** Gateway process id (also its process group id). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replace the secret token in any text that may be shown. */
  redact(text: string): string {
    return text.split(this.token).join("<gateway-token>");
  }

  /** Gateway console output so far (stdout+stderr of `gateway run`), token redacted. */
  logText(): string {
    try {
      return this.redact(readFileSync(this.consoleLogPath, "utf8"));
    } catch {
      return "";
    }
  }

  /** The JSON-lines file log (logging.file; gateway and CLI processes), token redacted. */
  fileLogText(): string {
    try {
      return this.redact(readFileSync(this.fileLogPath, "utf8"));
    } catch {
      return "";
    }
  }

  /** Runs `openclaw <args>` with Node 24, the scratch env and a timeout. Throws on non-zero exit. */
  cli(args: string[], options: CliOptions = {}): Promise<CliResult> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const started = Date.now();
    const label = `openclaw ${args.slice(0, 3).join(" ")}`;
    return new Promise<CliResult>((resolveP, rejectP) => {
      const child = spawn(this.node, [this.openclawMjs, ...args], {
        cwd: this.scratchDir,
        env: this.env,
        detached: true, // own process group, so a timeout can kill the whole tree
        stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      });
      this.cliChildren.add(child);
      let stdout = "";
      let stderr = "";
      let timedOut = false;
      child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      if (options.input !== undefined) child.stdin?.end(options.input);
      const timer = setTimeout(() => {
        timedOut = true;
        if (!child.pid) return;
        // OpenClaw starts some helpers (e.g. the managed `npm install`) in their own process group
        const tree = descendantsOf(child.pid);
        killGroup(child.pid, "SIGKILL");
        for (const p of tree) {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            // gone
          }
        }
      }, timeoutMs);
      child.once("error", (err) => {
        clearTimeout(timer);
        this.cliChildren.delete(child);
        rejectP(new Error(`${label}: spawn failed: ${err.message}`));
      });
      child.once("close", (code, signal) => {
        clearTimeout(timer);
        this.cliChildren.delete(child);
        if (child.pid && groupAlive(child.pid)) killGroup(child.pid, "SIGKILL"); // stray grandchildren
        const result: CliResult = {
          code,
          signal,
          stdout: this.redact(stdout),
          stderr: this.redact(stderr),
          durationMs: Date.now() - started,
        };
        if (timedOut) {
          rejectP(
            new Error(
              `${label}: timed out after ${timeoutMs} ms\n${tail(result.stderr, 30)}\n${tail(result.stdout, 30)}`,
            ),
          );
        } else if (code !== 0 && !options.allowFailure) {
          rejectP(
            new Error(
              `${label}: exit ${code ?? signal}\n--- stderr ---\n${tail(result.stderr, 40)}\n--- stdout ---\n${tail(result.stdout, 40)}`,
            ),
          );
        } else {
          resolveP(result);
        }
      });
    });
  }

  /** `openclaw gateway call <method> --json --params <json>`; returns the parsed JSON payload the method responded with. */
  async call(method: string, params: object = {}, options: { timeoutMs?: number } = {}): Promise<unknown> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const res = await this.cli(
      ["gateway", "call", method, "--json", "--params", JSON.stringify(params), "--timeout", String(timeoutMs)],
      { timeoutMs: timeoutMs + 20_000 },
    );
    return parseCliJson(res.stdout);
  }

  /**
   * One agent turn: `openclaw agent --agent main --session-key <key> --json --message <message>`
   * (options.agent: another configured agent).
   * Resolves with the CLI's JSON ({ runId, status, summary, result: { payloads: [{ text }], meta } }).
   * A bare session key "x" becomes "agent:main:x" inside the gateway.
   */
  async agentTurn(
    sessionKey: string,
    message: string,
    options: { timeoutSeconds?: number; agent?: string } = {},
  ): Promise<unknown> {
    const timeoutSeconds = options.timeoutSeconds ?? 120;
    const res = await this.cli(
      [
        "agent",
        "--agent",
        options.agent ?? "main",
        "--session-key",
        sessionKey,
        "--timeout",
        String(timeoutSeconds),
        "--json",
        "--message",
        message,
      ],
      { timeoutMs: (timeoutSeconds + 30) * 1000 },
    );
    return parseCliJson(res.stdout);
  }

  /**
   * Sends a slash command the way a chat client does (`chat.send`), then polls `chat.history` until the reply
   * (an assistant message with the same idempotencyKey; provider "openclaw", model "gateway-injected") is there.
   * Returns the reply text. `openclaw agent --message "/x"` would NOT run the command.
   */
  async command(sessionKey: string, text: string, options: { timeoutMs?: number } = {}): Promise<string> {
    const key = sessionKey.startsWith("agent:") ? sessionKey : `agent:main:${sessionKey}`;
    const idempotencyKey = `e2e-cmd-${randomUUID()}`;
    const deadline = Date.now() + (options.timeoutMs ?? 45_000);
    await this.call("chat.send", { sessionKey: key, message: text, idempotencyKey });
    let last: unknown;
    while (Date.now() < deadline) {
      last = await this.call("chat.history", { sessionKey: key });
      const messages = isPlainObject(last) && Array.isArray(last.messages) ? (last.messages as unknown[]) : [];
      for (const m of messages) {
        if (!isPlainObject(m) || m.role !== "assistant") continue;
        const meta = isPlainObject(m.__openclaw) ? m.__openclaw : {};
        if (m.idempotencyKey === idempotencyKey || meta.idempotencyKey === idempotencyKey) {
          return messageText(m.content);
        }
      }
      await sleep(300);
    }
    throw new Error(
      `no reply to ${JSON.stringify(text)} in ${key}; last history: ${tail(JSON.stringify(last), 5).slice(0, 2000)}`,
    );
  }

  /** Writes config, installs the plugin, starts `gateway run` detached and waits for /readyz. */
  async start(): Promise<void> {
    const t0 = Date.now();
    try {
      if (this.opts.modelUrl) {
        this.model = undefined;
      } else {
        this.model = await startFakeModel();
        this.ownsModel = true;
      }
      const modelUrl = this.opts.modelUrl ?? this.model!.url;
      this.port = await freePort();
      this.writeConfig(modelUrl);

      const ti = Date.now();
      await this.cli(
        ["plugins", "install", `npm-pack:${this.opts.pluginTarball}`, "--force", "--accept-capabilities"],
        {
          timeoutMs: 240_000,
        },
      );
      this.timings.installMs = Date.now() - ti;

      if (this.stopResult) throw new Error("gateway stopped while starting");
      const ts = Date.now();
      const out = openSync(this.consoleLogPath, "a");
      try {
        this.child = spawn(
          this.node,
          [this.openclawMjs, "gateway", "run", "--port", String(this.port), "--bind", "loopback"],
          {
            cwd: this.scratchDir,
            env: this.env,
            detached: true, // new session + process group; the gateway renames itself and spawns children
            stdio: ["ignore", out, out],
          },
        );
      } finally {
        closeSync(out);
      }
      const child = this.child;
      this.exited = new Promise((res) => {
        child.once("exit", (code, signal) => {
          this.exitInfo = { code, signal };
          res({ code, signal });
        });
        child.once("error", () => {
          this.exitInfo = { code: null, signal: null };
          res(this.exitInfo);
        });
      });
      await this.waitReady(this.opts.readyTimeoutMs ?? (Number(process.env.OPENCLAW_E2E_READY_TIMEOUT_MS) || 120_000));
      this.timings.spawnToReadyMs = Date.now() - ts;
      this.timings.startTotalMs = Date.now() - t0;
    } catch (err) {
      await this.stop().catch(() => undefined);
      const keep = process.env.OPENCLAW_E2E_KEEP === "1";
      this.removeScratch();
      if (err instanceof Error) {
        err.message += keep
          ? `\n(scratch dir kept: ${this.scratchDir})`
          : "\n(scratch dir removed; set OPENCLAW_E2E_KEEP=1 to keep it)";
      }
      throw err;
    }
  }

  private writeConfig(modelUrl: string): void {
    const base: Record<string, unknown> = {
      gateway: {
        mode: "local",
        port: this.port,
        bind: "loopback",
        auth: { mode: "token", token: this.token },
      },
      logging: { file: this.fileLogPath },
      update: { checkOnStart: false },
      skills: { workshop: { autonomous: { mode: "off" } } },
      agents: {
        defaults: {
          workspace: this.workspaceDir,
          model: { primary: "fake/fake-model" },
          heartbeat: { every: "0m" },
        },
      },
      models: {
        mode: "merge",
        providers: {
          fake: {
            baseUrl: modelUrl,
            apiKey: "fake-local",
            api: "openai-completions",
            timeoutSeconds: 30,
            models: [
              {
                id: "fake-model",
                name: "Fake Model",
                reasoning: false,
                input: ["text"],
                cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
                contextWindow: 128000,
                maxTokens: 4096,
              },
            ],
          },
        },
      },
      plugins: {
        entries: {
          [this.opts.pluginId]: {
            enabled: true,
            hooks: { allowConversationAccess: this.opts.allowConversationAccess ?? true },
            config: this.opts.pluginConfig,
          },
        },
      },
    };
    const config = this.opts.configPatch ? deepMerge(base, this.opts.configPatch) : base;
    writeFileSync(this.configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastBody = "";
    while (Date.now() < deadline) {
      if (this.exitInfo) {
        throw new Error(
          `gateway exited before ready (code ${this.exitInfo.code}, signal ${this.exitInfo.signal})\n${tail(this.logText())}`,
        );
      }
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) });
        lastBody = await res.text();
        const body = JSON.parse(lastBody) as { ready?: unknown };
        if (body.ready === true) return;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(
      `gateway not ready after ${timeoutMs} ms (last /readyz: ${lastBody.slice(0, 300) || "no response"})\n${tail(this.logText())}`,
    );
  }

  /**
   * SIGTERM to the gateway's process group, wait (default 20 s), then SIGKILL; kills CLI calls still running and any
   * process carrying this run's env marker; closes the harness-owned fake model. Idempotent.
   */
  stop(options: { timeoutMs?: number } = {}): Promise<GatewayStopResult> {
    this.stopResult ??= this.doStop(options.timeoutMs ?? 20_000);
    return this.stopResult;
  }

  private async doStop(timeoutMs: number): Promise<GatewayStopResult> {
    const t0 = Date.now();
    let forced = false;
    for (const c of this.cliChildren) if (c.pid) killGroup(c.pid, "SIGKILL");
    const pid = this.child?.pid;
    if (pid && this.exited) {
      if (!this.exitInfo) killGroup(pid, "SIGTERM");
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(timeoutMs).then(() => true)]);
      if (timedOut) {
        forced = true;
        killGroup(pid, "SIGKILL");
        await Promise.race([this.exited, sleep(5000)]);
      }
      // children the gateway left in its group (or that ignored SIGTERM)
      for (let i = 0; i < 20 && groupAlive(pid); i++) await sleep(100);
      if (groupAlive(pid)) {
        forced = true;
        killGroup(pid, "SIGKILL");
      }
    }
    // anything else spawned by this run (e.g. helpers in their own session), identified by the env marker
    for (let round = 0; round < 3; round++) {
      const left = processesWithMarker(this.runId);
      if (left.length === 0) break;
      if (round > 0) forced = true;
      for (const p of left) {
        try {
          process.kill(p, round === 0 ? "SIGTERM" : "SIGKILL");
        } catch {
          // gone
        }
      }
      await sleep(300);
    }
    if (this.ownsModel && this.model) await this.model.close();
    this.cleanupHostTmp();
    process.removeListener("exit", this.exitGuard);
    liveGateways.delete(this);
    return {
      exitCode: this.exitInfo?.code ?? null,
      signal: this.exitInfo?.signal ?? null,
      forced,
      log: this.logText(),
      durationMs: Date.now() - t0,
    };
  }

  /**
   * OpenClaw 2026.9.6 ignores $TMPDIR for two things: state-lifecycle lock files in
   * /tmp/openclaw-state-locks-<uid>/<family>.<sha256(realpath(db)).slice(0,8)>.lock.sqlite and its preferred temp
   * root /tmp/openclaw. Remove the lock files that belong to this run's databases, and those two dirs only if this
   * run created them and they are empty.
   */
  private cleanupHostTmp(): void {
    const dbs: string[] = [];
    const walk = (dir: string, depth: number) => {
      if (depth > 4) return;
      let entries: Dirent[];
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p, depth + 1);
        else if (e.isFile() && e.name.endsWith(".sqlite")) dbs.push(p);
      }
    };
    walk(this.stateDir, 0);
    const hashes = new Set<string>();
    for (const db of dbs) {
      for (const p of [db, safeRealpath(db)]) hashes.add(createHash("sha256").update(p).digest("hex").slice(0, 8));
    }
    const locksDir = hostLocksDir();
    try {
      for (const name of readdirSync(locksDir)) {
        const m = /\.([0-9a-f]{8})\.lock\.sqlite(?:-journal|-wal|-shm)?$/.exec(name);
        if (m && hashes.has(m[1]!)) rmSync(join(locksDir, name), { force: true });
      }
    } catch {
      // no locks dir
    }
    for (const dir of [locksDir, "/tmp/openclaw"]) {
      if (this.hostTmpPreexisting.has(dir)) continue;
      try {
        rmdirSync(dir); // fails (and keeps the dir) when it is not empty
      } catch {
        // not empty or not there
      }
    }
  }

  /** Last-resort synchronous cleanup when the test process exits without stop(). */
  private killEverythingSync(): void {
    for (const c of this.cliChildren) if (c.pid) killGroup(c.pid, "SIGKILL");
    if (this.child?.pid) killGroup(this.child.pid, "SIGKILL");
    for (const p of processesWithMarker(this.runId)) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone
      }
    }
  }

  /** true while any process of this run (gateway group or env-marked) is alive. */
  anythingRunning(): boolean {
    if (this.child?.pid && (pidAlive(this.child.pid) || groupAlive(this.child.pid))) return true;
    return processesWithMarker(this.runId).length > 0;
  }

  /** Deletes the scratch dir (after stop()). Kept when OPENCLAW_E2E_KEEP=1. */
  removeScratch(): void {
    if (process.env.OPENCLAW_E2E_KEEP === "1") return;
    rmSync(this.scratchDir, { recursive: true, force: true });
  }
}

function hostLocksDir(): string {
  return typeof process.getuid === "function"
    ? `/tmp/openclaw-state-locks-${process.getuid()}`
    : "/tmp/openclaw-state-locks";
}

function safeRealpath(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return p;
  }
}

function messageText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((p) => (isPlainObject(p) && typeof p.text === "string" ? p.text : ""))
      .filter(Boolean)
      .join("\n");
  }
  return "";
}

/** Polls `check` (every 200 ms) until it returns a truthy value; throws with `what` after timeoutMs. */
export async function waitUntil<T>(check: () => T | Promise<T>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${String(lastErr)}` : ""}`);
    }
    await sleep(200);
  }
}

/** Text payloads of an agentTurn() result. */
export function turnText(result: unknown): string {
  const payloads = isPlainObject(result) && isPlainObject(result.result) ? result.result.payloads : undefined;
  return Array.isArray(payloads)
    ? payloads
        .map((p) => (isPlainObject(p) && typeof p.text === "string" ? p.text : ""))
        .filter(Boolean)
        .join("\n")
    : "";
}

/** Creates the scratch env, installs the plugin tarball, starts the gateway and waits until /readyz is ready. */
export async function startGateway(opts: StartGatewayOptions): Promise<OpenClawGateway> {
  const gw = new OpenClawGateway(opts);
  await gw.start();
  return gw;
}
