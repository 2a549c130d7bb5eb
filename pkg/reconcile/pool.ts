// Bounded concurrency for batches of S3 calls (HEADs of a listing, parts of an upload, copies of
// a directory move): at most `limit` of `fn` run at once; the first failure is thrown once all
// started calls have settled, so nothing is left running behind the caller's back.

export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.err;
}

export interface AdaptiveLimits {
  /** Fewest calls in flight (default 4). */
  min?: number;
  /** Most calls in flight. */
  max: number;
  /** In flight at the start (default min × 2). */
  start?: number;
  /** While true, at most 2 in flight (a client waits for other requests to the same server). */
  yieldTo?: () => boolean;
}

/**
 * Like forEachLimit, for long runs of like calls (the copies of a directory move, the checks
 * of thousands of deletions): the number in flight follows what the server can take, as TCP
 * Vegas does. The fastest call seen is the server's unloaded time; while calls take less than
 * 2× that, the window grows by one per round of calls (no doubling: an overshoot is a queue at
 * the server that a client's `ls` would wait behind); above 3×, the calls are mostly queueing
 * at the server, which makes every other request of the export (a listing, a read) wait as
 * long, so the window shrinks by a quarter. On real S3, whose time is the network's, the window
 * reaches `max`; on a saturated server it stays where throughput stops growing.
 * While `yieldTo()` says a client is waiting for a request of its own, only 2 run.
 */
export async function forEachAdaptive<T>(items: readonly T[], limits: AdaptiveLimits, fn: (item: T, index: number) => Promise<void>): Promise<{ peakWindow: number }> {
  const min = Math.max(1, Math.min(limits.min ?? 4, limits.max));
  let window = Math.min(limits.max, Math.max(min, limits.start ?? min * 2));
  let peakWindow = window;
  let fastest = Infinity;
  let roundDone = 0;
  let roundSlow = 0;
  let roundFast = 0;
  let next = 0;
  let active = 0;
  let failure: { err: unknown } | undefined;
  const settled = (ms: number) => {
    fastest = Math.min(fastest, ms);
    roundDone++;
    if (ms > 3 * fastest) roundSlow++;
    else if (ms < 2 * fastest) roundFast++;
    if (roundDone >= window) {
      if (roundSlow * 2 > roundDone) window = Math.max(min, Math.floor((window * 3) / 4));
      else if (roundFast * 2 > roundDone) window = Math.min(limits.max, window + 1);
      peakWindow = Math.max(peakWindow, window);
      roundDone = roundSlow = roundFast = 0;
    }
  };
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (!failure && next < items.length && active < (limits.yieldTo?.() ? Math.min(2, window) : window)) {
        const i = next++;
        active++;
        const t0 = performance.now();
        fn(items[i]!, i).then(
          () => settled(performance.now() - t0),
          (err: unknown) => void (failure ??= { err }),
        ).finally(() => {
          active--;
          pump();
        });
      }
      if (active === 0 && (failure || next >= items.length)) resolve();
    };
    pump();
  });
  if (failure) throw failure.err;
  return { peakWindow };
}
