// Prometheus metrics of linked exports: the upload queue (pending files and bytes, queued
// deletions, jobs, failures, last success), what the reconciler did (operations, bytes sent and
// copied server-side, conflicts, errors) and what lazy import did (listings, skipped keys,
// bytes fetched, bytes evicted). Values are read from the registered exports at scrape time.
import { Counter, Gauge } from 'prom-client';
import { metrics } from './registry';

export interface ExportSyncSource {
  status(): {
    pendingFiles: number;
    pendingBytes: number;
    tombstones: number;
    queued: number;
    running: number;
    failing: number;
    lastSyncAt?: string;
    stats: Record<string, number>;
    uploading?: Array<{ size: number; doneBytes: number }>;
    unsyncable?: number;
  };
  counters(): { fetchedBytes: number; fetchRequests: number; streamedBytes: number; listings: number; skippedKeys: number; attributeReads: number; wholeImports: number; evictedFiles: number; evictedBytes: number };
}

const sources = new Map<string, ExportSyncSource>();
let installed = false;

/**
 * One reading of a source serves every metric of a scrape: status() walks the upload queue,
 * and twenty-odd collectors each asking for it would walk it twenty-odd times (and could see
 * it change half-way through the scrape).
 */
const READING_TTL_MS = 1000;
const readings = new WeakMap<ExportSyncSource, { at: number; status: ReturnType<ExportSyncSource['status']>; counters: ReturnType<ExportSyncSource['counters']> }>();

function read(source: ExportSyncSource): { status: ReturnType<ExportSyncSource['status']>; counters: ReturnType<ExportSyncSource['counters']> } {
  const now = Date.now();
  let r = readings.get(source);
  if (!r || now - r.at > READING_TTL_MS) {
    r = { at: now, status: source.status(), counters: source.counters() };
    readings.set(source, r);
  }
  return r;
}

/** Reports `source` under label export="name" until the returned function is called. */
export function registerExportSync(name: string, source: ExportSyncSource): () => void {
  install();
  sources.set(name, source);
  return () => {
    if (sources.get(name) === source) sources.delete(name);
  };
}

type Read = (status: ReturnType<ExportSyncSource['status']>, counters: ReturnType<ExportSyncSource['counters']>) => number;

function gauge(name: string, help: string, value: Read): void {
  new Gauge({
    name, help, labelNames: ['export'], registers: [metrics().registry],
    collect() {
      this.reset();
      for (const [exp, s] of sources) {
        const { status, counters } = read(s);
        this.set({ export: exp }, value(status, counters));
      }
    },
  });
}

/** A counter whose value is the source's own running total (reset and set at each scrape). */
function total(name: string, help: string, extra: string[], values: (s: ReturnType<ExportSyncSource['status']>, c: ReturnType<ExportSyncSource['counters']>) => Array<[Record<string, string>, number]>): void {
  new Counter({
    name, help, labelNames: ['export', ...extra], registers: [metrics().registry],
    collect() {
      this.reset();
      for (const [exp, src] of sources) {
        const { status, counters } = read(src);
        for (const [labels, v] of values(status, counters)) this.inc({ export: exp, ...labels }, v);
      }
    },
  });
}

function install(): void {
  if (installed) return;
  installed = true;
  gauge('s3files_sync_pending_files', 'Files and directories changed locally and not yet in the bucket', (s) => s.pendingFiles);
  gauge('s3files_sync_pending_bytes', 'Size of the regular files not yet in the bucket', (s) => s.pendingBytes);
  gauge('s3files_sync_pending_deletes', 'Keys queued for deletion from the bucket', (s) => s.tombstones);
  gauge('s3files_sync_queue_length', 'Sync jobs scheduled or running', (s) => s.queued + s.running);
  gauge('s3files_sync_uploading_files', 'Uploads of file contents on the wire now', (s) => s.uploading?.length ?? 0);
  gauge('s3files_sync_uploading_bytes', 'Size of the files being uploaded now', (s) => (s.uploading ?? []).reduce((n, u) => n + u.size, 0));
  gauge('s3files_sync_uploading_done_bytes', 'Bytes of the uploads on the wire already in the bucket (part by part)', (s) => (s.uploading ?? []).reduce((n, u) => n + u.doneBytes, 0));
  gauge('s3files_sync_unsyncable_files', 'Files and directories kept on the node only: their key would exceed S3\'s 1,024 bytes (PathTooLong)', (s) => s.unsyncable ?? 0);
  gauge('s3files_sync_failing_jobs', 'Sync jobs whose last attempt failed (being retried)', (s) => s.failing);
  gauge('s3files_sync_last_success_timestamp_seconds', 'When a sync job last succeeded', (s) => (s.lastSyncAt ? Date.parse(s.lastSyncAt) / 1000 : 0));
  total('s3files_sync_operations_total', 'Bucket operations done by the reconciler', ['op'], (s) => [
    [{ op: 'put' }, s.stats.puts ?? 0],
    [{ op: 'multipart' }, s.stats.multipartUploads ?? 0],
    [{ op: 'copy' }, s.stats.copies ?? 0],
    [{ op: 'marker' }, s.stats.markers ?? 0],
    [{ op: 'delete' }, s.stats.deletes ?? 0],
    [{ op: 'directory_move' }, s.stats.directoryMoves ?? 0],
  ]);
  total('s3files_sync_bytes_total', 'Bytes written to the bucket: sent, or copied server-side', ['how'], (s) => [
    [{ how: 'sent' }, s.stats.bytesSent ?? 0],
    [{ how: 'copied' }, s.stats.bytesCopied ?? 0],
  ]);
  total('s3files_sync_conflicts_total', 'Local versions moved to lost+found because the object changed in the bucket', [], (s) => [[{}, s.stats.conflicts ?? 0]]);
  total('s3files_sync_errors_total', 'Failed sync attempts (retried)', [], (s) => [[{}, s.stats.errors ?? 0]]);
  total('s3files_fetch_bytes_total', 'File data fetched from the bucket into the cache', [], (_s, c) => [[{}, c.fetchedBytes]]);
  total('s3files_fetch_requests_total', 'Ranged GETs for file data', [], (_s, c) => [[{}, c.fetchRequests]]);
  total('s3files_stream_bytes_total', 'File data read straight from the bucket by large sequential reads (not cached)', [], (_s, c) => [[{}, c.streamedBytes]]);
  total('s3files_import_listings_total', 'Directory listings imported from the bucket', [], (_s, c) => [[{}, c.listings]]);
  total('s3files_import_skipped_keys_total', 'Keys that cannot be file names, skipped by listings', [], (_s, c) => [[{}, c.skippedKeys]]);
  total('s3files_import_attribute_reads_total', 'HEADs for the attributes of listed objects', [], (_s, c) => [[{}, c.attributeReads]]);
  total('s3files_import_whole_files_total', 'Small files imported whole (one GET that brings their attributes too)', [], (_s, c) => [[{}, c.wholeImports]]);
  total('s3files_cache_evicted_bytes_total', 'Clean cached file data evicted under the cache size', [], (_s, c) => [[{}, c.evictedBytes]]);
}
