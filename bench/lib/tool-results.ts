// Tool results shaped like the ones OpenClaw 2026.9.6's `exec` and `read` tools return (an
// AgentToolResult: text content blocks plus the tool's details), as the after_tool_call hook's
// payload carries them in full privacy mode. Deterministic per `seq`, and every call builds new
// objects and new strings: a real host hands the plugin a fresh result each time, never one the
// CPU caches or V8 have seen before. The exec output is built chunk by chunk, as the exec tool
// collects a child's stdout (a rope until something flattens it); the read output comes in one
// piece, as a file read does.
import { HOOKS } from "../../src/hooks/table.ts";

const afterToolCall = HOOKS.find((h) => h.hook === "after_tool_call")!;

/** A tiny seeded generator (the same `seq` gives the same result). */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const FILES = ["ring", "capture", "payload", "envelope", "redact", "spool", "subject", "config", "watchdog", "status"];

/** What `npx vitest run` prints on a run with one failing test: ~5 KB, a few non-ASCII marks, quotes. */
function vitestOutput(seq: number): string {
  const r = rng(seq);
  let out = `\n RUN  v4.0.${r(9)} /home/agent/workspace/openclaw-nats-eventstore\n\n`;
  for (let i = 0; i < 26; i++) {
    const f = FILES[(i + seq) % FILES.length];
    const ms = 3 + r(400);
    out += ` ✓ test/unit/${f}${i > 9 ? `-${i}` : ""}.test.ts (${1 + r(40)} tests) ${ms}ms\n`;
  }
  out += ` ❯ test/unit/capture.test.ts (17 tests | 1 failed) ${40 + r(90)}ms\n`;
  out += `   × capture > refuses a record larger than half the ring ${r(30)}ms\n`;
  out += `     → expected 'ok' to be 'too-large' // Object.is equality\n\n`;
  out += "⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯\n\n";
  out += ` FAIL  test/unit/capture.test.ts > capture > refuses a record larger than half the ring\n`;
  out += `AssertionError: expected 'ok' to be 'too-large' // Object.is equality\n\n`;
  out += `- Expected\n+ Received\n\n- "too-large"\n+ "ok"\n\n`;
  out += ` ❯ test/unit/capture.test.ts:${100 + r(200)}:${5 + r(30)}\n`;
  for (let i = 0; i < 6; i++) {
    const line = 90 + r(60) + i;
    out += `    ${line}|     const r = cap.capture(TYPE, "main", "agent:main:main", `;
    out += `{ big: "x".repeat(${1 << (16 + i)}) });\n`;
  }
  out += `       |                                                    ^\n`;
  for (let i = 0; i < 8; i++) {
    out += "    at file:///home/agent/workspace/node_modules/@vitest/runner/dist/";
    out += `chunk-hooks.js:${1000 + r(900)}:${1 + r(40)}\n`;
  }
  out += "\n⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯⎯\n\n";
  out += ` Test Files  1 failed | 26 passed (27)\n      Tests  1 failed | ${300 + r(100)} passed (${401 + r(9)})\n`;
  out += `   Start at  17:${10 + r(49)}:${10 + r(49)}\n`;
  out += `   Duration  ${5 + r(9)}.${r(99)}s (transform ${r(900)}ms, setup 0ms, `;
  out += `collect ${r(4)}.${r(99)}s, tests ${r(9)}.${r(99)}s)\n`;
  return out;
}

/** A TypeScript source file as `read` returns it: ~12 KB, indented, quoted, a few non-ASCII characters. */
function sourceFile(seq: number): string {
  const r = rng(seq ^ 0x5eed);
  const parts: string[] = [
    `// Generated fixture ${seq}: a module of the kind an agent reads before editing it.\n`,
    `import { C, type RingViews } from "./ring/layout.ts";\nimport { RingProducer } from "./ring/producer.ts";\n\n`,
  ];
  for (let i = 0; i < 36; i++) {
    const name = `${FILES[(i + seq) % FILES.length]}Step${i}`;
    parts.push(
      `/**\n * Copies one record of kind ${i} into the ring (≈${r(900)} ns on the host thread); returns "ok" or\n` +
        ` * the reason it was refused — never throws.\n */\n` +
        `export function ${name}(v: RingViews, payload: Record<string, unknown>, ` +
        `limit = ${1 << (10 + (i % 8))}): string {\n` +
        `\tconst body = JSON.stringify(payload) ?? "null";\n` +
        `\tif (body.length > limit) return "too-large"; // ${r(1e6)}\n` +
        `\tconst off = new RingProducer(v).reserve(body.length * 3 + ${16 + r(64)});\n` +
        `\tif (off < 0) {\n\t\tv.counters[C.droppedRingFull]++;\n\t\treturn "ring-full";\n\t}\n` +
        `\treturn \`ok:\${off}:${r(1e4)}\`;\n}\n\n`,
    );
  }
  return parts.join("");
}

function runId(seq: number): string {
  const h = (seq * 2654435761) >>> 0;
  return `7be1e42e-e99e-47a9-86ed-${h.toString(16).padStart(12, "0")}`;
}

/** The after_tool_call event of an `exec` of `npx vitest run` (7.7 KB of JSON: the output twice, as exec gives it). */
export function execToolEvent(seq: number): Record<string, unknown> {
  const r = rng(seq * 7 + 1);
  // stdout arrives in chunks; the tool appends them (a rope, flattened by the first encoder that reads it)
  const whole = vitestOutput(seq);
  let aggregated = "";
  for (let i = 0; i < whole.length; i += 512) aggregated += whole.slice(i, i + 512);
  const durationMs = 4000 + r(6000);
  return {
    toolName: "exec",
    toolCallId: `call_${seq.toString(36)}${r(1e9).toString(36)}`,
    runId: runId(seq),
    params: { command: "npx vitest run test/unit", workdir: "/home/agent/workspace/openclaw-nats-eventstore" },
    result: {
      content: [{ type: "text", text: `${aggregated}\n\n(Command exited with code 1)` }],
      details: {
        status: "completed",
        exitCode: 1,
        durationMs,
        aggregated: `${aggregated}\n\n(Command exited with code 1)`,
        cwd: "/home/agent/workspace/openclaw-nats-eventstore",
      },
    },
    durationMs: durationMs + r(40),
  };
}

/** The after_tool_call event of a `read` of a ~12 KB source file. */
export function readToolEvent(seq: number): Record<string, unknown> {
  const r = rng(seq * 7 + 2);
  const text = sourceFile(seq);
  return {
    toolName: "read",
    toolCallId: `call_${seq.toString(36)}${r(1e9).toString(36)}`,
    runId: runId(seq),
    params: { path: `src/${FILES[seq % FILES.length]}.ts` },
    result: { content: [{ type: "text", text }], details: { kind: "text", lines: text.split("\n").length } },
    durationMs: 1 + r(9),
  };
}

const CTX = { agentId: "main", sessionKey: "agent:main:main" };

/** What capture() receives for this tool event: the hook's own extraction (full privacy). */
export function toolResultPayload(event: Record<string, unknown>): Record<string, unknown> {
  return afterToolCall.extract(event, CTX, true);
}
