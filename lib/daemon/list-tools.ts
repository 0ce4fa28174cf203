import type { ServerConfig } from '../config/index.js';
import { GatekitError } from '../errors.js';
import { AnswerError, ConversationEnded, talkOnce } from './probe.js';

/** Pages of a tool list read at most: a server that pages on forever is not waited for. */
const MAX_PAGES = 64;

/**
 * Starts `server` once as the daemon would (probe.ts `talkOnce`), sends `initialize` and reads every page of
 * `tools/list`, then ends the whole tree; all within `timeoutMs`. For `gatekit tools pin` and `gatekit tools diff`.
 * An exit, an error answer or the bound is a CHILD_FAILED error.
 */
export function listServerTools(server: ServerConfig, timeoutMs: number): Promise<Array<Record<string, unknown>>> {
  const late = `did not list its tools within ${timeoutMs / 1000} s`;
  return talkOnce(server, 'gatekit-tools', timeoutMs, late, async (conversation) => {
    conversation.notify('notifications/initialized');
    const tools: Array<Record<string, unknown>> = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < MAX_PAGES; pages++) {
      const result = (await conversation.ask('tools/list', cursor === undefined ? undefined : { cursor })) as
        { tools?: unknown; nextCursor?: unknown } | undefined;
      if (!Array.isArray(result?.tools)) throw new ConversationEnded('tools/list answered without a tools array');
      for (const tool of result.tools as Array<Record<string, unknown>>)
        if (typeof tool?.['name'] === 'string') tools.push(tool);
      if (typeof result.nextCursor !== 'string') break;
      cursor = result.nextCursor;
    }
    return tools;
  }).catch((err: unknown) => {
    const words =
      err instanceof AnswerError
        ? `${err.method}: ${err.message}`
        : err instanceof ConversationEnded
          ? err.message
          : '';
    if (!words) throw err;
    throw new GatekitError('CHILD_FAILED', `servers.${server.name}: ${words}`, {
      hint: `run its command yourself to see it fail: ${server.command.join(' ')}`,
    });
  });
}
