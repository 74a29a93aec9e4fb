// Subject mapping, seed-compatible: {prefix}.{agent}.{type with "." -> "_"}.

const UNSAFE = /[\s.*>\u0000-\u001f\u007f]/g;
const MAX_TOKEN_CHARS = 64;

/** FNV-1a over UTF-16 units: a short, stable fingerprint of the original agent id. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

/**
 * A subject token for an agent id. Valid ids pass unchanged; an id with characters that NATS
 * subjects cannot carry (".", "*", ">", whitespace, controls), or an overlong one, becomes a
 * readable token plus a fingerprint of the original, so two different ids never share a token.
 */
export function agentToken(agent: string): string {
  if (agent.length === 0) return "unknown";
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(agent) && agent.length <= MAX_TOKEN_CHARS) return agent;
  return `${agent.replace(UNSAFE, "_").slice(0, MAX_TOKEN_CHARS)}-${fnv1a(agent)}`;
}

export function typeToken(type: string): string {
  return type.replace(/\./g, "_");
}

export function subjectFor(prefix: string, agent: string, type: string): string {
  return `${prefix}.${agentToken(agent)}.${typeToken(type)}`;
}
