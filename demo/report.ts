// What `npm run demo` saw, written as JSON for the end-to-end test that runs it (one definition for both).
export interface Report {
  agents: readonly string[];
  gatewayRunId?: string;
  natsPort?: number;
  tailLines: string[];
  turns: { agent: string; turn: number; text: string }[];
  statsText?: string;
  sessionKey?: string;
  sessionText?: string;
  queryResult?: unknown;
  gatewayReplayJson?: string;
  gatewayUsageError?: { code: number | null; stderr: string };
  binReplayJson?: string;
  binStatsJson?: string;
  binSessionJson?: string;
  eventstatus?: string;
}
