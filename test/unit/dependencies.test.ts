import { describe, expect, it } from "vitest";
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
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

  // The worker gets its config as data: loading src/config.ts would load the whole hook table
  // (for the hook names it validates) into every worker thread.
  it("the publisher worker's thread loads neither the config module nor the hook table", () => {
    const loaded = runtimeModules(join(ROOT, "workers/publisher.ts"));
    expect(loaded).toContain("src/nats-url.ts");
    expect(loaded.filter((f) => f === "src/config.ts" || f.startsWith("src/hooks/"))).toEqual([]);
  });
});

/** The project's modules that loading `entry` loads (`import type` loads nothing; `import { type X }` does). */
function runtimeModules(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, "utf8").matchAll(
      /^\s*(?:import|export)\s+(type\s)?[^;]*?from\s+"(\.[^"]+)"/gms,
    )) {
      if (!m[1]) visit(resolve(dirname(file), m[2]));
    }
  };
  visit(entry);
  return [...seen].map((f) => relative(ROOT, f));
}
