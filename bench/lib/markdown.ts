// The results as Markdown tables (for bench/README.md): `node bench/run.ts --markdown [file.json]`.
import type { BenchReport } from "./results.ts";
import { fmtInt, fmtMs } from "./table.ts";

export function toMarkdown(r: BenchReport): string {
  const h = r.header;
  const out: string[] = [
    `Run of ${h.date.slice(0, 10)}: ${h.cpu} x${h.cores}, ${h.memoryGb} GB, ${h.os}; Node ${h.node}; nats-server ${h.natsServer} (${h.server}); commit ${h.commit ?? "?"}; ${h.quick ? "--quick, " : ""}${h.durationSec} s; idle event-loop delay p99 ${fmtMs(h.idleLoopDelayP99Ms)} ms.`,
    "",
    "| scenario | mode | events | acked ev/s | MB/s | x ceiling | p50 ms | p99 ms | p99.9 ms | max ms | host ns/ev | host CPU ns/ev | loop p99 ms | ELU | RSS MB | err | drop | verified |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
  ];
  for (const x of r.results) {
    const lat = x.latencyBasis === "none";
    out.push(
      `| ${x.scenario} | ${x.mode} | ${fmtInt(x.events)} | ${fmtInt(x.eventsPerSec)} | ${x.mbPerSec.toFixed(1)} | ${x.vsCeiling === null ? "-" : x.vsCeiling.toFixed(2)} | ${lat ? "-" : fmtMs(x.p50Ms)} | ${lat ? "-" : fmtMs(x.p99Ms)} | ${lat ? "-" : fmtMs(x.p999Ms)} | ${lat ? "-" : fmtMs(x.maxMs)} | ${x.hostNsPerEvent === null ? "-" : fmtInt(x.hostNsPerEvent)} | ${x.hostCpuNsPerEvent === null ? "-" : fmtInt(x.hostCpuNsPerEvent)} | ${fmtMs(x.loopDelayP99Ms)} | ${x.elu.toFixed(2)} | ${x.rssMb} | ${x.errors} | ${x.dropped} | ${x.verified ? "yes" : "**no**"} |`,
    );
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
