// The ChangeFeed of one linked export: what pkg/events needs of pkg/reconcile's LinkedExport.
import type { Logger } from '../log/logger';
import type { LinkedExport } from '../reconcile';
import { ChangeFeed, type FeedOptions } from './change-feed';

/** The feed of one linked export of `bucket`. */
export function feedFor(name: string, bucket: string, linked: LinkedExport, log: Logger, opts: Partial<FeedOptions> = {}): ChangeFeed {
  const changes = linked.fs.remoteChanges;
  if (!changes) throw new Error(`export ${name} is not linked to a bucket`);
  return new ChangeFeed({ name, bucket, prefix: linked.keys.prefix, changes, ownWrites: linked.ownWrites }, { log, ...opts });
}
