// Plugin configuration: the seed plugin's keys with its defaults, plus the knobs of the offloaded
// engine. Validation returns one clear error naming the key; the caller disables the plugin.

import { HOOK_NAMES, type Privacy } from "./hooks/table.ts";
import { authMethods, DEFAULT_NATS_URL, NatsUrlError, parseNatsUrl } from "./nats-url.ts";
import type { Encoding } from "./record/format.ts";
import { compileSitePattern, MAX_SITE_PATTERNS } from "./site-patterns.ts";

type StorageKind = "file" | "memory";
/** The stream's persist_mode: "async" acks before the disk write (nats-server >= 2.12, file storage, R1). */
export type PersistMode = "default" | "async";
/** inbox: a PubAck per event; fast-batch: nats-server 2.14+ fast batches (a flow ack per batch), else inbox. */
export type PublishMode = "inbox" | "fast-batch";

export interface EventStoreConfig {
  enabled: boolean;
  /** One URL or a comma-separated list; credentials may be given as nats://user:pass@host. */
  natsUrl: string;
  streamName: string;
  subjectPrefix: string;
  retention: { maxMessages: number; maxBytes: number; maxAgeHours: number };
  publishTimeoutMs: number;
  connectTimeoutMs: number;
  drainTimeoutMs: number;
  includeHooks: string[];
  excludeHooks: string[];
  encoding: Encoding;
  ringBytes: number;
  maxInFlight: number;
  maxPayloadBytes: number;
  duplicateWindowMs: number;
  replicas: number;
  storage: StorageKind;
  /**
   * "async": the server acks an event before writing it (faster; a server crash can lose acked events).
   * Set when the stream is created; a server without it (< 2.12) gets the default, with a warning.
   */
  persistMode: PersistMode;
  /**
   * "full" (the seed's behaviour) publishes message text, prompts, tool params and results; "metadata" only
   * their sizes and shapes.
   */
  privacy: Privacy;
  /** Replace well-known secret shapes (API keys, tokens, passwords...) in published payloads by [REDACTED:kind]. */
  redact: boolean;
  /** Site-specific secret patterns (regular expressions), replaced by [REDACTED:custom] while redact is on. */
  redactPatterns: string[];
  /** Spool directory; "" means <OpenClaw state dir>/nats-eventstore/spool. */
  spoolDir: string;
  /** Most bytes the spool may hold; 0 turns the spool off. */
  spoolMaxBytes: number;
  // Connection security. "" means unset. At most one authentication method (credentials in natsUrl
  // count as one). Files are read by the publisher worker, never on the gateway's thread.
  user: string;
  password: string;
  token: string;
  /** A file holding an NKey user seed (SU...). */
  nkeySeedFile: string;
  /** A .creds file (user JWT + seed, operator mode); re-read at every reconnect. */
  credsFile: string;
  /** A caFile or a client certificate turns TLS on; tls:// URLs do too. */
  tls: TlsConfig;
  /** A `nats` CLI context (name or path); its settings fill in what the keys above leave unset. */
  natsContext: string;
  /** Registers the eventstore_recent agent tool (off by default). */
  agentTool: boolean;
  publishMode: PublishMode;
}

interface TlsConfig {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** TLS before the server's INFO (server option handshake_first, nats-server >= 2.10.4). */
  handshakeFirst: boolean;
}

export const DEFAULTS: EventStoreConfig = {
  enabled: true,
  natsUrl: DEFAULT_NATS_URL,
  streamName: "openclaw-events",
  subjectPrefix: "openclaw.events",
  retention: { maxMessages: -1, maxBytes: -1, maxAgeHours: 0 },
  publishTimeoutMs: 5000,
  connectTimeoutMs: 5000,
  drainTimeoutMs: 5000,
  includeHooks: [],
  excludeHooks: [],
  encoding: "json",
  ringBytes: 32 * 1024 * 1024,
  maxInFlight: 4096,
  maxPayloadBytes: 256 * 1024,
  duplicateWindowMs: 120_000,
  replicas: 1,
  storage: "file",
  persistMode: "default",
  privacy: "full",
  redact: true,
  redactPatterns: [],
  spoolDir: "",
  spoolMaxBytes: 1024 * 1024 * 1024,
  user: "",
  password: "",
  token: "",
  nkeySeedFile: "",
  credsFile: "",
  tls: { caFile: "", certFile: "", keyFile: "", handshakeFirst: false },
  natsContext: "",
  agentTool: false,
  publishMode: "inbox",
};

type ConfigResult = { ok: true; config: EventStoreConfig } | { ok: false; error: string };

class ConfigError extends Error {}

type Check = (v: unknown, key: string) => unknown;

/** A rejected value for an error message: short, and never a throw (values of keys that cannot hold secrets only). */
function show(v: unknown): string {
  let s: string | undefined;
  try {
    s = typeof v === "bigint" ? `${v}` : JSON.stringify(v);
  } catch {
    s = undefined;
  }
  if (s === undefined) return typeof v;
  return s.length > 64 ? `${s.slice(0, 60)}…` : s;
}

const int =
  (min: number, max: number): Check =>
  (v, key) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(`${key} must be an integer from ${min} to ${max}, got ${show(v)}`);
    }
    return v;
  };
const bool: Check = (v, key) => {
  if (typeof v !== "boolean") throw new ConfigError(`${key} must be true or false, got ${show(v)}`);
  return v;
};
const oneOf =
  (...allowed: string[]): Check =>
  (v, key) => {
    if (typeof v !== "string" || !allowed.includes(v)) {
      throw new ConfigError(`${key} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${show(v)}`);
    }
    return v;
  };
const hookList: Check = (v, key) => {
  if (!Array.isArray(v) || v.length > 256 || v.some((x) => typeof x !== "string")) {
    throw new ConfigError(`${key} must be a list of hook names`);
  }
  const unknown = v.filter((x) => !HOOK_NAMES.includes(x));
  if (unknown.length > 0) {
    const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : "";
    const named = unknown.slice(0, 5).map(show).join(", ") + more;
    throw new ConfigError(`${key} names unknown hook(s) ${named}; known hooks: ${HOOK_NAMES.join(", ")}`);
  }
  return [...v];
};
const powerOfTwo =
  (min: number, max: number): Check =>
  (v, key) => {
    int(min, max)(v, key);
    if (((v as number) & ((v as number) - 1)) !== 0) {
      throw new ConfigError(`${key} must be a power of two (e.g. 33554432 for 32 MiB), got ${v}`);
    }
    return v;
  };
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A string setting ("" leaves it unset); the value is never echoed, since it may be a secret. */
const text =
  (maxChars: number): Check =>
  (v, key) => {
    if (typeof v !== "string" || v.length > maxChars || CONTROL.test(v)) {
      throw new ConfigError(`${key} must be a string of at most ${maxChars} characters without control characters`);
    }
    return v;
  };

// NATS subject tokens: no whitespace, control characters or wildcards, no empty tokens.
const SUBJECT_PREFIX = /^[^\s\u0000-\u001f\u007f.*>]+(\.[^\s\u0000-\u001f\u007f.*>]+)*$/;
const MAX_SUBJECT_PREFIX_CHARS = 256;
// JetStream stream names: no whitespace, control characters, dots, wildcards or path separators.
const STREAM_NAME = /^[^\s\u0000-\u001f\u007f.*>/\\]{1,255}$/;
/** 10 years: far beyond any audit retention, and far inside NATS's int64 nanoseconds. */
const MAX_AGE_HOURS = 87_600;

// natsUrl can hold credentials: its errors come from src/nats-url.ts, which never quotes the value.
const natsUrl: Check = (v, key) => {
  if (typeof v !== "string") {
    throw new ConfigError(`${key} must be a string (nats://[user:password@]host:port, comma-separated for several)`);
  }
  try {
    parseNatsUrl(v);
  } catch (e) {
    if (e instanceof NatsUrlError) throw new ConfigError(`${key}: ${e.message}`);
    throw e;
  }
  return v.trim();
};

const redactPatterns: Check = (v, key) => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) {
    throw new ConfigError(`${key} must be a list of regular expressions (strings)`);
  }
  if (v.length > MAX_SITE_PATTERNS) {
    throw new ConfigError(`${key} has ${v.length} patterns; at most ${MAX_SITE_PATTERNS} are allowed`);
  }
  v.forEach((p: string, i) => {
    try {
      compileSitePattern(p);
    } catch (e) {
      throw new ConfigError(`${key}[${i}] ${e instanceof Error ? e.message : "is not usable"}`);
    }
  });
  return [...v];
};

const SPEC: Record<string, Check> = {
  enabled: bool,
  natsUrl,
  streamName: (v, key) => {
    if (typeof v !== "string" || !STREAM_NAME.test(v)) {
      throw new ConfigError(
        `${key} must be a JetStream stream name (1-255 characters; no spaces, control characters, dots, *, >, ` +
          `/ or \\), got ${show(v)}`,
      );
    }
    return v;
  },
  subjectPrefix: (v, key) => {
    if (typeof v !== "string" || v.length > MAX_SUBJECT_PREFIX_CHARS || !SUBJECT_PREFIX.test(v)) {
      throw new ConfigError(
        `${key} must be dot-separated subject tokens (at most ${MAX_SUBJECT_PREFIX_CHARS} characters) ` +
          `without spaces, control characters or wildcards, got ${show(v)}`,
      );
    }
    return v;
  },
  publishTimeoutMs: int(100, 600_000),
  connectTimeoutMs: int(100, 600_000),
  drainTimeoutMs: int(0, 600_000),
  includeHooks: hookList,
  excludeHooks: hookList,
  encoding: oneOf("json", "msgpack"),
  ringBytes: powerOfTwo(65_536, 2 ** 30),
  maxInFlight: int(1, 65_536),
  maxPayloadBytes: int(1024, 8 * 1024 * 1024),
  duplicateWindowMs: int(100, 7 * 24 * 3_600_000),
  replicas: int(1, 5),
  storage: oneOf("file", "memory"),
  persistMode: oneOf("default", "async"),
  privacy: oneOf("full", "metadata"),
  redact: bool,
  redactPatterns,
  spoolDir: text(4096),
  spoolMaxBytes: int(0, Number.MAX_SAFE_INTEGER),
  user: text(4096),
  password: text(4096),
  token: text(4096),
  nkeySeedFile: text(4096),
  credsFile: text(4096),
  natsContext: text(4096),
  agentTool: bool,
  publishMode: oneOf("inbox", "fast-batch"),
};

const TLS_SPEC: Record<string, Check> = {
  caFile: text(4096),
  certFile: text(4096),
  keyFile: text(4096),
  handshakeFirst: bool,
};

const RETENTION_SPEC: Record<string, Check> = {
  maxMessages: (v, key) => (v === -1 ? v : int(1, Number.MAX_SAFE_INTEGER)(v, key)),
  maxBytes: (v, key) => (v === -1 ? v : int(1, Number.MAX_SAFE_INTEGER)(v, key)),
  maxAgeHours: (v, key) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > MAX_AGE_HOURS) {
      const range = `from 0 to ${MAX_AGE_HOURS} (0 = keep forever)`;
      throw new ConfigError(`${key} must be a number of hours ${range}, got ${show(v)}`);
    }
    return v;
  },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Own keys only: "__proto__", "hasOwnProperty" or "valueOf" are unknown settings, not Object.prototype's members. */
function applySpec(
  raw: Record<string, unknown>,
  spec: Record<string, Check>,
  prefix: string,
  out: Record<string, unknown>,
): void {
  for (const [k, value] of Object.entries(raw)) {
    const name = `${prefix}${k.length > 64 ? `${k.slice(0, 60)}…` : k}`;
    if (!Object.hasOwn(spec, k)) throw new ConfigError(`${name} is not a known setting`);
    if (value === undefined) continue;
    out[k] = spec[k](value, name);
  }
}

/** Validates the plugin config (plugins.entries.<id>.config) and fills in defaults. Never throws. */
export function resolveConfig(raw: unknown): ConfigResult {
  try {
    if (raw === undefined || raw === null) raw = {};
    if (!isPlainObject(raw)) throw new ConfigError("the plugin config must be an object");
    const obj = raw;
    // Own properties only: a key such as __proto__ or hasOwnProperty is a setting name like any other.
    const own = (k: string) => (Object.hasOwn(obj, k) ? obj[k] : undefined);
    const retention = own("retention");
    const tls = own("tls");
    const rest = Object.fromEntries(Object.entries(raw).filter(([k]) => k !== "retention" && k !== "tls"));
    const fresh = {
      retention: { ...DEFAULTS.retention },
      tls: { ...DEFAULTS.tls },
      includeHooks: [],
      excludeHooks: [],
      redactPatterns: [],
    };
    const config: EventStoreConfig = { ...DEFAULTS, ...fresh };
    applySpec(rest, SPEC, "", config as unknown as Record<string, unknown>);
    if (retention !== undefined) {
      if (!isPlainObject(retention)) throw new ConfigError("retention must be an object");
      applySpec(retention, RETENTION_SPEC, "retention.", config.retention as unknown as Record<string, unknown>);
    }
    if (tls !== undefined) {
      if (!isPlainObject(tls)) throw new ConfigError("tls must be an object");
      applySpec(tls, TLS_SPEC, "tls.", config.tls as unknown as Record<string, unknown>);
    }
    checkConnectionSettings(config);
    // natsUrl left out with a natsContext: the context's url applies (else the default).
    if (config.natsContext && rest.natsUrl === undefined) config.natsUrl = "";
    const maxAgeMs = config.retention.maxAgeHours * 3_600_000;
    if (maxAgeMs > 0 && config.duplicateWindowMs > maxAgeMs) {
      throw new ConfigError(
        `duplicateWindowMs (${config.duplicateWindowMs}) must not exceed retention.maxAgeHours ` +
          `(${config.retention.maxAgeHours} h): JetStream refuses such a stream`,
      );
    }
    checkPersistMode(config);
    if (config.maxPayloadBytes * 4 > config.ringBytes) {
      throw new ConfigError(
        `ringBytes (${config.ringBytes}) must be at least 4 x maxPayloadBytes (${config.maxPayloadBytes})`,
      );
    }
    return { ok: true, config };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.message };
    // A config no JSON file can produce (a throwing getter, a Proxy...): refused, never thrown into the host.
    return { ok: false, error: `the plugin config could not be read (${e instanceof Error ? e.name : typeof e})` };
  }
}

/**
 * The keys of the settings that say where and how to connect: the publisher and every reader use
 * these. ConnectionSettings is derived from this list, so code that needs the keys at run time (the
 * gateway's shared reader keys its connection by them) cannot drift from the type.
 */
export const CONNECTION_KEYS = [
  "natsUrl",
  "natsContext",
  "user",
  "password",
  "token",
  "nkeySeedFile",
  "credsFile",
  "tls",
  "connectTimeoutMs",
] as const satisfies readonly (keyof EventStoreConfig)[];

export type ConnectionSettings = Pick<EventStoreConfig, (typeof CONNECTION_KEYS)[number]>;

function checkConnectionSettings(c: EventStoreConfig): void {
  const methods = authMethods(c);
  if (methods.length > 1) {
    throw new ConfigError(`${methods[0]} and ${methods[1]} are both set: configure one authentication method`);
  }
  if (Boolean(c.user) !== Boolean(c.password)) throw new ConfigError("user and password must be set together");
  if (Boolean(c.tls.certFile) !== Boolean(c.tls.keyFile)) {
    throw new ConfigError("tls.certFile and tls.keyFile must be set together (a client certificate and its key)");
  }
}

/** NATS refuses persist_mode "async" on memory and replicated streams: said here, before any stream is made. */
function checkPersistMode(c: EventStoreConfig): void {
  if (c.persistMode !== "async") return;
  if (c.storage !== "file") {
    throw new ConfigError(`persistMode "async" needs storage "file" (NATS allows it on file storage only)`);
  }
  if (c.replicas !== 1) {
    throw new ConfigError(
      `persistMode "async" needs replicas 1, got ${c.replicas} (NATS does not allow it on replicated streams)`,
    );
  }
}
