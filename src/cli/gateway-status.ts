// The plugin's status for `stats` run as the package bin: asked of the gateway through the
// `openclaw` CLI when one is on PATH (`openclaw gateway call eventstore.status --json`).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const TIMEOUT_MS = 30_000;

function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

export function openclawGatewayStatus(env: NodeJS.ProcessEnv): (() => Promise<unknown>) | undefined {
  const bin = env.OPENCLAW_BIN || onPath("openclaw", env);
  if (!bin) return undefined;
  return () =>
    new Promise((resolve, reject) => {
      const args = ["gateway", "call", "eventstore.status", "--json", "--timeout", "10000"];
      execFile(bin, args, { env, timeout: TIMEOUT_MS, encoding: "utf8" }, (err, stdout) => {
        if (err) {
          reject(new Error(`openclaw gateway call eventstore.status failed: ${err.message.split("\n")[0]}`));
          return;
        }
        try {
          resolve(JSON.parse(stdout.slice(stdout.indexOf("{"))));
        } catch {
          reject(new Error("openclaw gateway call eventstore.status did not answer JSON"));
        }
      });
    });
}
