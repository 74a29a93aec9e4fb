// What the figures were measured on.
import { execFileSync } from "node:child_process";
import { cpus, release, totalmem, type as osType } from "node:os";
import { fileURLToPath } from "node:url";

/** The commit measured, "+dirty" when src/ or workers/ (the engine) differ from it; "unknown" outside git. */
export function engineCommit(): string {
  const cwd = fileURLToPath(new URL("../..", import.meta.url));
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "workers"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${head}+dirty` : head;
  } catch {
    return "unknown";
  }
}

export function machine(): { cpu: string; cores: number; memoryGb: number; os: string; node: string } {
  const c = cpus();
  return {
    cpu: (c[0]?.model ?? "unknown").trim(),
    cores: c.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    os: `${osType()} ${release()}`,
    node: process.version,
  };
}
