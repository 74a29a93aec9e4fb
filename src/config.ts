// Plugin configuration: the seed plugin's keys with its defaults, plus the knobs of the offloaded
// engine. Validation returns one clear error naming the key; the caller disables the plugin.

import { HOOK_NAMES, type Privacy } from "./hooks/table.ts";

export type Encoding = "json" | "msgpack";
export type StorageKind = "file" | "memory";

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
  /** "full" (the seed's behaviour) publishes message text, prompts, tool params and results; "metadata" only their sizes and shapes. */
  privacy: Privacy;
  /** Spool directory; "" means <OpenClaw state dir>/nats-eventstore/spool. */
  spoolDir: string;
  /** Most bytes the spool may hold; 0 turns the spool off. */
  spoolMaxBytes: number;
  /** Registers the eventstore_recent agent tool (off by default). */
  agentTool: boolean;
}

export const DEFAULTS: EventStoreConfig = {
  enabled: true,
  natsUrl: "nats://localhost:4222",
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
  privacy: "full",
  spoolDir: "",
  spoolMaxBytes: 1024 * 1024 * 1024,
  agentTool: false,
};

export type ConfigResult = { ok: true; config: EventStoreConfig } | { ok: false; error: string };

class ConfigError extends Error {}

type Check = (v: unknown, key: string) => unknown;

const int =
  (min: number, max: number): Check =>
  (v, key) => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new ConfigError(`${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
const bool: Check = (v, key) => {
  if (typeof v !== "boolean") throw new ConfigError(`${key} must be true or false, got ${JSON.stringify(v)}`);
  return v;
};
const oneOf =
  (...allowed: string[]): Check =>
  (v, key) => {
    if (typeof v !== "string" || !allowed.includes(v)) {
      throw new ConfigError(`${key} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
const hookList: Check = (v, key) => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new ConfigError(`${key} must be a list of hook names`);
  const unknown = v.filter((x) => !HOOK_NAMES.includes(x));
  if (unknown.length > 0) {
    throw new ConfigError(`${key} names unknown hook(s) ${unknown.map((x) => `"${x}"`).join(", ")}; known hooks: ${HOOK_NAMES.join(", ")}`);
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

// NATS subject tokens: no whitespace, no wildcards, no empty tokens.
const SUBJECT_PREFIX = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
// JetStream stream names: no whitespace, dots, wildcards or path separators.
const STREAM_NAME = /^[^\s.*>/\\]{1,255}$/;

const natsUrl: Check = (v, key) => {
  if (typeof v !== "string" || v.trim() === "") throw new ConfigError(`${key} must be a non-empty string`);
  for (const part of v.split(",")) {
    const s = part.trim();
    const withScheme = /^[a-z]+:\/\//i.test(s) ? s : `nats://${s}`;
    let u: URL;
    try {
      u = new URL(withScheme);
    } catch {
      throw new ConfigError(`${key} has an invalid server URL: ${redactUrl(s)}`);
    }
    if (!["nats:", "tls:", "ws:", "wss:"].includes(u.protocol) || !u.hostname) {
      throw new ConfigError(`${key} must use nats:// or tls:// URLs, got ${redactUrl(s)}`);
    }
  }
  return v.trim();
};

const SPEC: Record<string, Check> = {
  enabled: bool,
  natsUrl,
  streamName: (v, key) => {
    if (typeof v !== "string" || !STREAM_NAME.test(v)) {
      throw new ConfigError(`${key} must be a JetStream stream name (no spaces, dots, *, >, / or \\), got ${JSON.stringify(v)}`);
    }
    return v;
  },
  subjectPrefix: (v, key) => {
    if (typeof v !== "string" || !SUBJECT_PREFIX.test(v)) {
      throw new ConfigError(`${key} must be dot-separated subject tokens without spaces or wildcards, got ${JSON.stringify(v)}`);
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
  privacy: oneOf("full", "metadata"),
  spoolDir: (v, key) => {
    if (typeof v !== "string") throw new ConfigError(`${key} must be a directory path`);
    return v;
  },
  spoolMaxBytes: int(0, Number.MAX_SAFE_INTEGER),
  agentTool: bool,
};

const RETENTION_SPEC: Record<string, Check> = {
  maxMessages: (v, key) => (v === -1 ? v : int(1, Number.MAX_SAFE_INTEGER)(v, key)),
  maxBytes: (v, key) => (v === -1 ? v : int(1, Number.MAX_SAFE_INTEGER)(v, key)),
  maxAgeHours: (v, key) => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(`${key} must be a number of hours >= 0 (0 = keep forever), got ${JSON.stringify(v)}`);
    }
    return v;
  },
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function applySpec(raw: Record<string, unknown>, spec: Record<string, Check>, prefix: string, out: Record<string, unknown>): void {
  for (const [k, value] of Object.entries(raw)) {
    const check = spec[k];
    if (!check) throw new ConfigError(`${prefix}${k} is not a known setting`);
    if (value === undefined) continue;
    out[k] = check(value, `${prefix}${k}`);
  }
}

/** Validates the plugin config (plugins.entries.<id>.config) and fills in defaults. */
export function resolveConfig(raw: unknown): ConfigResult {
  try {
    if (raw === undefined || raw === null) raw = {};
    if (!isPlainObject(raw)) throw new ConfigError("the plugin config must be an object");
    const { retention, ...rest } = raw;
    const config: EventStoreConfig = { ...DEFAULTS, retention: { ...DEFAULTS.retention } };
    applySpec(rest, SPEC, "", config as unknown as Record<string, unknown>);
    if (retention !== undefined) {
      if (!isPlainObject(retention)) throw new ConfigError("retention must be an object");
      applySpec(retention, RETENTION_SPEC, "retention.", config.retention as unknown as Record<string, unknown>);
    }
    const maxAgeMs = config.retention.maxAgeHours * 3_600_000;
    if (maxAgeMs > 0 && config.duplicateWindowMs > maxAgeMs) {
      throw new ConfigError(
        `duplicateWindowMs (${config.duplicateWindowMs}) must not exceed retention.maxAgeHours (${config.retention.maxAgeHours} h): JetStream refuses such a stream`,
      );
    }
    if (config.maxPayloadBytes * 4 > config.ringBytes) {
      throw new ConfigError(`ringBytes (${config.ringBytes}) must be at least 4 x maxPayloadBytes (${config.maxPayloadBytes})`);
    }
    return { ok: true, config };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.message };
    throw e;
  }
}

/** A server URL safe to log: user, password and token are masked. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//***@");
}
