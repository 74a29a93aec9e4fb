// Who an event belongs to. The agent comes from ctx.agentId, else from a canonical session key
// (agent:<id>:...); an event whose agent cannot be known is labelled "unknown", never guessed.
// "system" and "unknown" are labels: an agent really named so gets subjects of its own.

export const SYSTEM = "system";
export const UNKNOWN = "unknown";

type Bag = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === "string" && v.length > 0 ? v : undefined;
}

/** The agent id in a session key of the form agent:<agentId>:<rest>. */
export function agentFromSessionKey(key: unknown): string | undefined {
  const k = str(key);
  if (k === undefined || !k.startsWith("agent:")) return undefined;
  const end = k.indexOf(":", 6);
  const id = end < 0 ? k.slice(6) : k.slice(6, end);
  return id.length > 0 ? id : undefined;
}

/** The agent id, or undefined when it cannot be known (the event is then labelled UNKNOWN). */
export function agentOf(event: Bag, ctx: Bag): string | undefined {
  return (
    str(ctx.agentId) ??
    agentFromSessionKey(ctx.sessionKey) ??
    agentFromSessionKey(event.sessionKey) ??
    agentFromSessionKey(ctx.requesterSessionKey) ??
    agentFromSessionKey(ctx.conversationId) ??
    agentFromSessionKey(ctx.childSessionKey) ??
    agentFromSessionKey(event.targetSessionKey)
  );
}

export function sessionOf(event: Bag, ctx: Bag): string {
  return str(ctx.sessionKey) ?? str(event.sessionKey) ?? str(ctx.sessionId) ?? str(event.sessionId) ?? str(ctx.requesterSessionKey) ?? UNKNOWN;
}
