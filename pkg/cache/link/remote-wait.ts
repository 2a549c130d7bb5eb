// How long a client call may wait on the bucket. An NFS client gives up on (or retransmits) a
// call after its `timeo` (60 s by default over TCP), so a call that needs the bucket waits at
// most `remoteWaitMs` (default 10 s) and then answers EJUKEBOX (NFS3ERR_JUKEBOX: "try again
// later"; the Linux client waits and retries by itself). What it waited for goes on in the
// background, and its result is applied when it arrives.
import { FsError } from '../../vfs';
import { RemoteUnavailableError } from './remote';

export const DEFAULT_REMOTE_WAIT_MS = 10_000;

/** `p`, or EJUKEBOX once `ms` have passed (p keeps running; its rejection is handled). */
export async function withinWait<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FsError('EJUKEBOX', `${what}: the bucket did not answer within ${ms} ms; try again later`)), ms);
    timer.unref();
  });
  p.catch(() => undefined); // a late failure is the background's to log
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The FsError a client sees when the bucket could not answer: retryable or not. */
export function remoteFailure(err: unknown, what: string): FsError {
  if (err instanceof FsError) return err;
  if (err instanceof RemoteUnavailableError) return new FsError('EJUKEBOX', `${what}: the bucket is unavailable; try again later`, { cause: err });
  return new FsError('EIO', `${what} from the bucket failed`, { cause: err });
}
