// The command line, shared by `openclaw eventstore <command>` and the package's bin: parse, find
// the stream, connect, run the command. Exit codes: 0 ok, 1 error, 2 usage.
import { redactUrl } from "../nats-url.ts";
import { connectReader, serverName } from "../read/connect.ts";
import { readConnection } from "../read/events.ts";
import { FilterError, resolveTypes, type EventFilter } from "../read/filter.ts";
import { styleFor } from "../read/format.ts";
import { parseTime, TimeSpecError } from "../read/time.ts";
import { HELP, listOption, parseCommandLine, UsageError, type CommandName, type ParsedArgs } from "./args.ts";
import { malformedReporter, type CliHost, type CliIO, type CommandContext } from "./context.ts";
import { replay } from "./replay.ts";
import { session } from "./session.ts";
import { resolveSettings } from "./settings.ts";
import { stats } from "./stats.ts";
import { tail } from "./tail.ts";

const EXIT_OK = 0;
const EXIT_ERROR = 1;
const EXIT_USAGE = 2;

const RUN: Record<CommandName, (ctx: CommandContext) => Promise<number>> = { tail, replay, session, stats };

function filterFrom(values: ParsedArgs["values"]): EventFilter {
  const f: EventFilter = {};
  const agents = listOption(values, "agent");
  const types = listOption(values, "type");
  if (agents) f.agents = agents;
  if (types) f.types = resolveTypes(types);
  if (typeof values.session === "string") f.session = values.session;
  if (typeof values.run === "string") f.runId = values.run;
  const now = Date.now();
  if (typeof values.since === "string") f.since = parseTime(values.since, now);
  if (typeof values.until === "string") f.until = parseTime(values.until, now);
  if (f.since !== undefined && f.until !== undefined && f.until < f.since)
    throw new UsageError("--until is before --since");
  return f;
}

const isUsage = (e: unknown) => e instanceof UsageError || e instanceof TimeSpecError || e instanceof FilterError;

export async function runCli(argv: string[], io: CliIO, host: CliHost = {}): Promise<number> {
  const fail = (code: number, msg: string) => {
    io.stderr.write(`error: ${redactUrl(msg)}\n${code === EXIT_USAGE ? "run with --help for the options\n" : ""}`);
    return code;
  };
  try {
    const args = parseCommandLine(argv);
    if ("help" in args) {
      io.stdout.write(`${HELP[args.help]}\n`);
      return EXIT_OK;
    }
    const reporter = malformedReporter(io.stderr);
    const ctx: Omit<CommandContext, "conn"> = {
      io,
      host,
      args,
      settings: resolveSettings(args.values, io.env, host.pluginConfig),
      filter: filterFrom(args.values),
      style: styleFor(io.stdout, io.env),
      malformed: reporter.report,
    };
    const nc = await connectReader(ctx.settings.connection, io.env, (m) => io.stderr.write(`warning: ${m}\n`));
    try {
      const conn = await readConnection(nc);
      try {
        await conn.jsm.streams.info(ctx.settings.stream);
      } catch (e) {
        const why = /not found/i.test((e as Error).message) ? "not found" : (e as Error).message;
        return fail(EXIT_ERROR, `stream ${ctx.settings.stream} on ${serverName(ctx.settings.connection)}: ${why}`);
      }
      const code = await RUN[args.command]({ ...ctx, conn });
      reporter.summary();
      return code;
    } finally {
      await nc.close().catch(() => undefined);
    }
  } catch (e) {
    // ConnectError, RepublishError and anything else: the message says what went wrong.
    return fail(isUsage(e) ? EXIT_USAGE : EXIT_ERROR, e instanceof Error ? e.message : String(e));
  }
}
