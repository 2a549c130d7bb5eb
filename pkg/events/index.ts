// pkg/events: the bucket's change notifications (HTTP push from Ceph RGW / MinIO, SQS on AWS)
// and other nodes' notices, turned into re-listings of exactly the directories they name
// (docs/freshness.md). Parsing is records.ts; per-export coalescing and own-write filtering
// change-feed.ts; delivery router.ts; sources http-endpoint.ts, sqs-source.ts; telling other
// nodes peers.ts.
import type { Logger } from '../log/logger';
import type { LinkedExport } from '../reconcile';
import { ChangeFeed, type FeedOptions } from './change-feed';

export { ChangeFeed, type FeedStatus, type FeedTarget } from './change-feed';
export { startEventEndpoint, type EventEndpoint } from './http-endpoint';
export { parseEventBody, FormatError, type BucketChange, type ParsedEvents } from './records';
export { EventRouter } from './router';

/** The feed of one linked export of `bucket`. */
export function feedFor(name: string, bucket: string, linked: LinkedExport, log: Logger, opts: Partial<FeedOptions> = {}): ChangeFeed {
  const changes = linked.fs.remoteChanges;
  if (!changes) throw new Error(`export ${name} is not linked to a bucket`);
  return new ChangeFeed({ name, bucket, prefix: linked.keys.prefix, changes, ownWrites: linked.ownWrites }, { log, ...opts });
}
