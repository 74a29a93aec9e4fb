// The NATS tools the project builds itself (scripts/ensure-nats-tools.sh, cached): the current
// nats-server release, the `nats` CLI and `nsc`. The first call in a process runs the script (about
// 0.01 s once built; minutes for a cold build, which .ci/run does before the tests).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface NatsTools {
  natsServer: string;
  nats: string;
  nsc: string;
}

const SCRIPT = fileURLToPath(new URL("../../scripts/ensure-nats-tools.sh", import.meta.url));
let cached: NatsTools | undefined;

export function natsTools(): NatsTools {
  if (cached) return cached;
  const out = execFileSync("bash", [SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  const paths = Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => l.split("=", 2) as [string, string]),
  );
  for (const k of ["nats-server", "nats", "nsc"]) {
    if (!paths[k]) throw new Error(`scripts/ensure-nats-tools.sh printed no ${k} path:\n${out}`);
  }
  cached = { natsServer: paths["nats-server"], nats: paths.nats, nsc: paths.nsc };
  return cached;
}
