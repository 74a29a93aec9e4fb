// A stand-in for the OpenClaw plugin API (unit tests only; the e2e test uses the real host).
import type { AgentTool, GatewayMethodOptions, HookHandler, OpenClawPluginApi } from "../../src/plugin-api.ts";
import { RingConsumer } from "../../src/ring/consumer.ts";
import { EnvelopeBuilder } from "../../workers/envelope.ts";
import type { Envelope } from "../../src/envelope.ts";
import plugin from "../../src/index.ts";
import type { EventPipeline } from "../../src/pipeline.ts";
import { PLUGIN_STATE_KEY } from "../../src/plugin-state.ts";
import { CTL_I32_INSTANCE, CTL_I32_RELEASE, CTL_I32_WRITE } from "../../src/ring/layout.ts";

export interface MethodAnswer {
  ok: boolean;
  payload: unknown;
  error?: { code: string; message: string };
}

export interface FakeApi extends OpenClawPluginApi {
  hooks: Map<string, HookHandler>;
  commands: Map<string, () => Promise<{ text: string }> | { text: string }>;
  methods: Map<string, (o: GatewayMethodOptions) => void | Promise<void>>;
  services: { id: string; start: (c: object) => void | Promise<void>; stop?: (c: object) => void | Promise<void> }[];
  tools: Map<string, AgentTool>;
  clis: { commands: string[] }[];
  logs: string[];
  fire(hook: string, event: unknown, ctx?: unknown): unknown;
  call(method: string, params?: Record<string, unknown>): Promise<MethodAnswer>;
}

export function fakeApi(pluginConfig: Record<string, unknown> | undefined, allowConversationAccess = true): FakeApi {
  const api: FakeApi = {
    id: "nats-eventstore",
    registrationMode: "full",
    config: { plugins: { entries: { "nats-eventstore": { hooks: { allowConversationAccess } } } } },
    pluginConfig,
    hooks: new Map(),
    commands: new Map(),
    methods: new Map(),
    services: [],
    tools: new Map(),
    clis: [],
    logs: [],
    logger: {
      info: (m) => api.logs.push(`info ${m}`),
      warn: (m) => api.logs.push(`warn ${m}`),
      error: (m) => api.logs.push(`error ${m}`),
    },
    on(name, handler) {
      if (api.hooks.has(name)) throw new Error(`hook ${name} registered twice`);
      api.hooks.set(name, handler);
    },
    registerCommand(c) {
      api.commands.set(c.name, c.handler as () => { text: string });
    },
    registerGatewayMethod(name, handler) {
      api.methods.set(name, handler);
    },
    registerService(s) {
      api.services.push(s);
    },
    registerTool(tool) {
      api.tools.set(tool.name, tool);
    },
    registerCli(_registrar, opts) {
      api.clis.push({ commands: (opts?.descriptors ?? []).map((d) => d.name) });
    },
    fire(hook, event, ctx) {
      const h = api.hooks.get(hook);
      if (!h) throw new Error(`no handler for ${hook}`);
      return h(event, ctx);
    },
    call(method, params = {}) {
      return new Promise((resolve) => {
        void api.methods.get(method)!({ params, respond: (ok, payload, error) => resolve({ ok, payload, error }) });
      });
    },
  };
  return api;
}

export interface DecodedEvent {
  subject: string;
  env: Envelope;
}

/** Reads every record still in the pipeline's ring and builds its envelope, as the worker would. */
export function ringEvents(p: EventPipeline, prefix = "t"): DecodedEvent[] {
  const consumer = new RingConsumer(p.views);
  const b = new EnvelopeBuilder(p.views, "json", p.views.ctl[CTL_I32_INSTANCE] >>> 0, prefix);
  const out: DecodedEvent[] = [];
  for (let pos = consumer.next(); pos >= 0; pos = consumer.next()) {
    const m = b.build(pos);
    out.push({ subject: m.subject, env: JSON.parse(Buffer.from(m.body).toString()) });
  }
  return out;
}

/** Reads every record in the ring as an envelope, then frees the ring (for tests in which no worker runs). */
export function takeRingEvents(p: EventPipeline): DecodedEvent[] {
  const evs = ringEvents(p);
  Atomics.store(p.views.ctl, CTL_I32_RELEASE, Atomics.load(p.views.ctl, CTL_I32_WRITE));
  return evs;
}

/** A fresh plugin state and a registration of the plugin on a fake API with `config`. */
export function registerPlugin(config: Record<string, unknown>, allowConversationAccess = true): FakeApi {
  resetPluginState();
  const api = fakeApi(config, allowConversationAccess);
  plugin.register(api);
  return api;
}

export function resetPluginState(): void {
  (globalThis as Record<symbol, unknown>)[PLUGIN_STATE_KEY] = undefined;
}
