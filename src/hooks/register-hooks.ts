// Turns the hook table into api.on() handlers. A handler runs on the gateway's event loop: it
// picks the fields, copies one record into the ring and returns undefined. It never awaits and
// never throws; an event it cannot take is counted as rejected.
import type { EventStoreConfig } from "../config.ts";
import { eventTypeIndex } from "../event-types.ts";
import type { EventPipeline } from "../pipeline.ts";
import type { HookHandler, OpenClawPluginApi } from "../plugin-api.ts";
import { Counter } from "../ring/layout.ts";
import type { Bag } from "./fields.ts";
import { agentOf, sessionOf, SYSTEM, UNKNOWN } from "./identity.ts";
import { metadataOnly } from "./metadata.ts";
import { HOOKS, type HookSpec } from "./table.ts";

const EMPTY: Bag = Object.freeze({}) as Bag;
// Host cost is timed on calls 5..64 of each hook (a quiet gateway still gets a figure), then on
// every 32nd. The first calls are left out: they compile the code (about 1 ms each in the real host).
const SAMPLE_SKIP = 4;
const SAMPLE_FIRST = 64;
const SAMPLE_EVERY = 32;

const asBag = (v: unknown): Bag => (v !== null && typeof v === "object" ? (v as Bag) : EMPTY);

/** The hooks to register: includeHooks (when set) wins, then excludeHooks, as in the seed. */
function selectedHooks(config: EventStoreConfig): HookSpec[] {
  const include = new Set(config.includeHooks);
  const exclude = new Set(config.excludeHooks);
  return HOOKS.filter((h) => (include.size > 0 ? include.has(h.hook) : !exclude.has(h.hook)));
}

function makeHandler(spec: HookSpec, full: boolean, pipeline: () => EventPipeline | undefined): HookHandler {
  const type = eventTypeIndex(spec.type);
  const alsoType = spec.also ? eventTypeIndex(spec.also.type) : -1;
  let calls = 0;
  return (event, ctx) => {
    let p: EventPipeline | undefined;
    try {
      p = pipeline();
      if (p === undefined) return undefined;
      const sample = ++calls > SAMPLE_SKIP && (calls <= SAMPLE_FIRST || calls % SAMPLE_EVERY === 0);
      const t0 = sample ? performance.now() : 0;
      const e = asBag(event);
      const c = asBag(ctx);
      const id = spec.system ? undefined : agentOf(e, c);
      const agent = spec.system ? SYSTEM : (id ?? UNKNOWN);
      const label = id === undefined;
      const session = spec.system ? SYSTEM : sessionOf(e, c);
      const payload = spec.extract(e, c, full);
      p.capture(type, agent, session, full ? payload : metadataOnly(payload), label);
      if (spec.also?.when(e)) {
        const more = spec.also.extract(e, c, full);
        p.capture(alsoType, agent, session, full ? more : metadataOnly(more), label);
      }
      const n = p.views.counters;
      n[Counter.hookCalls]++;
      if (sample) {
        n[Counter.hookCostSamples]++;
        n[Counter.hookCostNs] += (performance.now() - t0) * 1e6;
      }
    } catch {
      // A hostile event (a throwing getter, a revoked proxy...): counted, never thrown into the host.
      p?.reject();
    }
    return undefined;
  };
}

export function registerHooks(
  api: OpenClawPluginApi,
  config: EventStoreConfig,
  pipeline: () => EventPipeline | undefined,
): string[] {
  const full = config.privacy === "full";
  const hooks = selectedHooks(config);
  for (const spec of hooks) api.on(spec.hook, makeHandler(spec, full, pipeline));
  return hooks.map((h) => h.hook);
}
