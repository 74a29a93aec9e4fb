import { describe, expect, it } from "vitest";
import { agentToken, subjectFor, typeToken } from "../../src/subject.ts";

describe("subjects", () => {
  it("follow the seed scheme {prefix}.{agent}.{type with . -> _}", () => {
    expect(subjectFor("openclaw.events", "main", "msg.in")).toBe("openclaw.events.main.msg_in");
    expect(subjectFor("p", "system", "session.compaction_start", true)).toBe("p.system.session_compaction_start");
    expect(typeToken("a.b.c")).toBe("a_b_c");
  });

  it("pass valid agent ids through unchanged", () => {
    for (const a of ["main", "ops-bot", "Agent_7", "ünïcode"]) expect(agentToken(a)).toBe(a);
  });

  it("map ids that are not valid subject tokens to a safe token, the same way every time", () => {
    for (const bad of ["a.b", "a*", "a>", "a b", "tab\there", "x".repeat(100), ""]) {
      const t = agentToken(bad);
      expect(t).not.toMatch(/[\s.*>]/);
      expect(t.length).toBeGreaterThan(0);
      expect(agentToken(bad)).toBe(t);
    }
  });

  it("never map two different ids to the same token", () => {
    expect(agentToken("a.b")).not.toBe(agentToken("a b"));
    expect(agentToken("a.b")).not.toBe(agentToken("a_b"));
    // The literal id that equals the token of "my.bot" is mapped too: it ends like a mapped token.
    const mapped = agentToken("my.bot");
    expect(mapped).toMatch(/^my_bot-[0-9a-f]{16}$/);
    expect(agentToken(mapped)).not.toBe(mapped);
    expect(agentToken(agentToken(mapped))).not.toBe(agentToken(mapped));
    // 32-bit fingerprints of the old scheme: keep their literal ids as they are
    expect(agentToken("my_bot-eadd4f0c")).toBe("my_bot-eadd4f0c");
    expect(agentToken("")).toMatch(/^_-[0-9a-f]{16}$/);
  });

  it("keep the labels 'system' and 'unknown' for gateway-level and unattributed events only", () => {
    expect(agentToken("system", true)).toBe("system");
    expect(agentToken("unknown", true)).toBe("unknown");
    expect(agentToken("system")).toMatch(/^system-[0-9a-f]{16}$/);
    expect(agentToken("unknown")).toMatch(/^unknown-[0-9a-f]{16}$/);
    expect(subjectFor("p", "system", "gateway.stop", true)).toBe("p.system.gateway_stop");
    expect(subjectFor("p", "system", "gateway.stop")).not.toBe("p.system.gateway_stop");
    expect(agentToken("main", true)).toBe("main"); // a label is only ever one of the two
  });
});
