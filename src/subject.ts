// Subject mapping, seed-compatible: {prefix}.{agent}.{type with "." -> "_"}.
import { createHash } from "node:crypto";

const UNSAFE = /[\s.*>\u0000-\u001f\u007f]/g;
const MAX_TOKEN_CHARS = 64;
const HASH_HEX = 16;
/** The plugin's own labels: gateway-level events ("system") and events of no known agent ("unknown"). */
const LABELS = new Set(["system", "unknown"]);
/** What a mapped token ends with; an id that already ends like this is mapped too. */
const MAPPED_SUFFIX = new RegExp(`-[0-9a-f]{${HASH_HEX}}$`);

/** 64 bits of SHA-256: a fingerprint no two agent ids share in practice, even chosen ones. */
function fingerprint(s: string): string {
  return createHash("sha256").update(s).digest("hex").slice(0, HASH_HEX);
}

/**
 * A subject token for an agent. A valid id passes unchanged (the seed's subjects). Everything else
 * becomes a readable token plus a fingerprint of the original: ids NATS subjects cannot carry
 * (".", "*", ">", whitespace, controls), overlong ids, ids that end like such a token (so that
 * the literal id "my_bot-…" never takes the token of "my.bot"), and real agents named "system" or
 * "unknown" (so they never share the subjects of gateway-level or unattributed events).
 * `label`: `agent` is the plugin's own label, not an agent id.
 */
export function agentToken(agent: string, label = false): string {
  if (label && LABELS.has(agent)) return agent;
  UNSAFE.lastIndex = 0;
  const fits = agent.length > 0 && agent.length <= MAX_TOKEN_CHARS && !UNSAFE.test(agent);
  const valid = fits && !LABELS.has(agent) && !MAPPED_SUFFIX.test(agent);
  if (valid) return agent;
  return `${agent.replace(UNSAFE, "_").slice(0, MAX_TOKEN_CHARS) || "_"}-${fingerprint(agent)}`;
}

export function typeToken(type: string): string {
  return type.replace(/\./g, "_");
}

export function subjectFor(prefix: string, agent: string, type: string, label = false): string {
  return `${prefix}.${agentToken(agent, label)}.${typeToken(type)}`;
}
