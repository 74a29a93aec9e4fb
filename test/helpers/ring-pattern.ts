// The deterministic record contents used by the ring stress test.
export const STRESS = { read: 0, errors: 1, firstBadSeq: 2, done: 3 } as const;

export function patternByte(seq: number, k: number): number {
  return (seq * 31 + k * 7) & 0xff;
}

/** Record length for a sequence number: mostly small, some large, to force many wraps. */
export function patternLength(seq: number, max: number): number {
  const r = (Math.imul(seq + 1, 2654435761) >>> 0) / 2 ** 32;
  return 8 + Math.floor(r < 0.9 ? r * 400 : r * max);
}
