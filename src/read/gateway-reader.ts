// One reader connection per gateway process for eventstore.query and the agent tool (kept on
// globalThis: OpenClaw loads the plugin module once per registration). It is opened on first use,
// closed after a minute without use and when the plugin's service stops; the publisher worker's
// connection is not shared (it lives on another thread and must never wait for a reader).
import { connectReader } from "./connect.ts";
import { readConnection, type ReadConnection } from "./events.ts";

const IDLE_CLOSE_MS = 60_000;
const KEY = Symbol.for("openclaw-nats-eventstore.reader");

interface Shared {
  url: string;
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

/** Runs `fn` with the shared reader connection to `natsUrl` (opened when needed). */
export async function withReader<T>(
  natsUrl: string,
  timeoutMs: number,
  fn: (c: ReadConnection) => Promise<T>,
): Promise<T> {
  const box = slot();
  let s = box.current;
  if (s && s.url !== natsUrl) {
    void close(s);
    s = undefined;
  }
  if (!s) {
    const conn = connectReader({ url: natsUrl }, timeoutMs).then(readConnection);
    s = { url: natsUrl, conn, users: 0 };
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
