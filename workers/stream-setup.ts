// Makes sure the stream exists with the configured subjects and retention. An existing stream
// is updated where NATS allows it; what NATS cannot change (storage, retention kind) is reported
// in words an operator can act on, and publishing goes on into the stream as it is.
import { nanos } from "@nats-io/transport-node";
import {
  type JetStreamManager,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
} from "@nats-io/jetstream";
import type { StreamConfig } from "@nats-io/jetstream";
import type { EventStoreConfig } from "../src/config.ts";
import { redactUrl } from "../src/nats-url.ts";
import type { StreamInfoSummary } from "../src/worker-protocol.ts";

const STREAM_NOT_FOUND = 10059;

export function desiredStream(c: EventStoreConfig): Partial<StreamConfig> & { name: string; subjects: string[] } {
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
  };
}

export async function ensureStream(jsm: JetStreamManager, c: EventStoreConfig): Promise<StreamInfoSummary> {
  const want = desiredStream(c);
  let have: StreamConfig;
  try {
    have = (await jsm.streams.info(c.streamName)).config;
  } catch (e) {
    if (!(e instanceof JetStreamApiError) || e.code !== STREAM_NOT_FOUND) throw e;
    const info = await jsm.streams.add(want);
    return { name: c.streamName, action: "created", messages: info.state.messages, bytes: info.state.bytes };
  }

  const problems: string[] = [];
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
  if (!changed) return { name: c.streamName, action: "unchanged", warning };
  try {
    const info = await jsm.streams.update(c.streamName, {
      subjects,
      max_msgs: want.max_msgs,
      max_bytes: want.max_bytes,
      max_age: want.max_age,
      duplicate_window: want.duplicate_window,
      num_replicas: want.num_replicas,
    });
    return { name: c.streamName, action: "updated", messages: info.state.messages, bytes: info.state.bytes, warning };
  } catch (e) {
    const denied = setupFailure(c.streamName, e);
    if (denied.action === "not-checked") return denied;
    const why = e instanceof Error ? e.message : String(e);
    return {
      name: c.streamName,
      action: "error",
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
