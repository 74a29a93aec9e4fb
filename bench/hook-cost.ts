// Host-thread cost of the plugin's hook handlers, as OpenClaw calls them: the real handlers
// (hook table, field extraction, identity, capture into the ring) fed with events shaped like the
// ones a real 2026.9.6 gateway delivered (recorded in a real turn). The host's
// own dispatch is not included. Run: node bench/hook-cost.ts (--cpu: thread CPU time, least and median)
// With --hostile it then gives every field each handler reads each giant value of
// test/helpers/hostile.ts (the inputs that once cost 45-600 ms) and prints the slowest call per value.
import { Bench } from "tinybench";
import plugin from "../src/index.ts";
import { pluginState } from "../src/plugin-state.ts";
import { RingConsumer } from "../src/ring/consumer.ts";
import type { HookHandler, OpenClawPluginApi } from "../src/plugin-api.ts";

const CTX = {
  agentId: "main",
  sessionKey: "agent:main:bench",
  sessionId: "e7ca463f-c065-4771-ad8f-42f507490034",
  runId: "7be1e42e-e99e-47a9-86ed-6065933c9f9a",
};
const SAMPLES: [string, object, object][] = [
  [
    "before_tool_call",
    { toolName: "ls", params: { path: "." }, runId: CTX.runId, toolCallId: "call_fake_1" },
    { ...CTX, toolName: "ls" },
  ],
  [
    "after_tool_call",
    {
      toolName: "ls",
      params: { path: "." },
      toolCallId: "call_fake_1",
      result: { content: [{ type: "text", text: ".git/\nsrc/\nREADME.md" }] },
      durationMs: 27,
    },
    CTX,
  ],
  [
    "llm_input",
    {
      runId: CTX.runId,
      sessionId: CTX.sessionId,
      provider: "openai",
      model: "gpt-5",
      systemPrompt: "x".repeat(4000),
      prompt: "list the workspace",
      historyMessages: [1, 2, 3],
      imagesCount: 0,
      tools: new Array(12).fill({}),
    },
    CTX,
  ],
  [
    "model_call_ended",
    {
      runId: CTX.runId,
      callId: `${CTX.runId}:model:1`,
      provider: "openai",
      model: "gpt-5",
      durationMs: 812,
      outcome: "completed",
      timeToFirstByteMs: 240,
      requestPayloadBytes: 59449,
      responseStreamBytes: 650,
    },
    CTX,
  ],
  [
    "message_received",
    {
      from: "telegram:123",
      content: "hello there",
      messageId: "m1",
      senderId: "u1",
      metadata: { provider: "telegram", surface: "dm" },
    },
    { channelId: "telegram", sessionKey: CTX.sessionKey },
  ],
  ["session_start", { sessionId: CTX.sessionId, sessionKey: CTX.sessionKey }, CTX],
];

const hooks = new Map<string, HookHandler>();
const api = {
  id: "nats-eventstore",
  pluginConfig: { ringBytes: 1 << 24 },
  config: { plugins: { entries: { "nats-eventstore": { hooks: { allowConversationAccess: true } } } } },
  logger: { info() {}, warn() {}, error: console.error },
  on: (h: string, fn: HookHandler) => hooks.set(h, fn),
  registerCommand() {},
  registerGatewayMethod() {},
  registerService() {},
} as unknown as OpenClawPluginApi;
plugin.register(api);

const CALLS = 1000;
if (process.argv.includes("--cpu")) {
  // Thread CPU time instead of wall time (a shared machine's preemptions left out): the least and
  // the median of 80 batches of 2,000 calls per hook, the batches of all hooks interleaved.
  const { threadCpuNs } = await import("./lib/thread-cpu.ts");
  const p = () => pluginState().pipeline!;
  const fns = SAMPLES.map(([hook, event, ctx]) => [hook, hooks.get(hook)!, event, ctx] as const);
  const ns = new Map<string, number[]>(fns.map(([h]) => [h, []]));
  let drain: RingConsumer | undefined;
  for (let rep = -5; rep < 80; rep++) {
    for (const [hook, fn, event, ctx] of fns) {
      const t0 = threadCpuNs();
      for (let i = 0; i < 2000; i++) fn(event, ctx);
      const d = (threadCpuNs() - t0) / 2000;
      if (rep >= 0) ns.get(hook)!.push(d);
      drain ??= new RingConsumer(p().views); // the pipeline exists once a hook ran
      while (drain.next() >= 0);
      drain.release(drain.cursor);
    }
  }
  console.log(`node ${process.version}; host-thread CPU ns per hook call (80 batches of 2,000 calls):`);
  for (const [hook, xs] of ns) {
    xs.sort((a, b) => a - b);
    console.log(
      `${hook.padEnd(20)} least ${xs[0].toFixed(0).padStart(6)} ns   median ${xs[40].toFixed(0).padStart(6)} ns`,
    );
  }
  process.exit(0);
}
const bench = new Bench({ time: 1000, warmupTime: 300 });
let consumer: RingConsumer | undefined;
for (const [hook, event, ctx] of SAMPLES) {
  const fn = hooks.get(hook)!;
  bench.add(
    hook,
    () => {
      for (let i = 0; i < CALLS; i++) fn(event, ctx);
    },
    {
      afterEach: () => {
        // free the ring between iterations (not part of the hook's cost)
        const p = pluginState().pipeline!;
        consumer ??= new RingConsumer(p.views);
        while (consumer.next() >= 0);
        consumer.release(consumer.cursor);
      },
    },
  );
}
await bench.run();
console.log(`node ${process.version}; host-thread ns per hook call (median of ${CALLS}-call iterations):`);
for (const t of bench.tasks) {
  const r = t.result as { latency?: { p50?: number; p99?: number } } | undefined;
  const p50 = (((r?.latency?.p50 ?? NaN) * 1e6) / CALLS).toFixed(0).padStart(6);
  const p99 = (((r?.latency?.p99 ?? NaN) * 1e6) / CALLS).toFixed(0).padStart(6);
  console.log(`${t.name.padEnd(20)} p50 ${p50} ns   p99 ${p99} ns`);
}

if (process.argv.includes("--hostile")) {
  const { GIANTS, keyListingMs } = await import("../test/helpers/hostile.ts");
  const p = pluginState().pipeline!;
  const drain = new RingConsumer(p.views);
  console.log(`\nslowest hook call per hostile value, over every field of every hook (least of 3 calls each):`);
  for (const [name, giant] of Object.entries(GIANTS)) {
    let worst = { ms: 0, where: "" };
    for (const [hook, fn] of hooks) {
      // The fields a handler reads, found by handing it recording proxies.
      const read = (into: Set<string>) =>
        new Proxy({}, { get: (_t, k) => (typeof k === "string" && into.add(k), undefined) });
      const ev = new Set<string>();
      const cx = new Set<string>();
      fn(read(ev), read(cx));
      const cases = [
        ...[...ev].map((k) => [{ [k]: giant }, { agentId: "main" }, `event.${k}`] as const),
        ...[...cx].map((k) => [{}, { [k]: giant }, `ctx.${k}`] as const),
      ];
      for (const [event, ctx, field] of cases) {
        let ms = Infinity;
        for (let i = 0; i < 3; i++) {
          const t0 = performance.now();
          fn(event, ctx);
          ms = Math.min(ms, performance.now() - t0);
        }
        if (ms > worst.ms) worst = { ms, where: `${hook} ${field}` };
        while (drain.next() >= 0);
        drain.release(drain.cursor);
      }
    }
    console.log(`${name.padEnd(48)} ${worst.ms.toFixed(2).padStart(7)} ms  (${worst.where})`);
  }
  console.log(`listing the keys of the 50,000-key object once: ${keyListingMs().toFixed(2)} ms`);
}
