// What crosses a shaped S3 link (shaped-link.ts): requests counted by S3 operation, bytes each
// way, and the number of requests in flight over time, so a test or a benchmark can ask "how
// many GETs did that read take" and "how many requests were in flight while it ran".
import type http from 'node:http';

export type RequestKind =
  | 'list' | 'head' | 'get' | 'put' | 'part' | 'copy' | 'delete'
  | 'mpuCreate' | 'mpuComplete' | 'mpuAbort' | 'other';

export const REQUEST_KINDS: readonly RequestKind[] = [
  'list', 'head', 'get', 'put', 'part', 'copy', 'delete', 'mpuCreate', 'mpuComplete', 'mpuAbort', 'other',
];

/** The S3 operation of a request, from its method, query and headers (path-style URLs). */
export function classifyRequest(method: string, url: string, headers: http.IncomingHttpHeaders): RequestKind {
  const parsed = new URL(url, 'http://x');
  const q = parsed.searchParams;
  // Path-style addressing (every client here is configured so: the link is on 127.0.0.1):
  // "/bucket" or "/bucket/" names no key, so the request is about the bucket.
  const bucketLevel = /^\/[^/]*\/?$/.test(parsed.pathname);
  if (headers['x-amz-copy-source'] !== undefined) return 'copy'; // CopyObject and UploadPartCopy
  switch (method) {
    case 'GET':
      if (parsed.pathname === '/') return 'other'; // ListBuckets
      if (q.get('list-type') === '2' || (bucketLevel && !q.has('uploads') && !q.has('location') && !q.has('versioning'))) return 'list';
      return q.has('uploadId') || q.has('uploads') || q.has('acl') || q.has('tagging') ? 'other' : 'get';
    case 'HEAD':
      return bucketLevel ? 'other' : 'head';
    case 'PUT':
      if (q.has('partNumber') && q.has('uploadId')) return 'part';
      return bucketLevel || q.has('acl') || q.has('tagging') ? 'other' : 'put';
    case 'POST':
      if (q.has('delete')) return 'delete';
      if (q.has('uploads')) return 'mpuCreate';
      if (q.has('uploadId')) return 'mpuComplete';
      return 'other';
    case 'DELETE':
      if (q.has('uploadId')) return 'mpuAbort';
      return bucketLevel ? 'other' : 'delete';
    default:
      return 'other';
  }
}

export interface LinkCounts {
  requests: Record<RequestKind, number>;
  /** GETs with a Range header (also counted in requests.get). */
  rangedGets: number;
  /** Response body bytes of GETs (object data read). */
  getBytes: number;
  /** Request body bytes of PUTs and parts (object data written). */
  putBytes: number;
  /** All body bytes each way. */
  bytesUp: number;
  bytesDown: number;
  /** Responses with status >= 400, and connections accepted. */
  errors: number;
  connections: number;
  inFlight: number;
  peakInFlight: number;
}

export interface InFlightStats {
  /** Most requests in flight at once in the window. */
  peak: number;
  /** Time-weighted mean of the requests in flight over the moments at least one was. */
  meanWhileBusy: number;
  /** Milliseconds in the window with at least one request in flight. */
  busyMs: number;
}

/** One request, as the link saw it (times are performance.now() ms). */
export interface RequestRecord {
  kind: RequestKind;
  ranged: boolean;
  start: number;
  end?: number;
  status?: number;
  bytesUp: number;
  bytesDown: number;
}

const emptyRequests = (): Record<RequestKind, number> =>
  Object.fromEntries(REQUEST_KINDS.map((k) => [k, 0])) as Record<RequestKind, number>;

/** Counters plus a step series of (time, in flight): every change is recorded (bounded). */
export class LinkMeter {
  private c: LinkCounts = LinkMeter.zero();
  /** Change points: times (performance.now() ms) and the level from then on. */
  private times: number[] = [];
  private levels: number[] = [];
  /** Every request since the last reset (bounded like the series), for counts over a window. */
  private records: RequestRecord[] = [];
  private readonly maxPoints: number;

  constructor(maxPoints = 4_000_000) {
    this.maxPoints = maxPoints;
    this.record(performance.now());
  }

  static zero(): LinkCounts {
    return { requests: emptyRequests(), rangedGets: 0, getBytes: 0, putBytes: 0, bytesUp: 0, bytesDown: 0, errors: 0, connections: 0, inFlight: 0, peakInFlight: 0 };
  }

  /** A copy of the counters now. */
  snapshot(): LinkCounts {
    return { ...this.c, requests: { ...this.c.requests } };
  }

  /** Zeroes the counters and the series; requests in flight stay counted as in flight. */
  reset(): void {
    const inFlight = this.c.inFlight;
    this.c = LinkMeter.zero();
    this.c.inFlight = inFlight;
    this.c.peakInFlight = inFlight;
    this.times = [];
    this.levels = [];
    this.records = [];
    this.record(performance.now());
  }

  connection(): void {
    this.c.connections++;
  }

  /** A request arrived; pass the returned record to bytes() and finished(). */
  started(kind: RequestKind, ranged: boolean): RequestRecord {
    const now = performance.now();
    const r: RequestRecord = { kind, ranged: kind === 'get' && ranged, start: now, bytesUp: 0, bytesDown: 0 };
    if (this.records.length < this.maxPoints) this.records.push(r);
    this.c.requests[kind]++;
    if (r.ranged) this.c.rangedGets++;
    this.c.inFlight++;
    this.c.peakInFlight = Math.max(this.c.peakInFlight, this.c.inFlight);
    this.record(now);
    return r;
  }

  finished(r: RequestRecord, status: number): void {
    r.end = performance.now();
    r.status = status;
    if (status >= 400) this.c.errors++;
    this.c.inFlight--;
    this.record(r.end);
  }

  bytes(r: RequestRecord, direction: 'up' | 'down', n: number): void {
    const kind = r.kind;
    if (direction === 'up') r.bytesUp += n;
    else r.bytesDown += n;
    if (direction === 'up') {
      this.c.bytesUp += n;
      if (kind === 'put' || kind === 'part') this.c.putBytes += n;
    } else {
      this.c.bytesDown += n;
      if (kind === 'get') this.c.getBytes += n;
    }
  }

  private record(t: number): void {
    if (this.times.length >= this.maxPoints) return; // bounded: a window past this reads short
    this.times.push(t);
    this.levels.push(this.c.inFlight);
  }

  requestLog(): readonly RequestRecord[] {
    return this.records;
  }

  /** Peak and mean-while-busy in flight between two performance.now() times (default: all). */
  inFlightStats(from = -Infinity, to = performance.now()): InFlightStats {
    let peak = 0;
    let busyMs = 0;
    let area = 0;
    for (let i = 0; i < this.times.length; i++) {
      const start = Math.max(this.times[i]!, from);
      const end = Math.min(i + 1 < this.times.length ? this.times[i + 1]! : to, to);
      const level = this.levels[i]!;
      // A level set before the window still holds at its start; a zero-length step still counts for the peak.
      if (end < start || (end === start && this.times[i]! < from)) continue;
      peak = Math.max(peak, level);
      if (level > 0) {
        busyMs += end - start;
        area += level * (end - start);
      }
    }
    return { peak, meanWhileBusy: busyMs > 0 ? area / busyMs : 0, busyMs };
  }
}

/**
 * Counters of the requests that STARTED between two performance.now() times (their bytes
 * whenever they moved), with the in-flight figures of that window.
 */
export function countsBetween(meter: LinkMeter, from: number, to: number): LinkCounts & InFlightStats {
  const c = LinkMeter.zero();
  for (const r of meter.requestLog()) {
    if (r.start < from || r.start > to) continue;
    c.requests[r.kind]++;
    if (r.ranged) c.rangedGets++;
    c.bytesUp += r.bytesUp;
    c.bytesDown += r.bytesDown;
    if (r.kind === 'get') c.getBytes += r.bytesDown;
    if (r.kind === 'put' || r.kind === 'part') c.putBytes += r.bytesUp;
    if ((r.status ?? 0) >= 400) c.errors++;
  }
  const w = meter.inFlightStats(from, to);
  return { ...c, peakInFlight: w.peak, ...w };
}

/** Counters accumulated since `before` (in-flight fields are taken from `after`). */
export function countsSince(before: LinkCounts, after: LinkCounts): LinkCounts {
  const requests = emptyRequests();
  for (const k of REQUEST_KINDS) requests[k] = after.requests[k] - before.requests[k];
  return {
    requests,
    rangedGets: after.rangedGets - before.rangedGets,
    getBytes: after.getBytes - before.getBytes,
    putBytes: after.putBytes - before.putBytes,
    bytesUp: after.bytesUp - before.bytesUp,
    bytesDown: after.bytesDown - before.bytesDown,
    errors: after.errors - before.errors,
    connections: after.connections - before.connections,
    inFlight: after.inFlight,
    peakInFlight: after.peakInFlight,
  };
}
