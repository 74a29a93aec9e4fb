// Lines over 120 characters in shipped and benchmark code (the formatter wraps code but leaves long
// strings and comments alone). Usage: node scripts/check-line-width.ts <dir>...; exits 1 with a list.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const MAX = 120;
const long: string[] = [];
function visit(path: string): void {
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    if (e.isDirectory()) {
      if (e.name !== "node_modules" && e.name !== "results") visit(p);
    } else if (/\.(ts|js|mjs)$/.test(e.name)) {
      readFileSync(p, "utf8")
        .split("\n")
        .forEach((line, i) => {
          if (line.length > MAX) long.push(`${p}:${i + 1}: ${line.length} characters`);
        });
    }
  }
}
for (const dir of process.argv.slice(2)) visit(dir);
if (long.length > 0) {
  console.error(`${long.length} line(s) over ${MAX} characters:\n${long.join("\n")}`);
  process.exit(1);
}
