// Envelopes from message bodies: JSON, or MessagePack (published with Content-Type:
// application/msgpack; its first byte is a map header, so the body alone tells them apart). A body
// that is neither, or not an envelope {id, ts, agent, session, type, payload}, is a MalformedEvent.
import { unpack } from "msgpackr";
import type { Envelope } from "../envelope.ts";
import { isJson, skipString } from "./json-check.ts";

export class MalformedEvent extends Error {}

const OPEN_OBJ = 0x7b;
const ascii = (s: string) => Buffer.from(s, "latin1");
const ID = ascii('{"id":');
const TS = ascii(',"ts":');
const AGENT = ascii(',"agent":');
const SESSION = ascii(',"session":');
const TYPE = ascii(',"type":');
const PAYLOAD = ascii(',"payload":{');
const FIELDS = [AGENT, SESSION, TYPE];

export function isMsgpack(data: Uint8Array): boolean {
  const c = data[0];
  return (c >= 0x80 && c <= 0x8f) || c === 0xde || c === 0xdf;
}

function at(b: Uint8Array, i: number, word: Buffer): number {
  if (i < 0 || i + word.length > b.length) return -1;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

/**
 * The ts of a JSON envelope in the layout the plugin (and the seed plugin) writes, keys in order
 * and no whitespace, checked as a whole to be valid JSON; -1 for any other body (which then goes
 * through decodeEnvelope). This is the per-event check of a replay to NDJSON: no string is made.
 */
export function framedTs(b: Uint8Array): number {
  const end = b.length;
  if (end < 2 || b[end - 1] !== 0x7d) return -1;
  let i = at(b, 0, ID);
  if (i < 0 || b[i] !== 0x22) return -1;
  i = at(b, skipString(b, i, end), TS);
  if (i < 0) return -1;
  let ts = 0;
  const digits = i;
  for (let c = b[i]; c >= 0x30 && c <= 0x39; c = b[++i]) ts = ts * 10 + (c - 0x30);
  if (i === digits || i - digits > 15) return -1;
  for (const word of FIELDS) {
    i = at(b, i, word);
    if (i < 0 || b[i] !== 0x22) return -1;
    i = skipString(b, i, end);
  }
  i = at(b, i, PAYLOAD);
  // The head is checked above; what is left must be one object, then the envelope's "}".
  return i > 0 && isJson(b, i - 1, end - 1) ? ts : -1;
}

function check(v: unknown): Envelope {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new MalformedEvent("not an object");
  const e = v as Record<string, unknown>;
  for (const k of ["id", "agent", "session", "type"]) {
    if (typeof e[k] !== "string") throw new MalformedEvent(`no string "${k}"`);
  }
  if (typeof e.ts !== "number" || !Number.isFinite(e.ts)) throw new MalformedEvent('no numeric "ts"');
  const p = e.payload;
  if (p === null || typeof p !== "object" || Array.isArray(p)) throw new MalformedEvent('no object "payload"');
  return e as unknown as Envelope;
}

/** The envelope in a message body; throws MalformedEvent with a short reason. */
export function decodeEnvelope(data: Uint8Array): Envelope {
  if (data.length === 0) throw new MalformedEvent("empty body");
  if (data[0] === OPEN_OBJ) {
    let v: unknown;
    try {
      v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8"));
    } catch (e) {
      throw new MalformedEvent(`invalid JSON (${e instanceof Error ? e.message : e})`);
    }
    return check(v);
  }
  if (isMsgpack(data)) {
    let v: unknown;
    try {
      v = unpack(data);
    } catch (e) {
      throw new MalformedEvent(`invalid MessagePack (${e instanceof Error ? e.message : e})`);
    }
    return check(v);
  }
  throw new MalformedEvent("neither a JSON nor a MessagePack envelope");
}
