// What a command gets: its arguments, where to read, the open connection, the output streams.
import type { Writable } from "node:stream";
import type { ReadConnection, MalformedMessage } from "../read/events.ts";
import type { EventFilter } from "../read/filter.ts";
import type { Style } from "../read/format.ts";
import type { ParsedArgs } from "./args.ts";
import type { ReadSettings } from "./settings.ts";

type Out = Writable & { isTTY?: boolean };

export interface CliIO {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
  /** Aborted on SIGINT/SIGTERM: a tail ends, a replay stops early. */
  signal?: AbortSignal;
}

/** What the front end adds: the gateway's plugin config and a way to ask it for the plugin's status. */
export interface CliHost {
  pluginConfig?: Record<string, unknown>;
  /** The gateway's eventstore.status answer; throws with the reason when no gateway answers. */
  gatewayStatus?: () => Promise<unknown>;
}

export interface CommandContext {
  io: CliIO;
  host: CliHost;
  args: ParsedArgs;
  settings: ReadSettings;
  conn: ReadConnection;
  filter: EventFilter;
  /** Styling for stdout (colours only on a terminal). */
  style: Style;
  /** Reports a malformed message on stderr (the first ones; then only a count at the end). */
  malformed: (m: MalformedMessage) => void;
}

const MAX_REPORTED = 20;

export function malformedReporter(err: Out): { report: (m: MalformedMessage) => void; summary: () => void } {
  let n = 0;
  return {
    report: (m) => {
      n++;
      if (n <= MAX_REPORTED)
        err.write(`malformed message skipped: stream seq ${m.seq}, subject ${m.subject}: ${m.reason}\n`);
    },
    summary: () => {
      if (n > MAX_REPORTED)
        err.write(`${n} malformed messages skipped in all (the first ${MAX_REPORTED} are listed above)\n`);
    },
  };
}

/** Resolves when the signal aborts (never without one). */
export function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
}
