// Command-line arguments of `openclaw eventstore <command>` and `openclaw-nats-eventstore <command>`:
// one parser (node:util parseArgs) and one help text per command, for both front ends.
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

export class UsageError extends Error {}

export type CommandName = "tail" | "replay" | "session" | "stats";
const COMMANDS: readonly CommandName[] = ["tail", "replay", "session", "stats"];

const CONNECTION: ParseArgsOptionsConfig = {
  server: { type: "string", short: "s" },
  context: { type: "string" },
  stream: { type: "string" },
  prefix: { type: "string" },
  config: { type: "string" },
  help: { type: "boolean", short: "h" },
};
const FILTERS: ParseArgsOptionsConfig = {
  agent: { type: "string", multiple: true },
  type: { type: "string", multiple: true },
  session: { type: "string" },
  run: { type: "string" },
};
const WINDOW: ParseArgsOptionsConfig = { since: { type: "string" }, until: { type: "string" } };

const OPTIONS: Record<CommandName, ParseArgsOptionsConfig> = {
  tail: { ...CONNECTION, ...FILTERS, json: { type: "boolean" }, last: { type: "string", short: "n" } },
  replay: {
    ...CONNECTION,
    ...FILTERS,
    ...WINDOW,
    json: { type: "boolean" },
    "from-seq": { type: "string" },
    limit: { type: "string" },
    "to-subject": { type: "string" },
    "to-stream": { type: "string" },
    progress: { type: "boolean" },
    "no-progress": { type: "boolean" },
  },
  session: { ...CONNECTION, ...WINDOW, json: { type: "boolean" } },
  stats: { ...CONNECTION, ...FILTERS, ...WINDOW, json: { type: "boolean" }, "no-gateway": { type: "boolean" } },
};

const CONNECTION_HELP = `
Connection (defaults: the plugin's settings from --config, else NATS_URL, nats://localhost:4222,
stream openclaw-events, prefix openclaw.events):
  -s, --server <url>     NATS server URL(s), comma-separated; user:password@ or token@ allowed
      --context <name>   a nats CLI context (~/.config/nats/context/<name>.json): url, credentials, TLS
      --stream <name>    stream to read
      --prefix <subject> subject prefix of the events
      --config <file>    an openclaw.json: read plugins.entries.nats-eventstore.config
  -h, --help             this help`;

const FILTER_HELP = `
Filters:
      --agent <id>       only this agent (repeat, or comma-separate, for several)
      --type <type>      only this event type; globs such as tool.* or msg.* (repeatable)
      --session <key>    only this session (a key without ":" also matches agent:<any>:<key>)
      --run <runId>      only events of this run`;

const WINDOW_HELP = `
      --since <time>     from this time: a duration back from now (90s, 15m, 2h, 7d), an ISO time or epoch ms
      --until <time>     up to this time (same forms)`;

export const HELP: Record<CommandName | "main", string> = {
  main: `Read the OpenClaw NATS event store.

Usage: openclaw-nats-eventstore <command> [options]     (inside OpenClaw: openclaw eventstore <command>)

Commands:
  tail       live events as they are stored
  replay     stored events in order (to stdout, or re-published with the same ids)
  session    one session as a timeline, with totals
  stats      counts by type and by agent, the stream's size and limits, the plugin's status

Run a command with --help for its options. Exit codes: 0 ok, 1 error, 2 usage.`,
  tail: `Usage: tail [options]

Prints events as they are stored, one readable line each (time, agent, type, session, key fields),
or NDJSON envelopes with --json. Runs until interrupted (Ctrl-C).

      --json             NDJSON: one envelope {id, ts, agent, session, type, payload} per line
  -n, --last <n>         first print the last n matching events
${FILTER_HELP}
${CONNECTION_HELP}`,
  replay: `Usage: replay [options]

Prints stored events in stream order, each once, then exits; or re-publishes them with their
original message ids (Nats-Msg-Id), so a stream that already holds one stores it once.

      --since <time>     from this time: a duration back from now (90s, 15m, 2h, 7d), an ISO time or epoch ms
      --until <time>     up to this time (same forms); times are event times (the envelope's ts)
      --from-seq <n>     from this stream sequence
      --limit <n>        at most n events
      --json             NDJSON: one envelope per line
      --to-subject <p>   re-publish to <p>.<agent>.<type> instead of printing
      --to-stream <name> re-publish into this stream and wait for its acks (prefix from the stream's
                         subjects when --to-subject is not given)
      --[no-]progress    progress bar on stderr (default: on a terminal, for long replays)
${FILTER_HELP}
${CONNECTION_HELP}`,
  session: `Usage: session <sessionKey> [options]

Prints one session as a timeline: runs with their LLM calls and tool calls (durations, errors),
messages in and out, sub-agents spawned, compactions; the totals at the bottom.

      --json             the timeline as JSON (entries, runs, totals)
${WINDOW_HELP}
${CONNECTION_HELP}`,
  stats: `Usage: stats [options]

Counts events by type and by agent (all of the stream, or a window), shows the stream's size and
limits, and the running plugin's status with its latency percentiles when a gateway is reachable.

      --json             the same as JSON
      --no-gateway       do not ask a gateway for the plugin's status
${WINDOW_HELP}
${FILTER_HELP}
${CONNECTION_HELP}`,
};

export interface ParsedArgs {
  command: CommandName;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Parses `argv` (after the program name); "help" or no command gives command undefined. */
export function parseCommandLine(argv: string[]): ParsedArgs | { help: CommandName | "main" } {
  const [first, ...rest] = argv;
  if (first === undefined || first === "help" || first === "--help" || first === "-h") {
    const topic = rest[0] as CommandName | undefined;
    return { help: topic && COMMANDS.includes(topic) ? topic : "main" };
  }
  if (!COMMANDS.includes(first as CommandName)) {
    throw new UsageError(`unknown command ${JSON.stringify(first)}; commands: ${COMMANDS.join(", ")}`);
  }
  const command = first as CommandName;
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: OPTIONS[command], allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.values.help) return { help: command };
  const max = command === "session" ? 1 : 0;
  if (parsed.positionals.length > max)
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[max])}`);
  if (command === "session" && parsed.positionals.length === 0) throw new UsageError("session needs a session key");
  return { command, values: parsed.values as ParsedArgs["values"], positionals: parsed.positionals };
}

/** A non-negative integer option, or undefined. */
export function intOption(values: ParsedArgs["values"], name: string, min = 0): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function listOption(values: ParsedArgs["values"], name: string): string[] | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  const list = (Array.isArray(v) ? v : [String(v)])
    .flatMap((x) => x.split(","))
    .map((x) => x.trim())
    .filter(Boolean);
  return list.length ? list : undefined;
}
