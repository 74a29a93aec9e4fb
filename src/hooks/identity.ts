// Who an event belongs to. The agent comes from ctx.agentId, else from a canonical session key
// (agent:<id>:...); an event whose agent cannot be known is labelled "unknown", never guessed.
// "system" and "unknown" are labels: an agent really named so gets subjects of its own.

import { MAX_AGENT_CHARS } from "../record/format.ts";
import { type Bag, ifNonEmptyString } from "./fields.ts";

export const SYSTEM = "system";
export const UNKNOWN = "unknown";

/** The agent id in a session key of the form agent:<agentId>:<rest>. */
export function agentFromSessionKey(key: unknown): string | undefined {
  const k = ifNonEmptyString(key);
  if (k === undefined || !k.startsWith("agent:")) return undefined;
  // Look for the ":" only as far as an agent id is kept (capture cuts longer ones): a
  // multi-megabyte key without one is not scanned to its end.
  const head = k.length > 6 + MAX_AGENT_CHARS + 1 ? k.slice(0, 6 + MAX_AGENT_CHARS + 1) : k;
  const end = head.indexOf(":", 6);
  const id = end < 0 ? head.slice(6) : head.slice(6, end);
  return id.length > 0 ? id : undefined;
}

/** The agent id, or undefined when it cannot be known (the event is then labelled UNKNOWN). */
export function agentOf(event: Bag, ctx: Bag): string | undefined {
  return (
    ifNonEmptyString(ctx.agentId) ??
    agentFromSessionKey(ctx.sessionKey) ??
    agentFromSessionKey(event.sessionKey) ??
    agentFromSessionKey(ctx.requesterSessionKey) ??
    agentFromSessionKey(ctx.conversationId) ??
    agentFromSessionKey(ctx.childSessionKey) ??
    agentFromSessionKey(event.targetSessionKey)
  );
}

export function sessionOf(event: Bag, ctx: Bag): string {
  return (
    ifNonEmptyString(ctx.sessionKey) ??
    ifNonEmptyString(event.sessionKey) ??
    ifNonEmptyString(ctx.sessionId) ??
    ifNonEmptyString(event.sessionId) ??
    ifNonEmptyString(ctx.requesterSessionKey) ??
    UNKNOWN
  );
}
