// Prometheus metrics of one process. One registry, created on first use, so that tests can
// create several servers without "metric already registered" errors and a process exposes
// one /metrics page.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  rpcCalls: Counter<'program' | 'procedure' | 'outcome'>;
  rpcDuration: Histogram<'program' | 'procedure'>;
}

let shared: Metrics | undefined;

export function metrics(): Metrics {
  if (shared) return shared;
  const registry = new Registry();
  // prom-client's names already start with process_ or nodejs_: the prefix only says whose.
  collectDefaultMetrics({ register: registry, prefix: 's3files_' });
  shared = {
    registry,
    rpcCalls: new Counter({
      name: 's3files_rpc_calls_total',
      help: 'ONC RPC calls handled, by program, procedure and outcome',
      labelNames: ['program', 'procedure', 'outcome'],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: 's3files_rpc_call_duration_seconds',
      help: 'Time from a decoded call to its encoded reply',
      labelNames: ['program', 'procedure'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
  };
  return shared;
}
