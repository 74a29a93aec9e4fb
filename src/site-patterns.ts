// Site-specific secret patterns (config `redactPatterns`): checked when the config is read, on the
// host, and compiled again by the publisher worker, which applies them. The format and the safety
// check follow OpenClaw's own `logging.redactPatterns` (OpenClaw 2026.9.6, MIT licence,
// src/logging/redact-pattern-runtime.ts and src/security/safe-regex.ts): "/source/flags" or a
// plain source (then case-insensitive); patterns with nested repetition such as (a+)+, whose
// matching time can explode, are refused. Error messages never quote the pattern: a site pattern
// may well spell out the very secret it is meant to hide.

export const MAX_SITE_PATTERNS = 32;
const MAX_SITE_PATTERN_CHARS = 512;

/** The pattern as a global RegExp; throws an Error whose message says why, without the pattern. */
export function compileSitePattern(raw: string): RegExp {
  if (raw.trim() === "") throw new Error("is empty");
  if (raw.length > MAX_SITE_PATTERN_CHARS) throw new Error(`is longer than ${MAX_SITE_PATTERN_CHARS} characters`);
  const literal = /^\/(.+)\/([gimsuy]*)$/s.exec(raw);
  const source = literal ? literal[1] : raw;
  const flags = literal ? (literal[2].includes("g") ? literal[2] : `${literal[2]}g`) : "gi";
  if (hasNestedRepetition(source)) {
    throw new Error(
      "repeats a group that itself repeats or alternates (like (a+)+ or (a|ab)*): its matching time can explode",
    );
  }
  let re: RegExp;
  try {
    re = new RegExp(source, flags);
  } catch (e) {
    // V8's message quotes the source ("Invalid regular expression: /src/flags: reason"): keep the reason.
    const m = e instanceof Error ? e.message : "";
    throw new Error(`is not a valid regular expression (${m.slice(m.lastIndexOf(": ") + 2) || "syntax error"})`);
  }
  if (new RegExp(re.source, re.flags.replace("g", "")).test("")) throw new Error("matches the empty string");
  return re;
}

/**
 * True when a quantifier that can repeat more than once applies to a group that contains a
 * quantifier or an alternation. Stricter than OpenClaw's check (it also refuses (a|b)+, which is
 * safe but rare in secret patterns), and simple enough to trust.
 */
function hasNestedRepetition(source: string): boolean {
  // One frame per open group: does it contain a quantifier or an alternation?
  const frames: boolean[] = [false];
  let lastGroupRisky = false; // the token just before is a group that repeats or alternates inside
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (ch === "\\") {
      i++;
      lastGroupRisky = false;
      continue;
    }
    if (ch === "[") {
      for (i++; i < source.length && source[i] !== "]"; i++) if (source[i] === "\\") i++;
      lastGroupRisky = false;
      continue;
    }
    if (ch === "(") {
      // (?:  (?=  (?!  (?<=  (?<!  (?<name>  (?i:  : skip the group's prefix, it is no quantifier.
      if (source[i + 1] === "?") for (i += 2; i < source.length && !":=!>".includes(source[i]); i++);
      frames.push(false);
      lastGroupRisky = false;
      continue;
    }
    if (ch === ")") {
      const inner = frames.length > 1 ? frames.pop()! : false;
      lastGroupRisky = inner;
      if (inner) frames[frames.length - 1] = true;
      continue;
    }
    if (ch === "|") {
      frames[frames.length - 1] = true;
      lastGroupRisky = false;
      continue;
    }
    const rest = ch === "{" ? source.slice(i, i + 24) : "";
    // {n}, {n,} and {n,m} repeat; {0}, {1}, {,1} and {0,1} do not.
    const counted = /^\{\d*,\d*\}|^\{\d+\}/.test(rest) && !/^\{(0|1)\}|^\{0?,1\}/.test(rest);
    const repeats = ch === "*" || ch === "+" || counted;
    if (repeats && lastGroupRisky) return true;
    if (repeats || ch === "?") frames[frames.length - 1] = true;
    lastGroupRisky = false;
  }
  return false;
}
