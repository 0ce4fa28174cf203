/**
 * What the soak reads of the daemon process from outside: /proc (resident memory, descriptors, descendants) and its
 * own /metrics (heap). Linux only, as the bench.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { request, type Dispatcher } from 'undici';

export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The direct children of `pid`, from every thread's /proc children list (libuv may fork from any of them). */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // gone
  }
  for (const task of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    } catch {
      /* the thread ended meanwhile */
    }
  }
  return out;
}

/** Every descendant of `pid` (children, their children, …). */
export function descendantsOf(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of childrenOf(queue.shift()!)) {
      all.push(child);
      queue.push(child);
    }
  }
  return all;
}

/** One scrape of /metrics as name{labels} → value (the soak only reads unlabelled and summed figures). */
export async function scrape(dispatcher: Dispatcher): Promise<Map<string, number>> {
  const res = await request('http://localhost/metrics', { dispatcher });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`/metrics answered ${res.statusCode}`);
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m) continue;
    values.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
    values.set(`${m[1]}:sum`, (values.get(`${m[1]}:sum`) ?? 0) + Number(m[3]));
  }
  return values;
}
