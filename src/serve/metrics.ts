// /metrics in Prometheus' text format (version 0.0.4): requests, tokens, queue length, batch size
// and time to first token. A handful of counters, gauges and one histogram, kept here rather than
// pulling in a client library for them.

type Labels = Record<string, string>;

const labelText = (l: Labels): string => {
  const keys = Object.keys(l);
  return keys.length ? `{${keys.map((k) => `${k}="${l[k].replace(/["\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))}"`).join(',')}}` : '';
};

/** Seconds; buckets from 5 ms to a minute. */
const TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class ServerMetrics {
  private readonly requests = new Map<string, { labels: Labels; n: number }>();
  promptTokens = 0;
  completionTokens = 0;
  decodeSteps = 0;
  /** Generations cancelled because their client went away. */
  disconnects = 0;
  private readonly ttftCounts = new Array<number>(TTFT_BUCKETS.length).fill(0);
  private ttftSum = 0;
  private ttftCount = 0;

  /** Gauges are read when scraped. */
  constructor(private readonly gauges: () => { queued: number; running: number; batch: number; inFlight: number }) {}

  request(endpoint: string, status: number): void {
    const labels = { endpoint, status: String(status) };
    const key = labelText(labels);
    const r = this.requests.get(key);
    if (r) r.n++;
    else this.requests.set(key, { labels, n: 1 });
  }

  timeToFirstToken(seconds: number): void {
    this.ttftSum += seconds;
    this.ttftCount++;
    TTFT_BUCKETS.forEach((b, i) => { if (seconds <= b) this.ttftCounts[i]++; });
  }

  text(): string {
    const g = this.gauges();
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, rows: [Labels, number][]) => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [l, v] of rows) out.push(`${name}${labelText(l)} ${v}`);
    };
    metric('gptkit_requests_total', 'counter', 'HTTP requests by endpoint and status.', [...this.requests.values()].map((r) => [r.labels, r.n]));
    metric('gptkit_prompt_tokens_total', 'counter', 'Prompt tokens of generations started.', [[{}, this.promptTokens]]);
    metric('gptkit_generation_tokens_total', 'counter', 'Tokens generated.', [[{}, this.completionTokens]]);
    metric('gptkit_decode_steps_total', 'counter', 'Decoding steps of the batching engine.', [[{}, this.decodeSteps]]);
    metric('gptkit_client_disconnects_total', 'counter', 'Generations cancelled because the client went away.', [[{}, this.disconnects]]);
    metric('gptkit_queue_length', 'gauge', 'Generations waiting for a slot in the decoding batch.', [[{}, g.queued]]);
    metric('gptkit_running_requests', 'gauge', 'Generations in the decoding batch.', [[{}, g.running]]);
    metric('gptkit_batch_size', 'gauge', 'Rows of the last decoding step.', [[{}, g.batch]]);
    metric('gptkit_generations_in_flight', 'gauge', 'Generations accepted and not finished.', [[{}, g.inFlight]]);
    out.push('# HELP gptkit_time_to_first_token_seconds Time from accepting a request to its first token.', '# TYPE gptkit_time_to_first_token_seconds histogram');
    TTFT_BUCKETS.forEach((b, i) => out.push(`gptkit_time_to_first_token_seconds_bucket{le="${b}"} ${this.ttftCounts[i]}`));
    out.push(`gptkit_time_to_first_token_seconds_bucket{le="+Inf"} ${this.ttftCount}`);
    out.push(`gptkit_time_to_first_token_seconds_sum ${this.ttftSum}`, `gptkit_time_to_first_token_seconds_count ${this.ttftCount}`);
    return out.join('\n') + '\n';
  }
}
