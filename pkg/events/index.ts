// pkg/events: the bucket's change notifications (HTTP push from Ceph RGW / MinIO, SQS on AWS)
// and other nodes' notices, turned into re-listings of exactly the directories they name
// (docs/freshness.md). Parsing is records.ts; per-export coalescing and own-write filtering
// change-feed.ts; delivery router.ts; sources http-endpoint.ts, sqs-source.ts; telling other
// nodes peers.ts; all of it for one process's exports hub.ts.
export { ChangeFeed, type FeedStatus, type FeedTarget } from './change-feed';
export { feedFor } from './feed-for';
export { FreshnessHub, type AttachOptions, type EventQueue, type FreshnessHubOptions } from './hub';
export { startEventEndpoint, type EventEndpoint } from './http-endpoint';
export { parseEventBody, FormatError, type BucketChange, type ParsedEvents } from './records';
export { EventRouter } from './router';
