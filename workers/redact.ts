// Secret redaction, on the publisher thread: well-known secret shapes in a payload become
// [REDACTED:kind] before it is published, whatever the privacy mode. It works on the payload bytes
// the host already encoded (JSON or MessagePack), so the gateway's thread pays nothing for it, and
// a cheap pre-filter over the whole payload lets events without a candidate through untouched.
// A candidate string is decoded, redacted and encoded again, so the JSON stays valid JSON (every
// escape intact) and the MessagePack valid MessagePack.
//
// The shapes follow OpenClaw's own redaction (OpenClaw 2026.9.6, MIT licence,
// src/logging/redact.ts: vendor token prefixes, PEM blocks, JWTs, authorization headers, passwords
// in URLs, secret assignments, AWS secret keys), re-stated here because openclaw is an optional
// peer that the worker cannot import; quantifiers are bounded and every pattern starts only at a
// token boundary, so a hostile payload cannot make matching quadratic.
import { compileSitePattern } from "../src/site-patterns.ts";
import { Counter } from "../src/ring/layout.ts";

type RedactKind = string;

interface Rule {
  re: RegExp;
  /** The last capture group holds the secret and ends the match; what comes before it is kept. */
  kind: (match: string[]) => RedactKind;
  /** The rule runs only on text that has all of these (HINT_* bits, found in one pass by HINTS). */
  needs: number;
  /** ... and contains one of these characters (its separator). */
  chars?: string;
}

// What a text holds, found in one pass (HINTS): each rule runs only where its words are, instead of
// every rule scanning every candidate string.
export const HINT_PEM = 1;
export const HINT_URL = 2;
export const HINT_AUTHORIZATION = 4;
export const HINT_BEARER = 8;
export const HINT_API_HEADER = 16;
export const HINT_AWS = 32;
export const HINT_WORD = 64; // a name of a secret: password, token, key...
export const HINT_VENDOR = 128;
const HINT_SITE = 256; // site patterns: they can match anything
/** One group per family of words, and the bits it sets (the header and AWS words name secrets too). */
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
// The words are matched in any case. V8 matches a case-insensitive alternation like this one several
// times slower than the same in lower case over lower-cased text (measured: 11.8 vs 4.1 ns per
// character, lower-casing included), and the two find the same matches unless the text holds a
// character whose lower case is ASCII or longer than it (LOWER_CASE_SHIFTS): then the
// case-insensitive one runs.
const HINT_SOURCE = HINT_GROUPS.map(([source]) => `(${source})`).join("|");
const HINTS = new RegExp(HINT_SOURCE, "g");
const HINTS_ANY_CASE = new RegExp(HINT_SOURCE, "gi");
const HINT_BITS = [0, ...HINT_GROUPS.map(([, bits]) => bits)];
/** The characters whose lower case is ASCII or two characters: U+0130 (İ) and the Kelvin sign (checked by a test). */
export const LOWER_CASE_SHIFTS = /[\u0130\u212a]/;

/** The HINT_* bits of the words in `text`. */
export function hintsOf(text: string): number {
  const any = LOWER_CASE_SHIFTS.test(text);
  const re = any ? HINTS_ANY_CASE : HINTS;
  const t = any ? text : text.toLowerCase();
  let bits = 0;
  re.lastIndex = 0;
  for (let m = re.exec(t); m !== null; m = re.exec(t)) bits |= bitsOf(m);
  return bits;
}

function bitsOf(m: RegExpExecArray): number {
  for (let g = 1; g < HINT_BITS.length; g++) if (m[g] !== undefined) return HINT_BITS[g];
  return 0;
}

/**
 * The words of a whole JSON text found in one pass, for its string literals: no word can hold a
 * quote, and none can be made of JSON's punctuation, numbers and literals, so each match lies inside
 * one string literal, and the matches inside a literal are those a pass over the literal alone
 * finds. Literals are then asked about in the order of the text.
 */
export class JsonHints {
  private readonly at: number[] = [];
  private readonly bits: number[] = [];
  private next = 0;
  /** The text when it needs the case-insensitive pass (LOWER_CASE_SHIFTS): then per literal. */
  private readonly slow: string | undefined;

  constructor(text: string) {
    if (LOWER_CASE_SHIFTS.test(text)) {
      this.slow = text;
      return;
    }
    const lower = text.toLowerCase();
    HINTS.lastIndex = 0;
    for (let m = HINTS.exec(lower); m !== null; m = HINTS.exec(lower)) {
      this.at.push(m.index);
      this.bits.push(bitsOf(m));
    }
  }

  /** The hint bits of text[start, end); ranges asked about must come in text order. */
  between(start: number, end: number): number {
    if (this.slow !== undefined) return hintsOf(this.slow.slice(start, end));
    const at = this.at;
    let k = this.next;
    while (k < at.length && at[k] < start) k++;
    let bits = 0;
    for (; k < at.length && at[k] < end; k++) bits |= this.bits[k];
    this.next = k;
    return bits;
  }
}

/** Which kind of secret a key or an assignment names. */
function keyKind(name: string): RedactKind {
  const n = name.toLowerCase().replace(/[-_]/g, "");
  if (/pass|pwd/.test(n)) return "password";
  if (n.includes("privatekey")) return "private-key";
  if (n.includes("secretaccesskey")) return "aws-secret-key";
  if (/apikey|accesskey|apitoken/.test(n)) return "api-key";
  if (n.includes("token") || n === "jwt") return "token";
  if (n.includes("secret")) return "secret";
  if (n.includes("cookie")) return "cookie";
  if (n.includes("authorization")) return "authorization";
  return "credential";
}

// Names that make the value after them a secret. A prefix stays outside the match, so DB_PASSWORD,
// GITHUB_TOKEN, client_secret or access_token are found by their last word.
const SECRET_WORDS = [
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "secret[-_]?key",
  "secret",
  "token",
  "api[-_]?key",
  "apikey",
  "access[-_]?key",
  "private[-_]?key",
  "auth",
  "credentials?",
].join("|");
const WORD_START = String.raw`(?<![A-Za-z0-9])`;
const PEM_BEGIN = "-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY-----";
const AUTHORIZATION = String.raw`(?:Proxy-)?Authorization["']?[ \t]*[:=][ \t]*["']?`;
const AUTH_SCHEMES = "Bearer|Basic|Digest|Token|Bot";
const API_HEADERS = "x-api-key|x-goog-api-key|x-auth-token|x-access-token|api-key";
const AWS_SECRET_NAME = "secret[-_]?access[-_]?key";
const AWS_SECRET = "[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])";
/** A quoted key that names a secret: "password", 'db_password', "authorization"... */
const QUOTED_NAME = String.raw`(?:[A-Za-z0-9]+[-_])?(${SECRET_WORDS}|authorization)`;
/** A quoted value, to its closing quote. */
const QUOTED = String.raw`([^"'\r\n]{1,4096})`;
/** Characters of a token or a base64 credential in a header. */
const CREDENTIAL = "[A-Za-z0-9._~+/=-]";
/** A header's or a key's separator, optionally quoted around: `: `, `=`, `": "`. */
const SEPARATOR = (chars: string) => String.raw`["']?[ \t]*[${chars}][ \t]*["']?`;

/**
 * `<key><separator>value`: a quoted value up to its closing quote (or, cut off, up to a space), or
 * a bare one; $VARIABLES and [REDACTED:...] stay. One pass for all three forms.
 */
function assignment(keyAndSeparator: string, flags: string, separator: string): Rule {
  const quoted = String.raw`(?<=["'])(?![$[])[^"'\r\n]{1,1024}(?=\3)`;
  const cut = String.raw`(?<=["'])(?![$[])[^\s"'&,;<>#]{1,1024}`;
  const bare = String.raw`(?<!["'])(?![$[{|>])[^\s"'&,;<>#]{1,1024}`;
  return {
    re: new RegExp(String.raw`(${keyAndSeparator}(["']?))(${quoted}|${cut}|${bare})`, flags),
    kind: (m) => keyKind(m[2]),
    needs: HINT_WORD,
    chars: separator,
  };
}

/** Vendor tokens: one pass over a string finds any of them. */
const VENDOR_TOKENS: [RedactKind, string][] = [
  ["anthropic-key", String.raw`sk-ant-[A-Za-z0-9_-]{16,}`],
  ["openai-key", String.raw`sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{16,}`],
  ["github-token", String.raw`gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}`],
  ["gitlab-token", String.raw`glpat-[A-Za-z0-9_-]{20,}`],
  ["slack-token", String.raw`xox[a-z]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}`],
  ["stripe-key", String.raw`[sr]k_(?:live|test)_[A-Za-z0-9]{16,}`],
  ["google-api-key", String.raw`AIza[0-9A-Za-z_-]{35}`],
  ["aws-access-key-id", String.raw`(?:AKIA|ASIA)[A-Z0-9]{16}(?![A-Za-z0-9])`],
  ["huggingface-token", String.raw`hf_[A-Za-z0-9]{30,}`],
  ["npm-token", String.raw`npm_[A-Za-z0-9]{36}`],
  ["groq-key", String.raw`gsk_[A-Za-z0-9]{20,}`],
  ["xai-key", String.raw`xai-[A-Za-z0-9]{30,}`],
  ["sendgrid-key", String.raw`SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}`],
  ["telegram-bot-token", String.raw`\d{6,12}:AA[A-Za-z0-9_-]{30,}`],
  ["jwt", String.raw`eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}`],
];

const RULES: Rule[] = [
  // PEM private key blocks; one whose end was cut off is redacted to the end of its base64.
  {
    // The body cannot hold "-----": matching stops at the next marker, whatever follows.
    re: new RegExp(`()(${PEM_BEGIN}(?:[^-]|-(?!----)){0,16384}-----END[A-Z0-9 ]{0,40}PRIVATE KEY-----)`, "g"),
    kind: () => "private-key",
    needs: HINT_PEM,
  },
  {
    re: new RegExp(String.raw`()(${PEM_BEGIN}[A-Za-z0-9+/=\s:,.-]*)`, "g"),
    kind: () => "private-key",
    needs: HINT_PEM,
  },
  // Passwords in URLs (scheme://user:password@host), up to the last "@" before the host.
  // (The scheme is a look-behind: matching starts at "://", a literal V8 finds fast.)
  {
    re: /(?<=\b[A-Za-z][A-Za-z0-9+.-]{1,20})(:\/\/[^\s/:@"'<>]{0,256}:)([^\s/"'<>]{1,256})(?=@[^\s@/"'<>]+)/g,
    kind: () => "url-password",
    needs: HINT_URL,
  },
  // Authorization headers: the credential after the scheme, or an opaque one.
  {
    re: new RegExp(String.raw`(${AUTHORIZATION}(${AUTH_SCHEMES})[ \t]+)(${CREDENTIAL}{4,4096})`, "gi"),
    kind: (m) => ({ basic: "basic-auth", bearer: "bearer-token" })[m[2].toLowerCase()] ?? "authorization",
    needs: HINT_AUTHORIZATION,
  },
  {
    re: new RegExp(String.raw`(${AUTHORIZATION})((?!(?:${AUTH_SCHEMES})\b)${CREDENTIAL}{16,4096})`, "gi"),
    kind: () => "authorization",
    needs: HINT_AUTHORIZATION,
  },
  {
    re: new RegExp(String.raw`(\bBearer[ \t]+)(${CREDENTIAL}{16,4096})`, "gi"),
    kind: () => "bearer-token",
    needs: HINT_BEARER,
  },
  {
    re: new RegExp(String.raw`(\b(?:${API_HEADERS})${SEPARATOR(":")})(${CREDENTIAL}{8,4096})`, "gi"),
    kind: () => "api-key",
    needs: HINT_API_HEADER,
  },
  // AWS secret access keys in credentials files, environments and configs.
  {
    re: new RegExp(String.raw`(${WORD_START}${AWS_SECRET_NAME}${SEPARATOR(":=")})(${AWS_SECRET})`, "gi"),
    kind: () => "aws-secret-key",
    needs: HINT_AWS,
  },
  // "password": "..." inside text (JSON quoted in a message or a tool output).
  {
    re: new RegExp(String.raw`((["'])${QUOTED_NAME}\2[ \t]*:[ \t]*["'])` + QUOTED, "gi"),
    kind: (m) => keyKind(m[3]),
    needs: HINT_WORD,
    chars: `"'`,
  },
  // password=..., DB_PASSWORD = '...', GITHUB_TOKEN=..., client_secret=..., api_key=... and YAML-style
  // lines (password: ...); a quoted value up to its closing quote. $VARS and [REDACTED:...] stay.
  assignment(String.raw`${WORD_START}(${SECRET_WORDS})[ \t]*=[ \t]*`, "gi", "="),
  assignment(String.raw`^[ \t-]*(?:[A-Za-z0-9]+[-_])*(${SECRET_WORDS})[ \t]*:[ \t]+`, "gim", ":"),
  // Vendor tokens and JWTs, last: the rules above keep their key names readable.
  {
    re: new RegExp(`()(?<![A-Za-z0-9_-])(${VENDOR_TOKENS.map(([, s]) => `(${s})`).join("|")})`, "g"),
    kind: (m) => VENDOR_TOKENS[m.slice(3).findIndex((g) => g !== undefined)]?.[0] ?? "token",
    needs: HINT_VENDOR,
  },
];

// The pre-filter: what may start a secret, and a scan of the payload's bytes for it. Every rule
// above needs one of these, and a key that names a secret (SECRET_KEYS) spells one of the words.
/** Vendor token starts: a literal (three characters besides - and _, or two and one of them), then the rest. */
const TOKEN_STARTS: [start: string, rest: string][] = [
  ["sk-", ""],
  ["sk_", ""],
  ["rk_", ""],
  ["sg.", ""],
  ["ghp", "_"],
  ["gho", "_"],
  ["ghu", "_"],
  ["ghs", "_"],
  ["ghr", "_"],
  ["git", "hub_pat_"],
  ["glp", "at-"],
  ["gsk", "_"],
  ["xox", "[a-z]-"],
  ["xap", "p-"],
  ["xai", "-"],
  ["aki", "a"],
  ["asi", "a"],
  ["aiz", "a"],
  ["hf_", ""],
  ["npm", "_"],
  ["eyj", ""],
  ["-----beg", "in"],
  ["://", ""],
  [":aa", ""],
];
/**
 * Words that name a secret, with any - and _ between their letters: a key is compared without
 * them (secretKeyKind), so `pass_word` names a password as `password` does.
 */
const SECRET_NAME_WORDS = [
  "passw",
  "passphrase",
  "pwd",
  "secret",
  "token",
  "apikey",
  "accesskey",
  "privatekey",
  "auth",
  "bearer",
  "credential",
  "cookie",
];
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
/**
 * The exact test, over the lower-cased Latin-1 reading of the bytes (which holds no LOWER_CASE_SHIFTS),
 * grouped by first character, which V8 matches about twice as fast as the flat alternation.
 */
const CANDIDATE = (() => {
  const groups = new Map<string, string[]>();
  const add = (first: string, rest: string) => groups.set(first, [...(groups.get(first) ?? []), rest]);
  for (const [start, rest] of TOKEN_STARTS) add(escapeRegExp(start[0]), escapeRegExp(start.slice(1)) + rest);
  for (const word of SECRET_NAME_WORDS) add(word[0], [...word.slice(1)].map((ch) => `[-_]*${ch}`).join(""));
  return new RegExp([...groups].map(([first, rests]) => `${first}(?:${rests.join("|")})`).join("|"));
})();

// The scan that gates it: a table lookup per byte (~2 ns here, where the expression takes 3.5-5 ns per
// byte, the lower-cased copy of the bytes besides), so a payload without a candidate (most of them)
// never becomes a string. A byte's class folds case; - and _ stay out of the window of the last three
// classes (the words allow them anywhere), and the starts that end in one after two characters (sk-,
// rk_, hf_) are looked up by those two when it comes. Every match of CANDIDATE begins with one of
// these, so the scan never misses one; where it finds one, the expression decides.
const CLASS_SEPARATOR = 32;
const CLASS = new Uint8Array(256); // 0: a byte no candidate starts with
for (let c = 0; c < 26; c++) CLASS[0x61 + c] = CLASS[0x41 + c] = c + 1;
CLASS[0x2e] = 27; // .
CLASS[0x3a] = 28; // :
CLASS[0x2f] = 29; // /
CLASS[0x2d] = CLASS[0x5f] = CLASS_SEPARATOR; // - _
/** Indexed by the window (three classes, 15 bits) and a bit for "a separator came now". */
const STARTS = new Uint8Array(1 << 16);
for (const literal of [...TOKEN_STARTS.map(([start]) => start), ...SECRET_NAME_WORDS]) {
  // its first three classes, separators left out, or its first two when a separator follows them
  const k: number[] = [];
  for (const ch of literal) {
    const c = CLASS[ch.charCodeAt(0)];
    if (c === 0) throw new Error(`redact: the pre-filter cannot see ${JSON.stringify(ch)} in ${literal}`);
    if (c !== CLASS_SEPARATOR) k.push(c);
    else if (k.length === 2) break;
    if (k.length === 3) break;
  }
  if (k.length === 3) STARTS[((k[0] << 10) | (k[1] << 5) | k[2]) << 1] = 1;
  else if (k.length === 2) for (let c = 0; c < 32; c++) STARTS[(((c << 10) | (k[0] << 5) | k[1]) << 1) | 1] = 1;
  else throw new Error(`redact: the pre-filter needs three characters of ${literal}`);
}

/** True when bytes[start, end) hold a candidate (a match of CANDIDATE, in any case). */
function hasCandidate(bytes: Buffer, start: number, end: number): boolean {
  for (let i = scan(bytes, start, end); i >= 0; i = scan(bytes, i, end)) {
    // A match holds no byte of class 0, so it lies within one run of the others: the expression is
    // asked about this run alone (a word such as "create" costs the run, not the rest of the payload).
    let from = i;
    while (from > start && CLASS[bytes[from - 1]] !== 0) from--;
    for (i++; i < end && CLASS[bytes[i]] !== 0; ) i++;
    if (CANDIDATE.test(bytes.toString("latin1", from, i).toLowerCase())) return true;
  }
  return false;
}

/** Where in bytes[start, end) the scan first finds what may start a candidate, or -1. */
function scan(bytes: Uint8Array, start: number, end: number): number {
  let w = 0;
  for (let i = start; i < end; i++) {
    const k = CLASS[bytes[i]];
    const separator = k >>> 5;
    w = separator !== 0 ? w : ((w << 5) | k) & 0x7fff;
    if (STARTS[(w << 1) | separator] !== 0) return i;
  }
  return -1;
}

/** JSON object keys (normalised: lower case, no - or _) whose string values are secrets as a whole. */
const SECRET_KEYS = new Set([
  "password",
  "passwd",
  "pwd",
  "passphrase",
  "secret",
  "clientsecret",
  "appsecret",
  "token",
  "accesstoken",
  "refreshtoken",
  "idtoken",
  "authtoken",
  "sessiontoken",
  "bearertoken",
  "apitoken",
  "apikey",
  "xapikey",
  "accesskey",
  "secretkey",
  "authorization",
  "proxyauthorization",
  "cookie",
  "setcookie",
  "privatekey",
  "awssecretaccesskey",
  "secretaccesskey",
  "credential",
  "credentials",
]);
// A key the pre-filter would not see would never be asked about: every one must hold a word of it.
for (const key of SECRET_KEYS)
  if (!CANDIDATE.test(key)) throw new Error(`redact: the pre-filter misses the key ${key}`);

function secretKeyKind(key: string): RedactKind | undefined {
  if (key.length > 64) return undefined;
  const n = key.toLowerCase().replace(/[-_]/g, "");
  return SECRET_KEYS.has(n) ? keyKind(key) : undefined;
}

/** Replaces the secrets in `text`; `count` says how many. */
export class TextRedactor {
  count = 0;
  private readonly site: RegExp[];

  /** `sitePatterns`: config redactPatterns, already validated (src/site-patterns.ts). */
  constructor(sitePatterns: readonly string[] = []) {
    this.site = sitePatterns.map(compileSitePattern);
  }

  /** True when the bytes b[start, end) may hold a secret (always, with site patterns: they can match anything). */
  candidate(b: Buffer, start: number, end: number): boolean {
    return this.site.length > 0 || hasCandidate(b, start, end);
  }

  /** The site-pattern bit of hints(): with site patterns every text may hold a secret. */
  get siteHint(): number {
    return this.site.length > 0 ? HINT_SITE : 0;
  }

  /** What `text` holds (hintsOf); 0 and no site patterns: nothing to redact. */
  hints(text: string): number {
    return hintsOf(text) | (this.site.length > 0 ? HINT_SITE : 0);
  }

  /** `hints`: from hints() of the text or of its JSON-escaped form (escapes hide no ASCII letter). */
  redact(text: string, hints = this.hints(text)): string {
    let out = text;
    if (hints !== 0) {
      for (const rule of RULES) {
        if ((rule.needs & hints) !== rule.needs) continue;
        if (rule.chars !== undefined && !hasAny(out, rule.chars)) continue;
        rule.re.lastIndex = 0;
        out = out.replace(rule.re, (...args: unknown[]) => this.replace(args, rule.kind));
      }
    }
    for (const re of this.site) {
      re.lastIndex = 0;
      out = out.replace(re, (...args: unknown[]) => this.replace(args, () => "custom"));
    }
    return out;
  }

  private replace(args: unknown[], kind: (m: string[]) => RedactKind): string {
    // args: match, groups..., offset, input[, named groups]
    const last = args[args.length - 1];
    const end = typeof last === "object" && last !== null ? args.length - 3 : args.length - 2;
    const m = args.slice(0, end).map((x) => (typeof x === "string" ? x : undefined)) as string[];
    let secret = m[0];
    // The secret is the last group that took part and ends the match (the rules above); for a
    // site pattern, its last capture group if it has one, else the whole match.
    for (let i = m.length - 1; i >= 1; i--) {
      if (m[i] !== undefined && m[i] !== "" && m[0].endsWith(m[i])) {
        secret = m[i];
        break;
      }
    }
    if (secret === "") return m[0];
    this.count++;
    return `${m[0].slice(0, m[0].length - secret.length)}[REDACTED:${kind(m)}]`;
  }
}

/**
 * Redacts encoded payloads and counts what it replaced in the status counters (redactions,
 * redactedEvents). A record published again (a retry, a re-publish after a reconnect or a
 * worker restart) is redacted again but counted once per process lifetime of this worker.
 */
export class Redactor {
  private readonly text: TextRedactor;
  private readonly counters: Float64Array | undefined;
  /** Per capturing process (instance id): one past the highest sequence number counted. */
  private readonly countedUpTo = new Map<number, number>();

  constructor(sitePatterns: readonly string[] = [], counters?: Float64Array) {
    this.text = new TextRedactor(sitePatterns);
    this.counters = counters;
  }

  /**
   * The payload `src[start, end)` (JSON text or MessagePack) with its secrets replaced, or
   * undefined when it holds none. `instance` and `seq` identify the record, for counting.
   */
  payload(src: Buffer, start: number, end: number, json: boolean, instance = 0, seq = 0): Uint8Array | undefined {
    if (!this.text.candidate(src, start, end)) return undefined;
    const bytes = src.subarray(start, end);
    this.text.count = 0;
    const out = json ? this.json(bytes) : this.msgpack(bytes);
    const n = this.text.count;
    if (n > 0 && this.counters !== undefined && seq >= (this.countedUpTo.get(instance) ?? 0)) {
      this.countedUpTo.set(instance, seq + 1);
      this.counters[Counter.redactions] += n;
      this.counters[Counter.redactedEvents]++;
    }
    return out;
  }

  /** JSON text: every string literal that may hold a secret is decoded, redacted and encoded again. */
  private json(bytes: Buffer): Uint8Array | undefined {
    try {
      return this.jsonStrings(bytes.toString("utf8"));
    } catch {
      // Not the JSON the host writes: publish nothing of it rather than something unchecked.
      this.text.count++;
      return Buffer.from(JSON.stringify(UNREADABLE));
    }
  }

  private jsonStrings(text: string): Uint8Array | undefined {
    const parts: string[] = [];
    let copied = 0;
    let keyKind: RedactKind | undefined;
    let hints = 0;
    let valueAt = -1; // where the value of the last key starts
    const words = new JsonHints(text);
    const site = this.text.siteHint;
    for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i)) {
      let j = text.indexOf('"', i + 1);
      while (j > 0 && isEscaped(text, j)) j = text.indexOf('"', j + 1);
      if (j < 0) throw new Error("unterminated string"); // not JSON from JSON.stringify
      const isKey = text.charCodeAt(j + 1) === 58; // ":"
      let replacement: string | undefined;
      if (!isKey && i === valueAt && keyKind !== undefined) {
        this.text.count++;
        replacement = `"[REDACTED:${keyKind}]"`;
      } else if ((hints = words.between(i, j + 1) | site) !== 0) {
        const decoded = JSON.parse(text.slice(i, j + 1)) as string;
        const red = this.text.redact(decoded, hints);
        if (red !== decoded) replacement = JSON.stringify(red);
      }
      if (isKey) {
        const key = j - i <= 65 ? text.slice(i + 1, j) : "\\";
        keyKind = key.includes("\\") ? undefined : secretKeyKind(key);
        valueAt = j + 2;
      }
      if (replacement !== undefined) {
        parts.push(text.slice(copied, i), replacement);
        copied = j + 1;
      }
      i = j + 1;
    }
    if (parts.length === 0) return undefined;
    parts.push(text.slice(copied));
    return Buffer.from(parts.join(""), "utf8");
  }

  /** MessagePack: the same for every str item; the structure around them is copied as it is. */
  private msgpack(b: Buffer): Uint8Array | undefined {
    const out: Uint8Array[] = [];
    let copied = 0;
    // One frame per open map or array: items left, items seen, and the secret kind of the last map key.
    const frames: { left: number; seen: number; map: boolean; keyKind: RedactKind | undefined }[] = [];
    let hints = 0;
    let p = 0;
    const n = b.length;
    try {
      while (p < n) {
        const top = frames[frames.length - 1];
        const isKey = top?.map && top.seen % 2 === 0;
        const t = b[p];
        let str = -1; // header length of a str item
        let len = 0;
        let size = 1; // bytes of a scalar item
        let open = -1; // items of a container item
        let map = false;
        if (t <= 0x7f || t >= 0xe0 || t === 0xc0 || t === 0xc2 || t === 0xc3) size = 1;
        else if (t >= 0x80 && t <= 0x8f) (open = (t & 0x0f) * 2), (map = true);
        else if (t >= 0x90 && t <= 0x9f) open = t & 0x0f;
        else if (t >= 0xa0 && t <= 0xbf) (str = 1), (len = t & 0x1f);
        else if (t === 0xd9) (str = 2), (len = b[p + 1]);
        else if (t === 0xda) (str = 3), (len = b.readUInt16BE(p + 1));
        else if (t === 0xdb) (str = 5), (len = b.readUInt32BE(p + 1));
        else if (t === 0xc4) size = 2 + b[p + 1];
        else if (t === 0xc5) size = 3 + b.readUInt16BE(p + 1);
        else if (t === 0xc6) size = 5 + b.readUInt32BE(p + 1);
        else if (t === 0xc7) size = 3 + b[p + 1];
        else if (t === 0xc8) size = 4 + b.readUInt16BE(p + 1);
        else if (t === 0xc9) size = 6 + b.readUInt32BE(p + 1);
        else if (t === 0xca) size = 5;
        else if (t === 0xcb) size = 9;
        else if (t >= 0xcc && t <= 0xd3) size = 1 + (1 << (t & 0x03));
        else if (t >= 0xd4 && t <= 0xd8) size = 2 + (1 << (t - 0xd4));
        else if (t === 0xdc) open = b.readUInt16BE(p + 1);
        else if (t === 0xdd) open = b.readUInt32BE(p + 1);
        else if (t === 0xde) (open = b.readUInt16BE(p + 1) * 2), (map = true);
        else if (t === 0xdf) (open = b.readUInt32BE(p + 1) * 2), (map = true);
        else throw new Error("not MessagePack");
        if (open >= 0) {
          const header = t <= 0x9f ? 1 : t === 0xdc || t === 0xde ? 3 : 5;
          if (top) top.seen++;
          p += header;
          if (open > 0) {
            frames.push({ left: open, seen: 0, map, keyKind: undefined });
            continue;
          }
        } else {
          if (str >= 0) {
            const s = p + str;
            const e = s + len;
            if (e > n) throw new Error("not MessagePack");
            let red: string | undefined;
            if (!isKey && top?.keyKind !== undefined) {
              this.text.count++;
              red = `[REDACTED:${top.keyKind}]`;
            } else if ((hints = this.text.hints(b.toString("latin1", s, e))) !== 0) {
              const decoded = b.toString("utf8", s, e);
              const r = this.text.redact(decoded, hints);
              if (r !== decoded) red = r;
            }
            if (isKey) top.keyKind = len <= 64 ? secretKeyKind(b.toString("utf8", s, e)) : undefined;
            if (red !== undefined) {
              out.push(b.subarray(copied, p), msgpackStr(red));
              copied = e;
            }
            p = e;
          } else p += size;
          if (p > n) throw new Error("not MessagePack");
          if (top) {
            if (!isKey && top.map) top.keyKind = undefined;
            top.seen++;
          }
        }
        // Close every container whose last item this was.
        while (frames.length > 0 && frames[frames.length - 1].seen === frames[frames.length - 1].left) frames.pop();
      }
    } catch {
      // Not the MessagePack the host writes: publish nothing of it rather than something unchecked.
      this.text.count++;
      return msgpackStr(UNREADABLE);
    }
    if (out.length === 0) return undefined;
    out.push(b.subarray(copied));
    return Buffer.concat(out);
  }
}

function hasAny(text: string, chars: string): boolean {
  for (let i = 0; i < chars.length; i++) if (text.includes(chars[i])) return true;
  return false;
}

const UNREADABLE = "[REDACTED:unreadable payload]";

/** True when the character at `i` is escaped by an odd number of backslashes before it. */
function isEscaped(text: string, i: number): boolean {
  let k = i - 1;
  while (k >= 0 && text.charCodeAt(k) === 92) k--;
  return (i - 1 - k) % 2 === 1;
}

function msgpackStr(s: string): Uint8Array {
  const data = Buffer.from(s, "utf8");
  const n = data.length;
  let head: number[];
  if (n < 32) head = [0xa0 | n];
  else if (n < 256) head = [0xd9, n];
  else if (n < 65536) head = [0xda, n >>> 8, n & 0xff];
  else head = [0xdb, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(head), data]);
}
