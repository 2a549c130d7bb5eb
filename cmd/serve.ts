// `s3files serve`: the NFS cache server for a set of exports linked to a bucket, outside
// Kubernetes (like `rclone serve nfs`). Without --bucket, the exports are linked to an embedded
// object store in <cache-dir>/objects, so it runs on a fresh machine with no cloud account.
import path from 'node:path';
import { logger } from '../pkg/log/logger';
import { startStatusServer, type StatusServer } from '../pkg/metrics/status-server';
import { NfsServer } from '../pkg/nfs/server';
import { parseMetadataStyle, type LinkedExport, type MetadataStyle } from '../pkg/reconcile';
import { parseImportRules } from '../pkg/cache';
import { parseBytes, parseCount, parseDuration, parseId, parseListen } from './flags';
import { waitForSignal } from './plugin-common';
import { checkCacheDir, checkEndpoint, checkExportNames, checkListen, explainLinkConflict, exposureWarning } from './serve-checks';
import { openExport, openLocalExport, openStore, type LinkSettings } from './serve-link';
import { parsePeers, startServeEvents } from './serve-events';
import { DEFAULT_SHUTDOWN_TIMEOUT, SHUTDOWN_HELP, shutDown } from './shutdown';
import { exportFileStatus } from './status';
import { parseModeFlags } from './mode-flags';

const HELP = `usage: s3files serve [flags]

  --cache-dir DIR        where metadata and cached data live (default ./.s3files)
  --listen HOST:PORT     address for NFSv3 and MOUNTv3 (default 127.0.0.1:20490)
  --export NAME[,NAME]   exports to serve; clients mount HOST:/NAME (default data)
  --capacity SIZE        per-export capacity limit, e.g. 100G (default: the cache disk)
  --read-only            refuse every change
  --root-squash          map uid 0, gid 0 and group 0 to the anonymous uid/gid
  --all-squash           map every caller to the anonymous uid/gid
  --anon-uid N, --anon-gid N   the anonymous identity (default 65534)

  --bucket B             link the exports to S3 bucket B (default: an embedded object store
                         in CACHE_DIR/objects)
  --local                link to nothing: plain NFS exports of local file systems under
                         CACHE_DIR/local (nothing is uploaded; the S3 flags do not apply)
  --prefix P             key prefix in the bucket; with several exports each gets P/NAME/
  --endpoint URL         S3-compatible endpoint (default: AWS S3)
  --region R             region (default: AWS_REGION, else us-east-1)
  --path-style           path-style addressing (most S3-compatible servers need it)
  --sync-delay DURATION  quiet time before a changed file is uploaded (default 2s)
  --dir-ttl DURATION     a listed directory is listed again after this (default 30s)
  --cache-size SIZE      clean cached data above this is evicted, LRU (default 10G)
  --prefetch-small SIZE  files up to SIZE are fetched when their directory is first listed
                         (default 128K; 0 turns it off)
  --import-rules RULES   which small files are imported whole, and when, per key prefix:
                         PREFIX:SIZE:TRIGGER[,...], files strictly smaller than SIZE; TRIGGER
                         directory (when first listed) or file (when first looked up), e.g.
                         ':128K:directory,logs/:0:file' (default: --prefetch-small's one rule)
  --upload-jobs N        files uploaded (or deletions, copies of a move) at once (default 32;
                         at most 4 while clients are writing)
  --import-requests N    requests at once reading what listings left to import: metadata and
                         small files (default 32)
  --metadata-style S     owner/mode keys written on objects: s3fs (default: x-amz-meta-mode,
                         -uid, -gid, -mtime), s3files (Amazon S3 Files': x-amz-meta-file-owner,
                         -file-group, -file-permissions, -file-mtime) or both; all are read
  --sync-on-commit       COMMIT (fsync, close) returns only once the file is in the bucket
  --sync-on-commit-timeout DURATION   ... or fails with EIO after this (default 60s)
  --status-listen HOST:PORT   HTTP /metrics, /status, /status/file (default: off)
  --events-listen HOST:PORT   receive bucket notifications (Ceph RGW topics, MinIO webhooks)
                         and other servers' notices: POST /events[/EXPORT] (default: off)
  --events-token T       shared token the events endpoint requires and --peers are sent
                         (default: S3FILES_EVENTS_TOKEN; required off loopback)
  --events-sqs URL       read the bucket's events from this SQS queue (S3 Event Notifications
                         or EventBridge), on AWS
  --peers URL[,URL]      other s3files servers on the same bucket (their --events-listen, e.g.
                         http://10.0.0.2:9810): told of every upload and delete at once
${SHUTDOWN_HELP}
  --log-level LEVEL      error, warn, info (default) or debug

Credentials come from the AWS_* environment variables or the SDK's default chain
(profile, IRSA, EKS Pod Identity, instance role); they are never logged.

mount with:
  mount -t nfs -o vers=3,proto=tcp,port=PORT,mountport=PORT,mountproto=tcp,local_lock=all,nolock HOST:/NAME /mnt`;

export async function serveCommand(argv: string[]): Promise<number> {
  const values = parseModeFlags(
    argv,
    {
      'cache-dir': { type: 'string', default: '.s3files' },
      listen: { type: 'string', default: '127.0.0.1:20490' },
      export: { type: 'string', default: 'data' },
      capacity: { type: 'string' },
      'read-only': { type: 'boolean', default: false },
      'root-squash': { type: 'boolean', default: false },
      'all-squash': { type: 'boolean', default: false },
      'anon-uid': { type: 'string', default: '65534' },
      'anon-gid': { type: 'string', default: '65534' },
      bucket: { type: 'string' },
      local: { type: 'boolean', default: false },
      prefix: { type: 'string', default: '' },
      endpoint: { type: 'string' },
      region: { type: 'string' },
      'path-style': { type: 'boolean', default: false },
      'sync-delay': { type: 'string', default: '2s' },
      'dir-ttl': { type: 'string', default: '30s' },
      'cache-size': { type: 'string', default: '10G' },
      'prefetch-small': { type: 'string', default: '128K' },
      'upload-jobs': { type: 'string', default: '32' },
      'import-requests': { type: 'string', default: '32' },
      'import-rules': { type: 'string' },
      'sync-on-commit': { type: 'boolean', default: false },
      'sync-on-commit-timeout': { type: 'string', default: '60s' },
      'status-listen': { type: 'string' },
      'metadata-style': { type: 'string', default: 's3fs' },
      'events-listen': { type: 'string' },
      'events-token': { type: 'string' },
      'events-sqs': { type: 'string' },
      peers: { type: 'string' },
      'shutdown-timeout': { type: 'string', default: DEFAULT_SHUTDOWN_TIMEOUT },
    },
    HELP,
  );
  if (!values) return 0;
  const log = logger('serve');
  const cacheDir = path.resolve(values['cache-dir']);
  const { host, port } = parseListen(values.listen);
  const names = values.export.split(',').map((s) => s.trim()).filter(Boolean);
  // Everything is checked before the cache directory is touched: a mistake costs nothing.
  checkExportNames(names);
  checkEndpoint(values.endpoint);
  const shutdownTimeoutMs = parseDuration(values['shutdown-timeout'], '--shutdown-timeout');
  const statusListen = values['status-listen'] ? parseListen(values['status-listen'], '--status-listen') : undefined;
  const settings: LinkSettings = {
    bucket: values.bucket,
    prefix: values.prefix,
    endpoint: values.endpoint,
    region: values.region,
    pathStyle: values['path-style'],
    syncDelayMs: parseDuration(values['sync-delay'], '--sync-delay'),
    dirTtlMs: parseDuration(values['dir-ttl'], '--dir-ttl'),
    cacheSizeBytes: parseBytes(values['cache-size']),
    capacityBytes: values.capacity ? parseBytes(values.capacity) : undefined,
    prefetchBytes: parseBytes(values['prefetch-small']),
    uploadJobs: parseCount(values['upload-jobs'], '--upload-jobs'),
    importRequests: parseCount(values['import-requests'], '--import-requests'),
    importRules: values['import-rules'] !== undefined ? parseImportRules(values['import-rules'], '--import-rules') : undefined,
    metadataStyle: metadataStyleFlag(values['metadata-style']),
    syncOnCommitMs: values['sync-on-commit'] ? parseDuration(values['sync-on-commit-timeout'], '--sync-on-commit-timeout') : undefined,
  };
  const exportOptions = {
    readOnly: values['read-only'],
    rootSquash: values['root-squash'],
    allSquash: values['all-squash'],
    anonUid: parseId(values['anon-uid'], '--anon-uid'),
    anonGid: parseId(values['anon-gid'], '--anon-gid'),
  };

  if (values.local && values.bucket) throw new Error('--local and --bucket exclude each other');
  await checkListen(host, port, '--listen');
  if (statusListen) await checkListen(statusListen.host, statusListen.port, '--status-listen');
  const exposed = exposureWarning(host, exportOptions);
  if (exposed) log.warn(exposed);
  await checkCacheDir(cacheDir);

  // --local: no object store; the caches live apart from linked ones (serve-link.ts).
  const opened = values.local ? undefined : await openStore(cacheDir, settings);
  const server = await NfsServer.create({ stateDir: cacheDir, logger: logger('nfs') });
  const exports = new Map<string, LinkedExport>();
  const unregister: Array<() => void> = [];
  for (const name of names) {
    if (!opened) {
      server.addExport(name, await openLocalExport(cacheDir, name, settings.capacityBytes), exportOptions);
      continue;
    }
    const { linked, unregister: off } = await openExport(cacheDir, name, names.length, opened, settings).catch((err: unknown) => {
      throw explainLinkConflict(err, cacheDir, name) ?? err;
    });
    exports.set(name, linked);
    unregister.push(off);
    server.addExport(name, linked.fs, exportOptions);
  }
  const events = opened && settings.bucket !== undefined
    ? await startServeEvents({
      bucket: settings.bucket,
      listen: values['events-listen'],
      token: values['events-token'] ?? process.env.S3FILES_EVENTS_TOKEN,
      sqsQueueUrl: values['events-sqs'],
      region: settings.region,
      peers: parsePeers(values.peers),
    }, exports)
    : undefined;
  if (!events && (values['events-listen'] || values['events-sqs'] || values.peers)) throw new Error('--events-listen, --events-sqs and --peers need --bucket');
  let status: StatusServer | undefined;
  if (statusListen) {
    const s = statusListen;
    const exportStatus = (n: string) => {
      const e = exports.get(n);
      return e ? { prefix: e.keys.prefix, ...e.reconciler.status() } : { local: true };
    };
    status = await startStatusServer(s.host, s.port, {
      status: () => ({ exports: Object.fromEntries(names.map((n) => [n, exportStatus(n)])), ...(events ? { events: events.status() } : {}) }),
      fileStatus: (exp, p) => exportFileStatus(exports.get(exp), p),
    });
    log.info('status endpoint', { address: status.address.address, port: status.address.port });
  }
  const address = await server.listen(host, port);
  log.info('serving', { address: address.address, port: address.port, exports: names, cacheDir, local: values.local, bucket: settings.bucket ?? null, prefix: settings.prefix });

  const signal = await waitForSignal();
  log.info('shutting down', { signal, timeoutMs: shutdownTimeoutMs });
  const running = () => Object.fromEntries([...exports].map(([n, e]) => { const s = e.reconciler.status(); return [n, { running: s.running, pendingFiles: s.pendingFiles }]; }));
  const finished = await shutDown(
    [
      ...(status ? [{ name: 'status endpoint', run: () => status.close() }] : []),
      // No event may reach a cache after this (feeds wait for what they are applying).
      ...(events ? [{ name: 'events', run: () => events.close() }] : []),
      // The port first: clients stop getting answers from a server that is going away, and
      // a new server can bind it while this one waits for S3.
      { name: 'NFS port', run: () => server.stopServing() },
      // Running uploads finish or are abandoned; what is queued stays queued on disk.
      { name: 'uploads in progress', run: async () => void (await Promise.all([...exports.values()].map((e) => e.reconciler.stop()))), pending: () => ({ exports: running() }) },
      { name: 'exports', run: () => server.close() },
    ],
    { log, timeoutMs: shutdownTimeoutMs },
  );
  if (!finished) return 1;
  for (const off of unregister) off();
  opened?.close();
  log.info('stopped');
  return 0;
}

function metadataStyleFlag(value: string): MetadataStyle {
  const style = parseMetadataStyle(value);
  if (!style) throw new Error(`--metadata-style must be s3fs, s3files or both (got ${JSON.stringify(value)})`);
  return style;
}
