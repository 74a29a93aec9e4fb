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

export interface PluginCommandContext {
  args?: string;
  agentId?: string;
  sessionKey?: string;
}

export interface GatewayMethodOptions {
  params: Record<string, unknown>;
  respond: (ok: boolean, payload?: unknown, error?: { code: string; message: string }) => void;
}

export interface ServiceContext {
  stateDir?: string;
  logger?: PluginLogger;
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
  registerGatewayMethod(method: string, handler: (opts: GatewayMethodOptions) => void | Promise<void>, opts?: { scope?: string }): void;
  registerService(service: { id: string; start: (ctx: ServiceContext) => void | Promise<void>; stop?: (ctx: ServiceContext) => void | Promise<void> }): void;
}
