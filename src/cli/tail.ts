// `tail`: events as they are stored, until interrupted; optionally the last n first.
import { EventRead, type StoredEvent } from "../read/events.ts";
import { eventLine } from "../read/format.ts";
import { latestEvents } from "../read/latest.ts";
import { intOption } from "./args.ts";
import { aborted, type CommandContext } from "./context.ts";
import { LineOutput, writeJson } from "./output.ts";

export async function tail(ctx: CommandContext): Promise<number> {
  const { io, settings, conn, filter, args } = ctx;
  const json = args.values.json === true;
  const last = intOption(args.values, "last");
  const out = new LineOutput(io.stdout);
  const write = (e: StoredEvent) => (json ? writeJson(out, e) : out.line(eventLine(e.env!, ctx.style)));
  let from: number;
  if (last !== undefined && last > 0) {
    const r = await latestEvents(conn, {
      stream: settings.stream,
      prefix: settings.prefix,
      filter,
      limit: last,
      onMalformed: ctx.malformed,
    });
    for (const e of r.events) write(e);
    from = r.lastSeq + 1;
  } else {
    from = (await conn.jsm.streams.info(settings.stream)).state.last_seq + 1;
  }
  out.flush();
  // Live events come a few at a time: write them at the end of each socket read, not per event.
  let flushQueued = false;
  const read = new EventRead(conn, {
    stream: settings.stream,
    prefix: settings.prefix,
    filter,
    start: { seq: from },
    follow: true,
    decode: json ? "checked" : "envelope",
    onEvent: (e) => {
      write(e);
      if (!flushQueued) {
        flushQueued = true;
        setImmediate(() => {
          flushQueued = false;
          out.flush();
          if (out.closed) void read.stop();
        });
      }
    },
    onMalformed: ctx.malformed,
  });
  out.onFull = () => read.pause();
  out.onDrain = () => read.resume();
  await read.start();
  await Promise.race([aborted(io.signal), read.done]);
  await read.stop();
  await read.done;
  await out.end();
  return 0;
}
