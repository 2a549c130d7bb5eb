// Bounded shutdown for the long-running modes. On the first SIGTERM/SIGINT the steps run in
// order (stop taking work first: the NFS port, then wait for uploads, then close), each one
// logged, with a line every few seconds saying what is still being waited for. Past the
// deadline, or on a second signal, the process exits at once and says what it left: nothing
// acknowledged is lost, because the upload queue and the cache live on disk and the next start
// resumes them (kill -9 is no worse).
import type { Logger } from '../pkg/log/logger';

export interface ShutdownStep {
  name: string;
  run(): Promise<void>;
  /** What the step still waits for (running uploads, ...), for the progress lines. */
  pending?(): Record<string, unknown>;
}

export interface ShutdownOptions {
  log: Logger;
  timeoutMs: number;
  progressEveryMs?: number;
  /** Ends the process (tests pass their own). */
  exit?: (code: number) => void;
}

export const DEFAULT_SHUTDOWN_TIMEOUT = '30s';
export const SHUTDOWN_HELP = `  --shutdown-timeout DURATION   on SIGTERM, how long to wait for running uploads before exiting
                         anyway (default ${DEFAULT_SHUTDOWN_TIMEOUT}); what is left stays queued on disk and is
                         uploaded after the next start. A second signal exits at once`;

/** Runs the steps; resolves true if they all finished in time (otherwise the process was ended). */
export async function shutDown(steps: ShutdownStep[], o: ShutdownOptions): Promise<boolean> {
  const exit = o.exit ?? ((code: number) => process.exit(code));
  const started = Date.now();
  let current: ShutdownStep | undefined;
  const left = (): Record<string, unknown> => ({
    waitingFor: current?.name,
    ...(current?.pending?.() ?? {}),
    skipped: current ? steps.slice(steps.indexOf(current) + 1).map((s) => s.name) : [],
    note: 'queued changes stay on disk and are uploaded after the next start',
  });
  const onSecondSignal = (signal: NodeJS.Signals): void => {
    o.log.warn('second signal: stopping now', { signal, ...left() });
    exit(1);
  };
  process.on('SIGTERM', onSecondSignal);
  process.on('SIGINT', onSecondSignal);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), o.timeoutMs)));
  try {
    for (const step of steps) {
      current = step;
      o.log.info(`shutdown: ${step.name}`);
      const progress = setInterval(
        () => o.log.info(`shutdown: still waiting for ${step.name}`, { elapsedMs: Date.now() - started, ...(step.pending?.() ?? {}) }),
        o.progressEveryMs ?? Math.min(5000, Math.max(250, o.timeoutMs / 4)),
      );
      try {
        const outcome = await Promise.race([step.run().then(() => 'done' as const), deadline]);
        if (outcome === 'timeout') {
          o.log.warn(`shutdown: gave up after ${Math.round(o.timeoutMs / 1000)} s; stopping now`, left());
          exit(1);
          return false;
        }
      } finally {
        clearInterval(progress);
      }
    }
    current = undefined;
    return true;
  } finally {
    clearTimeout(timer);
    process.off('SIGTERM', onSecondSignal);
    process.off('SIGINT', onSecondSignal);
  }
}
