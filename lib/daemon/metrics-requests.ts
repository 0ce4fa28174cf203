/** The latency histogram's upper bounds, in seconds. */
const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];
const OUTCOMES = ['ok', 'error', 'denied', 'refused'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** One server and method: plain numbers, so counting a request costs a few additions (no label hashing per call). */
interface Cell {
  readonly server: string;
  readonly method: string;
  readonly outcomes: Record<Outcome, number>;
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

/** What prom-client's registry prints for a metric family (Registry.getMetricsAsString reads `get()`). */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  get(): Promise<{ name: string; help: string; type: string; aggregator: 'sum'; values: FamilyValue[] }>;
}
interface FamilyValue {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/**
 * `gatekit_requests_total` and `gatekit_request_duration_seconds`, counted on the request path and turned into
 * samples only when scraped. Cells are keyed by label values the caller has already reduced to fixed sets.
 */
export class RequestCounts {
  readonly #cells = new Map<string, Map<string, Cell>>();

  count(server: string, method: string, outcome: Outcome, seconds: number | undefined, requests = 1): void {
    const cell = this.#cell(server, method);
    cell.outcomes[outcome] += requests;
    if (seconds === undefined) return;
    let i = 0;
    while (i < SECONDS.length && seconds > SECONDS[i]!) i++;
    cell.buckets[i]!++;
    cell.sum += seconds;
    cell.count++;
  }

  /** The two families, for `Registry.registerMetric`. */
  families(): [Family, Family] {
    const family = (name: string, help: string, type: Family['type'], values: () => FamilyValue[]): Family => ({
      name,
      help,
      type,
      get: async () => ({ name, help, type, aggregator: 'sum', values: values() }),
    });
    return [
      family(
        'gatekit_requests_total',
        'Requests by server, MCP method and outcome (ok, error, denied, refused at the door), from the audit lines',
        'counter',
        () =>
          this.#all().flatMap(({ server, method, outcomes }) =>
            OUTCOMES.map((outcome) => ({ value: outcomes[outcome], labels: { server, method, outcome } })),
          ),
      ),
      family(
        'gatekit_request_duration_seconds',
        'Time from a request reaching its MCP server to its answer',
        'histogram',
        () =>
          this.#all().flatMap(({ server, method, buckets, sum, count }) => {
            let cumulative = 0;
            const name = 'gatekit_request_duration_seconds';
            return [
              ...buckets.map((n, i) => ({
                metricName: `${name}_bucket`,
                value: (cumulative += n),
                labels: { le: i < SECONDS.length ? SECONDS[i]! : '+Inf', server, method },
              })),
              { metricName: `${name}_sum`, value: sum, labels: { server, method } },
              { metricName: `${name}_count`, value: count, labels: { server, method } },
            ];
          }),
      ),
    ];
  }

  #all(): Cell[] {
    return [...this.#cells.values()].flatMap((byMethod) => [...byMethod.values()]);
  }

  #cell(server: string, method: string): Cell {
    let byMethod = this.#cells.get(server);
    if (!byMethod) this.#cells.set(server, (byMethod = new Map()));
    let cell = byMethod.get(method);
    if (!cell) {
      const outcomes = { ok: 0, error: 0, denied: 0, refused: 0 };
      cell = { server, method, outcomes, buckets: new Array<number>(SECONDS.length + 1).fill(0), sum: 0, count: 0 };
      byMethod.set(method, cell);
    }
    return cell;
  }
}
