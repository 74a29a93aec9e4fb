// The slice of the OpenClaw plugin API this plugin uses (OpenClaw 2026.9.x). Declared here, as
// most community plugins do, so the plugin builds and tests without the host installed; the
// end-to-end test checks it against the real host.

export interface PluginLogger {
  debug?(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export type HookHandler = (event: unknown, ctx: unknown) => unknown;

interface PluginCommandContext {
  args?: string;
  agentId?: string;
  sessionKey?: string;
}

export interface GatewayMethodOptions {
  params: Record<string, unknown>;
  respond: (ok: boolean, payload?: unknown, error?: { code: string; message: string }) => void;
}

interface ServiceContext {
  stateDir?: string;
  logger?: PluginLogger;
}

/** The part of a Commander command (OpenClaw's CLI) that registerCli registrars use here. */
export interface CliCommand {
  command(name: string): CliCommand;
  description(text: string): CliCommand;
  helpOption(enabled: boolean): CliCommand;
  allowUnknownOption(allow: boolean): CliCommand;
  allowExcessArguments(allow: boolean): CliCommand;
  argument(spec: string): CliCommand;
  action(fn: (args: string[]) => void | Promise<void>): CliCommand;
}

/** A root command's metadata; machineOutput tells OpenClaw that stdout carries JSON (its own notes go to stderr). */
export interface CliDescriptor {
  name: string;
  description: string;
  hasSubcommands: boolean;
  machineOutput?: (p: { argv: readonly string[]; stdoutIsTTY: boolean }) => boolean;
}

interface AgentToolResult {
  content: { type: "text"; text: string }[];
  details: unknown;
}

/** An agent tool (OpenClaw's AgentTool): JSON Schema parameters, execute(toolCallId, params). */
export interface AgentTool {
  name: string;
  label: string;
  description: string;
  parameters: Record<string, unknown>;
  execute(toolCallId: string, params: unknown, signal?: AbortSignal): Promise<AgentToolResult>;
}

export interface OpenClawPluginApi {
  id: string;
  registrationMode?: string;
  config?: { plugins?: { entries?: Record<string, { hooks?: { allowConversationAccess?: boolean } } | undefined> } };
  pluginConfig?: Record<string, unknown>;
  logger: PluginLogger;
  on(hookName: string, handler: HookHandler, opts?: { priority?: number }): void;
  registerCommand(command: {
    name: string;
    description: string;
    acceptsArgs?: boolean;
    requireAuth?: boolean;
    handler: (ctx: PluginCommandContext) => { text: string } | Promise<{ text: string }>;
  }): void;
  registerGatewayMethod(
    method: string,
    handler: (opts: GatewayMethodOptions) => void | Promise<void>,
    opts?: { scope?: string },
  ): void;
  registerCli?(
    registrar: (ctx: { program: CliCommand; config?: unknown }) => void | Promise<void>,
    opts?: { commands?: string[]; descriptors?: CliDescriptor[] },
  ): void;
  registerTool?(tool: AgentTool, opts?: { name?: string; optional?: boolean }): void;
  registerService(service: {
    id: string;
    start: (ctx: ServiceContext) => void | Promise<void>;
    stop?: (ctx: ServiceContext) => void | Promise<void>;
  }): void;
}
