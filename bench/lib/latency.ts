// Latency histograms (HdrHistogram with the plugin worker's settings, microseconds) and their summaries.
// Histograms cross process boundaries as compressed base64, the format the plugin's worker uses.
import * as hdr from "hdr-histogram-js";
import { LATENCY_HISTOGRAM } from "../../src/worker-protocol.ts";

export type Histogram = hdr.Histogram;

export function newHistogram(): Histogram {
  return hdr.build(LATENCY_HISTOGRAM);
}

/** Records a latency given in milliseconds (stored as whole microseconds, at least 1). */
export function recordMs(h: Histogram, ms: number): void {
  h.recordValue(ms < 0.001 ? 1 : Math.round(ms * 1000));
}

export function encode(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decode(s: string): Histogram {
  const h = newHistogram();
  if (s) h.add(hdr.decodeFromCompressedBase64(s, LATENCY_HISTOGRAM.bitBucketSize));
  return h;
}

/** `after - before` for cumulative snapshots of the same histogram (e.g. the worker's, around a run). */
export function difference(after: string, before: string | undefined): Histogram {
  const h = decode(after);
  if (before) h.subtract(decode(before));
  return h;
}

/** Percentiles drawn in the report's latency curves. */
const CURVE_PERCENTILES = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999, 100];

interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** [percentile, ms] */
  curve: [number, number][];
}

const ms = (us: number) => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary | null {
  if (h.totalCount === 0) return null;
  return {
    count: h.totalCount,
    p50Ms: ms(h.getValueAtPercentile(50)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
    curve: CURVE_PERCENTILES.map((p) => [
      p,
      ms(p === 0 ? h.minNonZeroValue : p === 100 ? h.maxValue : h.getValueAtPercentile(p)),
    ]),
  };
}

export function percentileMs(h: Histogram, p: number): number {
  return h.totalCount === 0 ? 0 : ms(h.getValueAtPercentile(p));
}
