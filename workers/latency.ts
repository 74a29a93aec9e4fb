// HDR latency histograms owned by the worker (microsecond resolution, up to an hour). The host
// gets them as compressed snapshots and never records into them, so nothing here is shared.
import * as hdr from "hdr-histogram-js";
import { LATENCY_HISTOGRAM, type LatencySnapshot } from "../src/worker-protocol.ts";

function threadCpuUs(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

const build = () => hdr.build(LATENCY_HISTOGRAM);

export class LatencyRecorder {
  readonly captureToAck = build();
  readonly publishToAck = build();

  record(captureMs: number, sentMs: number, nowMs: number): void {
    this.captureToAck.recordValue(Math.max(1, Math.round((nowMs - captureMs) * 1000)));
    this.publishToAck.recordValue(Math.max(1, Math.round((nowMs - sentMs) * 1000)));
  }

  snapshot(): LatencySnapshot {
    return {
      captureToAck: hdr.encodeIntoCompressedBase64(this.captureToAck),
      publishToAck: hdr.encodeIntoCompressedBase64(this.publishToAck),
      cpuUs: threadCpuUs(),
    };
  }
}
