// What the figures were measured on.
import { cpus, release, totalmem, type as osType } from "node:os";

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
