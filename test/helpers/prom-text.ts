/**
 * A strict reader of the Prometheus text exposition format 0.0.4, for the metrics tests. prom-client writes the
 * format but has no parser, and the one npm parser (parse-prometheus-text-format) is a single-author package we do
 * not count as maintained; so every line must match this grammar or the parse throws:
 *
 *   # HELP <name> <text>          # TYPE <name> counter|gauge|histogram|summary|untyped
 *   <name>[{<label>="<value>"(,<label>="<value>")*}] <float> [<timestamp>]
 *
 * Label values use only the escapes \\, \" and \n; a sample belongs to the family its TYPE line declared (a
 * histogram's `_bucket`, `_sum`, `_count`), declared before it; no label appears twice in one sample.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE = '"(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
// As Prometheus reads a value (Go's strconv.ParseFloat): Inf and NaN in any case (prom-client writes "Nan").
const FLOAT = '[+-]?(?:[Ii][Nn][Ff](?:[Ii][Nn][Ii][Tt][Yy])?|[Nn][Aa][Nn]|(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?)';
const HELP = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE = new RegExp(
  `^(${NAME})(?:\\{((?:${LABEL}=${VALUE})(?:,${LABEL}=${VALUE})*)?,?\\})? (${FLOAT})(?: -?\\d+)?$`,
);
const PAIR = new RegExp(`(${LABEL})=(${VALUE})`, 'g');
const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  text.split('\n').forEach((line, i) => {
    const fail = (why: string) => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '' || HELP.test(line)) return;
    const type = TYPE.exec(line);
    if (type) {
      if (types.has(type[1]!)) fail('a second TYPE line');
      types.set(type[1]!, type[2]!);
      return;
    }
    if (line.startsWith('#')) return fail('a comment that is neither HELP nor TYPE');
    const m = SAMPLE.exec(line);
    if (!m) return fail('not a sample');
    const [, name, pairs, raw] = m;
    const family = [...types.keys()].find((f) =>
      (SUFFIXES[types.get(f)!] ?? ['']).some((suffix) => name === f + suffix),
    );
    if (family === undefined) fail('a sample of no declared family');
    const labels: Record<string, string> = {};
    for (const [, label, quoted] of (pairs ?? '').matchAll(PAIR)) {
      if (Object.hasOwn(labels, label!)) fail(`label ${label} twice`);
      labels[label!] = quoted!.slice(1, -1).replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = /inf/i.test(raw!) ? (raw!.startsWith('-') ? -Infinity : Infinity) : Number(raw);
    samples.push({ name: name!, labels, value });
  });
  return { types, samples };
}

/** The value of the one sample named `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(e: Exposition, name: string, labels: Record<string, string> = {}): number | undefined {
  const found = e.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
