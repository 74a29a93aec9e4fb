// The pre-filters of secret redaction (workers/redact.ts): a scan of the payload's bytes that asks a
// lower-case expression about the runs where a candidate may start, and the hints of a JSON text's
// string literals found in one pass over the whole text. Here they are checked against plain
// case-insensitive regular expressions applied to the whole text (per text, per literal): same answers
// on the secret samples, on hostile text and on hundreds of thousands of generated strings built from
// the words, pieces of them and separators.
import { describe, expect, it } from "vitest";
import {
  HINT_API_HEADER,
  HINT_AUTHORIZATION,
  HINT_AWS,
  HINT_BEARER,
  HINT_PEM,
  HINT_URL,
  HINT_VENDOR,
  HINT_WORD,
  JsonHints,
  LOWER_CASE_SHIFTS,
  TextRedactor,
  hintsOf,
} from "../../workers/redact.ts";
import { SECRET_SAMPLES } from "../helpers/secrets.ts";

/** A word that names a secret, with any - and _ between its letters (keys are compared without them). */
const name = (word: string) => [...word].join("[-_]*");
const CANDIDATE = new RegExp(
  [
    String.raw`s(?:k[-_]|g\.)`,
    "rk_",
    "g(?:h[pousr]_|ithub_pat_|lpat-|sk_)",
    "x(?:ox[a-z]-|app-|ai-)",
    "a(?:kia|sia|iza)",
    "hf_",
    "npm_",
    "eyj",
    "-----begin",
    String.raw`:(?:\/\/|aa)`,
    ...["passw", "passphrase", "pwd", "secret", "token", "apikey", "accesskey", "privatekey", "auth"].map(name),
    ...["bearer", "credential", "cookie"].map(name),
  ].join("|"),
  "i",
);

const HINT_GROUPS: [string, number][] = [
  ["-----begin", HINT_PEM],
  [String.raw`:\/\/`, HINT_URL],
  ["authorization", HINT_AUTHORIZATION | HINT_WORD],
  ["bearer", HINT_BEARER],
  ["api-key|auth-token|access-token", HINT_API_HEADER | HINT_WORD],
  ["secret.?access", HINT_AWS | HINT_WORD],
  ["pass|pwd|secret|token|key|auth|credential", HINT_WORD],
  [
    String.raw`sk-|[sr]k_|gh[pousr]_|github_pat_|glpat-|xox[a-z]-|xapp-|akia|asia|aiza|hf_|npm_|gsk_|xai-|sg\.|eyj|:aa`,
    HINT_VENDOR,
  ],
];
const HINTS = new RegExp(HINT_GROUPS.map(([source]) => `(${source})`).join("|"), "gi");

function referenceHints(text: string): number {
  let bits = 0;
  HINTS.lastIndex = 0;
  for (let m = HINTS.exec(text); m !== null; m = HINTS.exec(text)) {
    for (let g = 1; g <= HINT_GROUPS.length; g++) if (m[g] !== undefined) bits |= HINT_GROUPS[g - 1][1];
  }
  return bits;
}

const WORDS = [
  "-----BEGIN",
  "://",
  "Authorization",
  "bearer",
  "api-key",
  "auth-token",
  "access-token",
  "secret_access",
  "secretaccess",
  "secret\naccess",
  "secretéaccess",
  "pass",
  "pwd",
  "Secret",
  "token",
  "KEY",
  "auth",
  "credential",
  "cookie",
  "passw",
  "passphrase",
  "private_key",
  "privatekey",
  "apikey",
  "accesskey",
  "pass_word",
  "Pass-Phrase",
  "api__key",
  "p_w_d",
  "to-k_en",
  "-----",
  "begin",
  "sk-",
  "SK_",
  "rk_",
  "ghp_",
  "GHS_",
  "github_pat_",
  "glpat-",
  "xoxb-",
  "xoxZ-",
  "xapp-",
  "akia",
  "ASIA",
  "AIza",
  "hf_",
  "npm_",
  "gsk_",
  "xai-",
  "sg.",
  "SG.",
  "eyJ",
  ":AA",
  ":aa",
];
const PIECES = ["sec", "ret", "acc", "ess", "au", "th", "to", "ken", "ke", "y", "p", "a", "s", "k", "g", "h", "x", "e"];
const WORD_PIECES = ["pa", "ss", "w", "be", "gin"];
const SEPARATORS = [" ", "_", "-", ".", ":", "/", "\n", "\r", "\u2028", "é", "😀", "x", "0", '"', "=", "İ", "\u212a"];

/** A deterministic generator (mulberry32). */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generated(n: number, seed: number): string[] {
  const next = random(seed);
  const pick = <T>(a: T[]) => a[Math.floor(next() * a.length)];
  const out: string[] = [];
  for (let k = 0; k < n; k++) {
    let s = "";
    const parts = 1 + Math.floor(next() * 8);
    for (let p = 0; p < parts; p++) {
      const r = next();
      s += r < 0.4 ? pick(WORDS) : r < 0.6 ? pick(PIECES) : r < 0.7 ? pick(WORD_PIECES) : pick(SEPARATORS);
    }
    out.push(next() < 0.5 ? s : s.toUpperCase());
  }
  return out;
}

const HOSTILE = [
  "eyJ".repeat(20_000),
  "sk-".repeat(20_000),
  "-----BEGIN RSA PRIVATE KEY-----\n".repeat(2000),
  "secretsecretaccess".repeat(5000),
  "a_".repeat(50_000),
  "::aa//".repeat(10_000),
  "p_a_s_s_".repeat(30_000),
  `p${"-".repeat(200_000)}`,
];

const hasCandidate = (b: Buffer) => new TextRedactor().candidate(b, 0, b.length);

/** The string literals of a JSON text: [start, end) including the quotes. */
function literals(text: string): [number, number][] {
  const out: [number, number][] = [];
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i)) {
    let j = i + 1;
    while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
    out.push([i, j + 1]);
    i = j + 1;
  }
  return out;
}

describe("secret redaction pre-filters", () => {
  it("find a candidate in a payload's bytes exactly where the case-insensitive expression does", () => {
    const texts = [...generated(200_000, 1), ...SECRET_SAMPLES.map((x) => x.text), ...HOSTILE, "", "nothing here"];
    let found = 0;
    for (const text of texts) {
      const bytes = Buffer.from(text, "utf8");
      const want = CANDIDATE.test(bytes.toString("latin1"));
      if (hasCandidate(bytes) !== want) expect(hasCandidate(bytes), text).toBe(want);
      if (want) found++;
    }
    // Both answers are common in the generated strings, so a filter that always says one of them fails.
    expect(found).toBeGreaterThan(texts.length / 4);
    expect(found).toBeLessThan(texts.length - texts.length / 20);
    const b = Buffer.from("token|plain text|secret");
    const t = new TextRedactor();
    expect([t.candidate(b, 6, 16), t.candidate(b, 0, 5), t.candidate(b, 0, 4), t.candidate(b, 17, 23)]).toEqual([
      false,
      true,
      false,
      true,
    ]);
  });

  it("give a text the hint bits of the case-insensitive expression, whose first match at a position wins", () => {
    const texts = [...generated(200_000, 2), ...SECRET_SAMPLES.map((x) => x.text), ...HOSTILE, ""];
    const seen = new Set<number>();
    for (const text of texts) {
      const want = referenceHints(text);
      if (hintsOf(text) !== want) expect(hintsOf(text), JSON.stringify(text)).toBe(want);
      seen.add(want);
    }
    for (const bit of [HINT_PEM, HINT_URL, HINT_AUTHORIZATION, HINT_BEARER, HINT_API_HEADER, HINT_AWS, HINT_VENDOR])
      expect([...seen].some((b) => (b & bit) !== 0)).toBe(true);
    // Where words overlap, the first match decides: "keyJ" is the word "key", not the vendor "eyJ".
    expect(hintsOf("keyJ")).toBe(HINT_WORD);
    expect(hintsOf("secret_access")).toBe(HINT_AWS | HINT_WORD);
    expect(hintsOf("secret\naccess")).toBe(HINT_WORD);
    // Lower-cased, the Kelvin sign would be a "k"; matched case-insensitively, it is not one.
    expect(hintsOf("to\u212aen")).toBe(0);
  });

  it("give each string literal of a JSON text, from one pass, the bits of a pass over the literal alone", () => {
    const strings = generated(60_000, 3);
    let checked = 0;
    for (let k = 0; k + 4 <= strings.length; k += 4) {
      const [a, b, c, d] = strings.slice(k, k + 4);
      const text = JSON.stringify({ [a]: b, list: [c, 1e21, true, null, { [d]: a }], n: -1.5e-7 });
      const words = new JsonHints(text);
      for (const [start, end] of literals(text)) {
        const want = referenceHints(text.slice(start, end));
        if (words.between(start, end) !== want) expect(text.slice(start, end)).toBe(`hints ${want}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100_000);
  });

  it("know every character whose lower case is ASCII or longer than it", () => {
    const shifts: string[] = [];
    for (let c = 0x80; c <= 0x10ffff; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCodePoint(c);
      const lower = ch.toLowerCase();
      if (lower.length !== ch.length || [...lower].some((x) => x.charCodeAt(0) < 0x80)) shifts.push(ch);
    }
    expect(shifts.length).toBeGreaterThan(0);
    for (const ch of shifts) expect(LOWER_CASE_SHIFTS.test(ch), `U+${ch.codePointAt(0)!.toString(16)}`).toBe(true);
  });
});
