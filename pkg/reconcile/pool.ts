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
