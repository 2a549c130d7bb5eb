// Bucket change events in the shapes S3 and S3-compatible servers send them, reduced to what a
// cache needs: which key of which bucket was created/overwritten or removed, its new ETag, the
// event's time and sequencer. Accepted:
//   - S3 Event Notifications: {"Records": [{eventSource, eventName "ObjectCreated:Put" (AWS,
//     Ceph RGW) or "s3:ObjectCreated:Put" (MinIO), eventTime, s3: {bucket: {name}, object:
//     {key, eTag, sequencer}}}]}. AWS and MinIO URL-encode the key (form encoding: "+" is a
//     space); Ceph RGW sends it as is; s3files peers (eventSource "s3files", and
//     "s3files-relay" for queue events passed on) too.
//   - The same inside an SNS envelope ({"Type": "Notification", "Message": "<json>"}), as SQS
//     receives it from a topic without raw message delivery.
//   - EventBridge: {"source": "aws.s3", "detail-type": "Object Created" | "Object Deleted",
//     time, detail: {bucket: {name}, object: {key, etag, sequencer}}} (key not encoded).
//   - s3:TestEvent (sent when a notification is configured): a gap, nothing is known.
// Anything else (other event types: tags, ACLs, restores, replication) is "ignored"; a body that
// is not one of these shapes is a FormatError. Nothing here throws anything else.

export interface BucketChange {
  bucket: string;
  /** The object key, decoded. */
  key: string;
  removed: boolean;
  /** The object's ETag after the change (no quotes), when the event says. */
  etag?: string;
  /** Event time (ms), when the event says. */
  atMs?: number;
  /** S3's per-key ordering token (hex), when the event says. */
  sequencer?: string;
  /** Where it came from (eventSource / source): for logs. */
  source: string;
}

export interface ParsedEvents {
  changes: BucketChange[];
  /** Events lost or order unknown (s3:TestEvent): the receiver re-lists what it holds. */
  gap: boolean;
  /** Well-formed records of event types that do not change keys (tags, ACL, restore…). */
  ignored: number;
}

export class FormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatError';
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The body of an HTTP push or an SQS message → changes. Throws FormatError only. */
export function parseEventBody(body: string | Buffer): ParsedEvents {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    throw new FormatError('not JSON');
  }
  return parseEventDocument(doc, 0);
}

function parseEventDocument(doc: unknown, depth: number): ParsedEvents {
  if (!isObject(doc)) throw new FormatError('not a JSON object');
  if (str(doc.Event) === 's3:TestEvent') return { changes: [], gap: true, ignored: 0 };
  if (Array.isArray(doc.Records)) return parseRecords(doc.Records);
  if (str(doc.Type) === 'Notification' && typeof doc.Message === 'string' && depth === 0) {
    let inner: unknown;
    try {
      inner = JSON.parse(doc.Message);
    } catch {
      throw new FormatError('SNS envelope whose Message is not JSON');
    }
    return parseEventDocument(inner, depth + 1);
  }
  if (str(doc.source) === 'aws.s3' && isObject(doc.detail)) return parseEventBridge(doc);
  throw new FormatError('neither S3 event records, an SNS envelope nor an EventBridge event');
}

function parseRecords(records: unknown[]): ParsedEvents {
  const out: ParsedEvents = { changes: [], gap: false, ignored: 0 };
  if (records.length > 10_000) throw new FormatError(`too many records (${records.length})`);
  for (const r of records) {
    if (!isObject(r)) throw new FormatError('a record is not an object');
    const name = str(r.eventName)?.replace(/^s3:/, '');
    const s3 = isObject(r.s3) ? r.s3 : undefined;
    const bucket = s3 && isObject(s3.bucket) ? str(s3.bucket.name) : undefined;
    const object = s3 && isObject(s3.object) ? s3.object : undefined;
    const rawKey = object ? str(object.key) : undefined;
    if (name === undefined || bucket === undefined || rawKey === undefined) throw new FormatError('a record without eventName, s3.bucket.name or s3.object.key');
    const removed = name.startsWith('ObjectRemoved:');
    if (!removed && !name.startsWith('ObjectCreated:')) {
      out.ignored++;
      continue;
    }
    const source = str(r.eventSource) ?? 'unknown';
    const key = source === 'ceph:s3' || source === 's3files' || source === 's3files-relay' ? rawKey : decodeFormKey(rawKey);
    out.changes.push(change(bucket, key, removed, source, str(object!.eTag) ?? str(object!.etag), str(r.eventTime), str(object!.sequencer)));
  }
  return out;
}

function parseEventBridge(doc: Json): ParsedEvents {
  const detail = doc.detail as Json;
  const type = str(doc['detail-type']);
  const bucket = isObject(detail.bucket) ? str(detail.bucket.name) : undefined;
  const object = isObject(detail.object) ? detail.object : undefined;
  const key = object ? str(object.key) : undefined;
  if (type === undefined || bucket === undefined || key === undefined) throw new FormatError('an EventBridge event without detail-type, bucket or key');
  if (type !== 'Object Created' && type !== 'Object Deleted') return { changes: [], gap: false, ignored: 1 };
  return {
    changes: [change(bucket, key, type === 'Object Deleted', 'aws.s3', str(object!.etag), str(doc.time), str(object!.sequencer))],
    gap: false,
    ignored: 0,
  };
}

function change(bucket: string, key: string, removed: boolean, source: string, etag?: string, time?: string, sequencer?: string): BucketChange {
  if (key === '' || Buffer.byteLength(key) > 1024) throw new FormatError('an object key that is empty or longer than 1024 bytes');
  const c: BucketChange = { bucket, key, removed, source };
  const e = etag?.replace(/"/g, '');
  if (e) c.etag = e;
  const at = time === undefined ? NaN : Date.parse(time);
  if (!Number.isNaN(at)) c.atMs = at;
  if (sequencer && /^[0-9A-Fa-f]{1,64}$/.test(sequencer)) c.sequencer = sequencer.toUpperCase();
  return c;
}

/** S3 Event Notifications encode keys as HTML forms do ("+" for a space). */
function decodeFormKey(raw: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    throw new FormatError('an object key that is not URL-encoded');
  }
}

/**
 * S3's rule for sequencers of one key: the longer one (after padding with leading zeros) is
 * compared as a string; returns <0, 0, >0 like a comparator.
 */
export function compareSequencers(a: string, b: string): number {
  const n = Math.max(a.length, b.length);
  const pa = a.padStart(n, '0');
  const pb = b.padStart(n, '0');
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}
