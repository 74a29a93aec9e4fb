// Makes sure the stream exists with the configured subjects and retention. An existing stream
// is updated where NATS allows it; what NATS cannot change (storage, retention kind, persist mode)
// is reported in words an operator can act on, and publishing goes on into the stream as it is.
import { nanos, type ServerInfo } from "@nats-io/transport-node";
import {
  type JetStreamManager,
  JetStreamApiError,
  PersistMode as JsPersistMode,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
} from "@nats-io/jetstream";
import type { StreamConfig, StreamUpdateConfig } from "@nats-io/jetstream";
import type { EventStoreConfig, PersistMode } from "../src/config.ts";
import { redactUrl } from "../src/nats-url.ts";
import type { StreamInfoSummary } from "../src/worker-protocol.ts";

const STREAM_NOT_FOUND = 10059;
/** JetStream API level of nats-server 2.12, the first with persist_mode (INFO carries api_lvl from 2.12 on). */
const PERSIST_MODE_API_LEVEL = 2;

/** What the server the worker is connected to says about itself (its INFO). */
export type ServerFeatures = Partial<Pick<ServerInfo, "version" | "api_lvl">>;

/**
 * Why persist_mode cannot be sent to this server, or undefined when it can. Servers before 2.12 do
 * not know the field: 2.9-2.11 drop it silently (the stream would be default without a word), and
 * 2.11 with strict JSON would refuse the whole request, so it is never sent to them.
 */
export function persistModeUnsupported(server: ServerFeatures | undefined): string | undefined {
  const level = server?.api_lvl;
  if (typeof level === "number" && level >= PERSIST_MODE_API_LEVEL) return undefined;
  const who = server?.version ? `nats-server ${server.version}` : "the server";
  const has = typeof level === "number" ? `JetStream API level ${level}` : "no JetStream API level";
  return (
    `persistMode "async" needs nats-server 2.12 or later (JetStream API level ${PERSIST_MODE_API_LEVEL}); ` +
    `${who} reports ${has}, so the stream uses the default persist mode (ack after the write)`
  );
}

/** The persist mode of a stream as its info reports it (absent means default, also on servers before 2.12). */
export function persistModeOf(config: Partial<StreamConfig>): PersistMode {
  return config.persist_mode === JsPersistMode.Async ? "async" : "default";
}

/** The stream as configured; persist_mode only when `asyncPersist` (the server is known to take it). */
export function desiredStream(
  c: EventStoreConfig,
  asyncPersist = false,
): Partial<StreamConfig> & { name: string; subjects: string[] } {
  return {
    name: c.streamName,
    subjects: [`${c.subjectPrefix}.>`],
    retention: RetentionPolicy.Limits,
    storage: c.storage === "memory" ? StorageType.Memory : StorageType.File,
    discard: DiscardPolicy.Old,
    max_msgs: c.retention.maxMessages,
    max_bytes: c.retention.maxBytes,
    max_age: c.retention.maxAgeHours > 0 ? nanos(c.retention.maxAgeHours * 3_600_000) : 0,
    duplicate_window: nanos(c.duplicateWindowMs),
    num_replicas: c.replicas,
    ...(asyncPersist ? { persist_mode: JsPersistMode.Async } : {}),
  };
}

export async function ensureStream(
  jsm: JetStreamManager,
  c: EventStoreConfig,
  server?: ServerFeatures,
): Promise<StreamInfoSummary> {
  const unsupported = c.persistMode === "async" ? persistModeUnsupported(server) : undefined;
  const want = desiredStream(c, c.persistMode === "async" && unsupported === undefined);
  let have: StreamConfig;
  try {
    have = (await jsm.streams.info(c.streamName)).config;
  } catch (e) {
    if (!(e instanceof JetStreamApiError) || e.code !== STREAM_NOT_FOUND) throw e;
    const info = await jsm.streams.add(want);
    const persistMode = persistModeOf(info.config);
    let warning: string | undefined;
    if (unsupported) warning = `stream ${c.streamName}: ${unsupported}`;
    else if (persistMode !== c.persistMode) {
      // The server took the request and left the field out (e.g. a cluster whose leader is older).
      warning =
        `stream ${c.streamName} was created with the default persist mode: the server did not keep ` +
        `persist_mode "async" (is a server before 2.12 in the cluster?)`;
    }
    const { messages, bytes } = info.state;
    return { name: c.streamName, action: "created", persistMode, messages, bytes, warning };
  }

  const problems: string[] = [];
  const persistMode = persistModeOf(have);
  if (persistMode !== c.persistMode) {
    if (unsupported) problems.push(unsupported);
    else if (persistMode === "async") {
      problems.push(
        `it uses persist_mode "async" (the server acks before the disk write, so a server crash can lose ` +
          `acked events) but persistMode is "default"; NATS cannot change the persist mode of a stream, ` +
          `so delete the stream or set persistMode to "async"`,
      );
    } else {
      problems.push(
        `it uses the default persist mode but persistMode is "async"; NATS cannot change the persist mode ` +
          `of a stream, so delete the stream (it is made anew with persist_mode "async") or set persistMode ` +
          `to "default"`,
      );
    }
  }
  if (have.storage !== want.storage) {
    problems.push(
      `it uses ${have.storage} storage but storage is "${c.storage}"; NATS cannot change storage, ` +
        `so delete the stream or set storage to "${have.storage}"`,
    );
  }
  if (have.retention !== want.retention) {
    problems.push(
      `it has ${have.retention} retention, not limits; NATS cannot change the retention kind, ` +
        "so delete the stream or use another streamName",
    );
  }
  const subject = want.subjects[0];
  const subjects = have.subjects?.includes(subject) ? have.subjects : [...(have.subjects ?? []), subject];
  const changed =
    subjects !== have.subjects ||
    have.max_msgs !== want.max_msgs ||
    have.max_bytes !== want.max_bytes ||
    have.max_age !== want.max_age ||
    have.duplicate_window !== want.duplicate_window ||
    have.num_replicas !== want.num_replicas;
  const warning = problems.length ? `stream ${c.streamName}: ${problems.join("; ")}` : undefined;
  if (!changed) return { name: c.streamName, action: "unchanged", persistMode, warning };
  // An update that leaves persist_mode out asks for the default, which an async stream refuses
  // (10052): the stream's own mode goes with it. nats.js merges the current config in as well.
  const update: Partial<StreamUpdateConfig> & Pick<Partial<StreamConfig>, "persist_mode"> = {
    subjects,
    max_msgs: want.max_msgs,
    max_bytes: want.max_bytes,
    max_age: want.max_age,
    duplicate_window: want.duplicate_window,
    num_replicas: want.num_replicas,
    ...(have.persist_mode ? { persist_mode: have.persist_mode } : {}),
  };
  try {
    const info = await jsm.streams.update(c.streamName, update);
    const { messages, bytes } = info.state;
    return { name: c.streamName, action: "updated", persistMode: persistModeOf(info.config), messages, bytes, warning };
  } catch (e) {
    const denied = setupFailure(c.streamName, e);
    if (denied.action === "not-checked") return denied;
    const why = e instanceof Error ? e.message : String(e);
    return {
      name: c.streamName,
      action: "error",
      persistMode,
      warning:
        `stream ${c.streamName} exists but could not be updated to the configured subjects/retention ` +
        `(${why})${warning ? `; also ${warning}` : ""}`,
    };
  }
}

/**
 * What to report when the stream could not be set up. A user whose permissions deny the JetStream
 * API (stream created by an operator beforehand) gets "not-checked" and the subject it may not use.
 */
export function setupFailure(stream: string, e: unknown): StreamInfoSummary {
  let denied: string | undefined;
  type Cause = { cause?: unknown; message?: unknown } | undefined;
  for (let x = e as Cause, n = 0; x && n < 5; x = x.cause as Cause, n++) {
    const m = /permissions violation for (?:publish|subscription) to "([^"]+)"/i.exec(String(x.message));
    if (m) denied = m[1];
  }
  if (denied !== undefined) {
    const what = denied.includes(".INFO.") ? "checked" : "created or updated";
    return {
      name: stream,
      action: "not-checked",
      warning:
        `stream ${stream} not ${what}: the NATS user has no permission for ${denied}; publishing into the stream ` +
        `as it is (create it beforehand, or allow $JS.API.STREAM.INFO/CREATE/UPDATE.${stream})`,
    };
  }
  const why = redactUrl(e instanceof Error ? e.message : String(e));
  return { name: stream, action: "error", warning: `could not check stream ${stream}: ${why}; publishing anyway` };
}
