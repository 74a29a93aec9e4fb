import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// An installed plugin gets its declared dependencies only (npm may nest transitive ones out of
// reach), so shipped code must import nothing else. The real-host test found exactly this once.
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(ROOT, dir, f));
}

describe("shipped code", () => {
  it("imports only Node built-ins and the package's own dependencies", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const allowed = new Set(Object.keys(pkg.dependencies));
    const bad: string[] = [];
    for (const file of [...sources("src"), ...sources("workers")]) {
      for (const m of readFileSync(file, "utf8").matchAll(/^\s*import\s[^;]*?from\s+"([^"]+)"/gms)) {
        const spec = m[1];
        if (spec.startsWith(".")) continue;
        if (spec.startsWith("node:") || builtinModules.includes(spec)) continue;
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
        if (!allowed.has(name)) bad.push(`${file.slice(ROOT.length)}: ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
