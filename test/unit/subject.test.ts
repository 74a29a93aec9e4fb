import { describe, expect, it } from "vitest";
import { agentToken, subjectFor, typeToken } from "../../src/subject.ts";

describe("subjects", () => {
  it("follow the seed scheme {prefix}.{agent}.{type with . -> _}", () => {
    expect(subjectFor("openclaw.events", "main", "msg.in")).toBe("openclaw.events.main.msg_in");
    expect(subjectFor("p", "system", "session.compaction_start")).toBe("p.system.session_compaction_start");
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
  });
});
