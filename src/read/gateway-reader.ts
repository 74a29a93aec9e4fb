// One reader connection per gateway process for eventstore.query and the agent tool (kept on
// globalThis: OpenClaw loads the plugin module once per registration). It is opened on first use,
// closed after a minute without use and when the plugin's service stops; the publisher worker's
// connection is not shared (it lives on another thread and must never wait for a reader).
import { CONNECTION_KEYS, type ConnectionSettings } from "../config.ts";
import { connectReader } from "./connect.ts";
import { readConnection, type ReadConnection } from "./events.ts";

const IDLE_CLOSE_MS = 60_000;
const KEY = Symbol.for("openclaw-nats-eventstore.reader");

interface Shared {
  /**
   * The connection settings it was opened with (a change of any of them opens a new connection;
   * other config keys do not). It holds credentials: never log it or put it in a message.
   */
  key: string;
  conn: Promise<ReadConnection>;
  users: number;
  idle?: NodeJS.Timeout;
}

function slot(): { current?: Shared } {
  const g = globalThis as { [KEY]?: { current?: Shared } };
  return (g[KEY] ??= {});
}

async function close(s: Shared): Promise<void> {
  clearTimeout(s.idle);
  const c = await s.conn.catch(() => undefined);
  await c?.nc.close().catch(() => undefined);
}

/** Runs `fn` with the shared reader connection for `settings` (opened when needed). */
export async function withReader<T>(
  settings: ConnectionSettings,
  fn: (c: ReadConnection) => Promise<T>,
  warn?: (msg: string) => void,
): Promise<T> {
  const box = slot();
  // Callers pass the whole config: only its connection settings say which connection it needs.
  const key = JSON.stringify(CONNECTION_KEYS.map((k) => settings[k]));
  let s = box.current;
  if (s && s.key !== key) {
    void close(s);
    s = undefined;
  }
  if (!s) {
    const conn = connectReader(settings, process.env, warn).then(readConnection);
    s = { key, conn, users: 0 };
    box.current = s;
    conn.catch(() => {
      if (box.current === s) box.current = undefined; // the next call tries again
    });
  }
  const shared = s;
  clearTimeout(shared.idle);
  shared.users++;
  try {
    return await fn(await shared.conn);
  } finally {
    if (--shared.users === 0 && box.current === shared) {
      shared.idle = setTimeout(() => {
        if (box.current === shared && shared.users === 0) {
          box.current = undefined;
          void close(shared);
        }
      }, IDLE_CLOSE_MS);
      shared.idle.unref();
    }
  }
}

export async function closeReader(): Promise<void> {
  const box = slot();
  const s = box.current;
  box.current = undefined;
  if (s) await close(s);
}
