/**
 * The bench's lean baseline: a no-auth pass-through proxy. node:http on a Unix socket → one stdio child per MCP
 * session, raw JSON-RPC lines. It parses what any proxy must read (each request body, each child line: JSON.parse,
 * to find the method and route the answer by id) and writes the bytes it got, re-serializing nothing. It does none
 * of the rest: no token, no Host/Origin check, no policy, no audit line, no id rewriting (so two POSTs reusing an id
 * collide), no trace context, no SSE, no body limit, no hang watchdog. The daemon is measured against it in
 * alternating rounds of the same run (bench/rounds.ts; docs/architecture.md, "Not slower").
 *
 * With CONFIG and SERVER_NAME it also does the daemon's per-call security work (bench/lean-guard.ts): the "secured"
 * lean proxy.
 *
 * Usage: node dist/bench/lean-proxy.js SOCKET SERVER.js [CONFIG SERVER_NAME] — prints "listening" when ready.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createInterface } from 'node:readline';
import { LeanGuard, type Call } from './lean-guard.js';

interface Session {
  readonly child: ChildProcess;
  readonly waiting: Map<unknown, ServerResponse>;
  /** The secured proxy's calls, for their audit lines (the no-auth proxy keeps none). */
  readonly calls: Map<unknown, Call>;
}

const [socket, serverScript, configFile, serverName] = process.argv.slice(2);
if (!socket || !serverScript) throw new TypeError('usage: lean-proxy SOCKET SERVER.js [CONFIG SERVER_NAME]');
const guard = configFile && serverName ? await LeanGuard.open(configFile, serverName) : undefined;
const sessions = new Map<string, Session>();

function openSession(): [string, Session] {
  const child = spawn(process.execPath, [serverScript!], { stdio: ['pipe', 'pipe', 'inherit'] });
  const session: Session = { child, waiting: new Map(), calls: new Map() };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const answer = JSON.parse(line) as { id?: unknown; error?: { message?: string } };
    const res = session.waiting.get(answer.id);
    if (!res) return; // a server notification: the lean proxy has no stream to put it on
    session.waiting.delete(answer.id);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(line) }).end(line);
    if (!guard) return;
    guard.answered(session.calls.get(answer.id)!, answer.error?.message);
    session.calls.delete(answer.id);
  });
  const id = randomUUID();
  sessions.set(id, session);
  return [id, session];
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const sessionId = req.headers['mcp-session-id'];
  if (req.method === 'DELETE') {
    const session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    session?.child.kill();
    sessions.delete(String(sessionId));
    res.writeHead(200).end();
    return;
  }
  if (req.method !== 'POST') {
    res.writeHead(405, { allow: 'POST, DELETE' }).end();
    return;
  }
  const who = guard ? await guard.admit(req) : undefined;
  if (guard && !who) {
    res.writeHead(401).end();
    return;
  }
  const body = await readBody(req);
  const message = JSON.parse(body) as { id?: unknown; method?: string };
  let session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
  if (message.method === 'initialize') {
    const [id, opened] = openSession();
    session = opened;
    res.setHeader('mcp-session-id', id);
  }
  if (!session) {
    res.writeHead(404).end();
    return;
  }
  if (message.id === undefined) {
    res.writeHead(202).end();
    session.child.stdin!.write(`${body}\n`);
    return;
  }
  const guarded = who && guard!.forward(who, message as Record<string, unknown>);
  if (who && !guarded) {
    res.writeHead(403).end();
    return;
  }
  session.waiting.set(message.id, res);
  if (guarded) session.calls.set(message.id, guarded.call);
  session.child.stdin!.write(`${guarded ? guarded.line : body}\n`);
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => res.destroy());
});
server.listen(socket, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => {
  for (const s of sessions.values()) s.child.kill();
  guard?.close();
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
