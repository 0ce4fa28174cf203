import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RECORDER = fileURLToPath(new URL('../../fixtures/servers/recorder.js', import.meta.url));

/** Tools the policy of `rec`/`rec_id` lets alice call; `secret` and `write_note` are not allowed. */
export const ALLOWED = new Set(['echo', 'fresh', 'limited']);
/** `echo` needs `text`, at most this long; `fresh` needs a login within a minute (test tokens have none). */
export const ECHO_MAX = 10;

/**
 * Two recording servers (fixtures/servers/recorder.ts) writing to one file: `rec` without identity_meta,
 * `rec_id` with it. The same policy on both: allow/deny, an argument rule, fresh_login and a rate.
 */
export function recorderServers(file: string): string {
  const server = (name: string, identity: boolean) => `
[servers.${name}]
command = ["${process.execPath}", "${RECORDER}"]
env = { RECORD_FILE = "${file}" }
allow_users = ["alice@example.com"]
identity_meta = ${identity}
tools = { allow = ${JSON.stringify([...ALLOWED])} }

[[servers.${name}.rule]]
tools = ["echo"]
args = { text = { max_length = ${ECHO_MAX} } }

[[servers.${name}.rule]]
tools = ["fresh"]
fresh_login = "1m"

[[servers.${name}.rule]]
tools = ["limited"]
rate = "1/h"
`;
  return server('rec', false) + server('rec_id', true);
}

/** One line a recording child read (`in`) or a request it sent (`out`). */
export interface Recorded {
  readonly pid: number;
  readonly server: string;
  readonly sub: string;
  readonly in?: string;
  readonly out?: string;
}

/** A temporary record file and a reader that returns the lines added since the last read. */
export function recordFile(): { file: string; next(): Recorded[]; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'gatekit-rec-'));
  const file = join(dir, 'records.jsonl');
  let offset = 0;
  return {
    file,
    next() {
      if (!existsSync(file)) return [];
      const text = readFileSync(file, 'utf8');
      const end = text.lastIndexOf('\n') + 1;
      const fresh = text.slice(offset, end);
      offset = end;
      return fresh
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Recorded);
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** What MCP lets a client send (independent of lib/mcp, so that a wrong list there is caught here). */
const CLIENT_NOTIFICATIONS = new Set([
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  'notifications/tasks/status',
]);
const MCP_METHODS = [
  ...CLIENT_NOTIFICATIONS,
  'initialize',
  'ping',
  'server/discover',
  'tools/call',
  'tools/list',
  'prompts/get',
  'prompts/list',
  'resources/list',
  'resources/read',
  'resources/templates/list',
  'resources/subscribe',
  'resources/unsubscribe',
  'completion/complete',
  'logging/setLevel',
  'subscriptions/listen',
  'roots/list',
  'sampling/createMessage',
  'elicitation/create',
  'tasks/get',
  'tasks/list',
  'tasks/cancel',
  'tasks/result',
];
const fold = (m: string) =>
  m
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
const FOLDED = new Map(MCP_METHODS.map((m) => [fold(m), m]));
/** Deeper than the daemon's bound (64) plus the envelope it adds: more is a crash waiting in JSON.stringify. */
const MAX_SEEN_DEPTH = 70;

function depth(value: unknown, max: number): number {
  if (typeof value !== 'object' || value === null || max === 0) return 0;
  let deepest = 0;
  for (const v of Array.isArray(value) ? value : Object.values(value)) deepest = Math.max(deepest, depth(v, max - 1));
  return deepest + 1;
}

/**
 * The policy as a recording child must have seen it, checked line by line over a run: returns what broke it.
 * State carries over between calls (what each child asked, answered, and how often `limited` ran per person).
 */
export function policyChecker(): (records: readonly Recorded[]) => string[] {
  const asked = new Map<number, Set<unknown>>();
  const requested = new Map<number, Set<unknown>>();
  const limited = new Map<string, number>();
  return (records) => {
    const broken: string[] = [];
    for (const r of records) {
      const mine = (map: Map<number, Set<unknown>>) => map.get(r.pid) ?? map.set(r.pid, new Set()).get(r.pid)!;
      if (r.out !== undefined) {
        mine(asked).add((JSON.parse(r.out) as { id: unknown }).id);
        continue;
      }
      const line = r.in!;
      const bad = (why: string) => broken.push(`${why} (child ${r.pid}): ${line.slice(0, 300)}`);
      let m: { id?: unknown; method?: unknown; params?: Record<string, unknown>; result?: unknown };
      try {
        m = JSON.parse(line);
      } catch {
        bad('not JSON');
        continue;
      }
      if (depth(m, MAX_SEEN_DEPTH + 1) > MAX_SEEN_DEPTH) bad('nested deeper than the bound');
      if (typeof m.method !== 'string') {
        if (!mine(asked).delete(m.id)) bad('a response to no request of the child (or answered twice)');
        continue;
      }
      const method = m.method;
      const hasId = 'id' in m;
      if (hasId) mine(requested).add(m.id);
      if (!hasId && !CLIENT_NOTIFICATIONS.has(method)) bad('a notification MCP does not define for a client');
      const known = FOLDED.get(fold(method));
      if (known !== undefined && known !== method) bad(`a spelling of ${known}`);
      if (!/^[\x21-\x7e]+$/.test(method)) bad('a method name with spaces or beyond ASCII');
      if (method === 'notifications/cancelled' && !mine(requested).has(m.params?.['requestId']))
        bad('a cancellation of no request the child was sent');
      const meta = m.params?.['_meta'];
      const ours = meta && typeof meta === 'object' ? Object.keys(meta).filter((k) => /^gatekit/i.test(k)) : [];
      const identity = ['gatekit/user', 'gatekit/sub', 'gatekit/groups'];
      const stamped = r.server === 'rec_id' && hasId;
      if (ours.some((k) => !stamped || !identity.includes(k))) bad('a client _meta gatekit key');
      const carried = meta as { 'gatekit/user'?: unknown; 'gatekit/sub'?: unknown } | undefined;
      if (ours.length > 0 && (carried?.['gatekit/sub'] !== r.sub || carried?.['gatekit/user'] !== 'alice@example.com'))
        bad('a gatekit identity that is not the caller');
      if (method !== 'tools/call') continue;
      const name = m.params?.['name'];
      const args = m.params?.['arguments'] as { text?: unknown } | undefined;
      if (!hasId) bad('a tools/call without an id');
      if (typeof name !== 'string' || !ALLOWED.has(name)) bad('a tool the policy denies');
      if (name === 'fresh') bad('a tool that needs a fresh login');
      if (name === 'echo' && !(typeof args?.text === 'string' && args.text.length <= ECHO_MAX))
        bad('echo against its argument rule');
      if (name === 'limited') {
        const bucket = `${r.server} ${r.sub}`;
        limited.set(bucket, (limited.get(bucket) ?? 0) + 1);
        if (limited.get(bucket)! > 1) bad('limited beyond its rate');
      }
    }
    return broken;
  };
}
