// `replay`: stored events in stream order, each once, to stdout or re-published with their ids.
import { EventRead, type StoredEvent } from "../read/events.ts";
import { eventLine } from "../read/format.ts";
import { Republisher, streamPrefix } from "../read/republish.ts";
import { intOption, UsageError } from "./args.ts";
import { aborted, type CommandContext } from "./context.ts";
import { LineOutput, writeJson } from "./output.ts";
import { ProgressBar } from "./progress.ts";

export async function replay(ctx: CommandContext): Promise<number> {
  const { io, settings, conn, filter, args } = ctx;
  const v = args.values;
  const json = v.json === true;
  const fromSeq = intOption(v, "from-seq", 1);
  const limit = intOption(v, "limit", 1);
  const toStream = typeof v["to-stream"] === "string" ? v["to-stream"] : undefined;
  let toPrefix = typeof v["to-subject"] === "string" ? v["to-subject"].replace(/\.$/, "") : undefined;
  if (toStream !== undefined && toPrefix === undefined) toPrefix = await streamPrefix(conn.jsm, toStream);
  if (toPrefix !== undefined && (toPrefix === settings.prefix || /[\s*>]/.test(toPrefix))) {
    throw new UsageError(
      toPrefix === settings.prefix
        ? `--to-subject ${toPrefix} is the prefix being read: events outside the duplicate window would be stored twice`
        : `--to-subject must be a subject prefix without wildcards, got ${toPrefix}`,
    );
  }
  const republisher =
    toPrefix !== undefined ? new Republisher(conn.nc, settings.prefix, toPrefix, toStream) : undefined;
  const out = new LineOutput(io.stdout);
  const endSeq = (await conn.jsm.streams.info(settings.stream)).state.last_seq;
  let bar: ProgressBar | undefined;
  const read = new EventRead(conn, {
    stream: settings.stream,
    prefix: settings.prefix,
    filter,
    ...(fromSeq !== undefined ? { start: { seq: fromSeq } } : {}),
    endSeq,
    limit,
    decode: json || republisher ? "checked" : "envelope",
    onEvent: (e: StoredEvent) => {
      if (republisher) republisher.publish(e);
      else if (json) writeJson(out, e);
      else out.line(eventLine(e.env!, ctx.style));
    },
    onMalformed: ctx.malformed,
  });
  out.onFull = () => read.pause();
  out.onDrain = () => read.resume();
  if (republisher) {
    republisher.onFull = () => read.pause();
    republisher.onRoom = () => read.resume();
  }
  const pending = await read.start();
  const wantBar =
    v["no-progress"] !== true &&
    (v.progress === true || (io.stderr.isTTY === true && (!io.stdout.isTTY || !!republisher)));
  if (wantBar && pending > 0)
    bar = new ProgressBar(io.stderr, Math.min(pending, limit ?? pending), () => read.progress);
  void aborted(io.signal).then(() => read.stop()); // Ctrl-C: what was read so far stays printed
  const summary = await read.done;
  bar?.stop();
  await out.end();
  if (republisher) {
    const c = await republisher.finish();
    const where = toStream ? `stream ${toStream} (${toPrefix}.>)` : `${toPrefix}.>`;
    const acks = toStream
      ? `, ${c.acked - c.duplicates} stored, ${c.duplicates} already there, ${c.failed} failed`
      : "";
    io.stderr.write(
      `re-published ${c.published} events to ${where}${acks}${c.lastError ? ` (last error: ${c.lastError})` : ""}\n`,
    );
    if (c.failed > 0) return 1;
  }
  if (summary.malformed > 0)
    io.stderr.write(`${summary.events} events, ${summary.malformed} malformed messages skipped\n`);
  return 0;
}
