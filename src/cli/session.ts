// `session <key>`: one session as a timeline with totals.
import type { Envelope } from "../envelope.ts";
import { readAll } from "../read/events.ts";
import { PLAIN } from "../read/format.ts";
import { buildTimeline, renderTimeline } from "../read/timeline.ts";
import type { CommandContext } from "./context.ts";

export async function session(ctx: CommandContext): Promise<number> {
  const { io, settings, conn, filter, args } = ctx;
  const key = args.positionals[0];
  const json = args.values.json === true;
  const envs: Envelope[] = [];
  const endSeq = (await conn.jsm.streams.info(settings.stream)).state.last_seq;
  await readAll(conn, {
    stream: settings.stream,
    prefix: settings.prefix,
    filter: { ...filter, session: key },
    endSeq,
    decode: "envelope",
    onEvent: (e) => envs.push(e.env!),
    onMalformed: ctx.malformed,
  });
  // A key without ":" may match sessions of several agents; each gets its own timeline.
  const sessions = envs.length > 0 ? [...new Set(envs.map((e) => e.session))] : [key];
  const style = json ? PLAIN : ctx.style;
  const timelines = sessions.map((s) =>
    buildTimeline(
      s,
      envs.filter((e) => e.session === s),
      style,
    ),
  );
  if (json) io.stdout.write(`${JSON.stringify(timelines.length === 1 ? timelines[0] : timelines, null, 2)}\n`);
  else io.stdout.write(`${timelines.map((t) => renderTimeline(t, ctx.style)).join("\n\n")}\n`);
  return 0;
}
