// The event types the plugin publishes. The seed plugin's 17 names come first and keep their
// names (and therefore their subjects); newer hooks are appended. A record carries the index.

export const SEED_EVENT_TYPES = [
  "msg.in",
  "msg.out",
  "msg.sending",
  "tool.call",
  "tool.result",
  "run.start",
  "run.end",
  "run.error",
  "llm.input",
  "llm.output",
  "session.compaction_start",
  "session.compaction_end",
  "session.reset",
  "session.start",
  "session.end",
  "gateway.start",
  "gateway.stop",
] as const;

const EXTRA_EVENT_TYPES = [
  "model.call_start",
  "model.call_end",
  "subagent.spawned",
  "subagent.ended",
  "cron.changed",
  "skill.changed",
  "plugin.install",
] as const;

export const EVENT_TYPES: readonly string[] = [...SEED_EVENT_TYPES, ...EXTRA_EVENT_TYPES];

const indexByName = new Map(EVENT_TYPES.map((t, i) => [t, i]));

/** Index of an event type name, or -1 when unknown. */
export function eventTypeIndex(name: string): number {
  return indexByName.get(name) ?? -1;
}
