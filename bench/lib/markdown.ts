// The results as Markdown tables (for bench/README.md): `node bench/run.ts --markdown [file.json]`.
import type { BenchReport } from "./results.ts";
import { COLUMNS, fmtInt, fmtMs } from "./table.ts";

export function toMarkdown(r: BenchReport): string {
  const h = r.header;
  const limit = h.limitTool
    ? `nats ${h.limitTool.version} bench js pub, async batch ${h.limitTool.batch}`
    : (h.limitNote ?? "off");
  const out: string[] = [
    `Run of ${h.date.slice(0, 10)}: ${h.cpu} x${h.cores}, ${h.memoryGb} GB, ${h.os}; Node ${h.node}; ` +
      `nats-server ${h.natsServer} (${h.server}); commit ${h.commit ?? "?"}; ` +
      `${h.quick ? "--quick, " : ""}${h.durationSec} s; idle event-loop delay p99 ${fmtMs(h.idleLoopDelayP99Ms)} ms; ` +
      `limit: ${limit}. CPU columns: ms per 1,000 events.`,
    "",
    `| ${COLUMNS.map((c) => c.head).join(" | ")} |`,
    `| ${COLUMNS.map((c) => (c.align === "r" ? "---:" : "---")).join(" | ")} |`,
  ];
  for (const x of r.results) out.push(`| ${COLUMNS.map((c) => c.cell(x)).join(" | ")} |`);
  const na = r.scenarios.filter((s) => s.limit && "na" in s.limit);
  if (na.length) {
    out.push("", "Limit mode n/a:");
    for (const s of na) out.push(`- ${s.id}: ${"na" in s.limit ? s.limit.na : ""}`);
  }
  if (r.micro.length) {
    out.push(
      "",
      "| host-side call, per event (tinybench) | mean ns | p50 ns | p99 ns |",
      "| --- | ---: | ---: | ---: |",
    );
    for (const m of r.micro) out.push(`| ${m.name} | ${fmtInt(m.meanNs)} | ${fmtInt(m.p50Ns)} | ${fmtInt(m.p99Ns)} |`);
  }
  return `${out.join("\n")}\n`;
}
