// The CSI node e2e driver: runs INSIDE the UML guest (started by csi-node.test.ts), plays
// kubelet against the real node plugin (`s3files node`, a child process here, whose
// ExecMounter runs mount(8) with the guest's kernel NFS client against the plugin's own NFS
// server on the guest's loopback), and records every check in $OUT/results.json for the host
// test to assert on. No statd runs in the guest, as in the plugin's container: the mount works
// because s3files passes `nolock`. The volume is linked to a bucket of Ceph RGW on the host,
// which the guest reaches at HOST_IP through the test's namespace bridge; the node-stage
// secrets carry the RGW keys.
//
// Order: plugin up → Identity / NodeGetInfo → stage ×2 → publish rw + ro (+ a repeat) → the
// object put before staging read back → coherence and EROFS → ffmpeg through the rw target →
// NodeGetVolumeStats → sync metrics → SIGKILL + restart of the plugin under an fsync'ing writer
// (then stage/publish again: idempotent after a restart; what was pending is uploaded at once
// by the reopened volume) → ffmpeg outputs copied out after
// drop_caches → unstage-while-published refused → a file written → unpublish ×2 (+ a gone
// target) → unstage, and that file in the bucket at once → unstage again → metrics gone → no
// mount of ours left → SIGTERM exits 0.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { readMountInfo, type MountInfo } from '../../pkg/mount/mountinfo';
import { S3Store } from '../../pkg/s3/s3-store';
import {
  CheckRecorder, CsiClient, E2E_LAST_FILE, E2E_PRE_OBJECT, E2E_PREFIX, e2eS3FromEnv, e2eVolume, FFMPEG_OUTPUTS, GUEST_PATHS as P, NodePlugin,
} from '../support/csi-guest';
import { checkCoherence, checkReadOnly, runFfmpeg, waitAcked } from './csi-node-files';

const WRITER_RECORDS_BETWEEN = 40;
const DOWN_MS = 1500;

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

const S3 = e2eS3FromEnv();
const E2E_VOLUME = e2eVolume(S3);
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');
const capability = { mount: { fs_type: '', mount_flags: [] }, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } };
const stageReq = { volume_id: E2E_VOLUME.id, staging_target_path: P.staging, volume_capability: capability, volume_context: E2E_VOLUME.context, secrets: E2E_VOLUME.secrets };
const publishReq = (target: string, readonly: boolean): object => ({ ...stageReq, target_path: target, readonly });
const statsReq = (volumePath: string): object => ({ volume_id: E2E_VOLUME.id, volume_path: volumePath });

function must(cond: boolean, message: string): void {
  if (!cond) throw new Error(message);
}

function mountAt(mounts: MountInfo[], target: string): MountInfo | undefined {
  return mounts.filter((m) => m.target === target).pop();
}

/** Stage twice (both OK); the staging path is an NFSv3 mount from loopback with our options. */
async function stageTwice(c: CsiClient): Promise<object> {
  await c.nodeCall('NodeStageVolume', stageReq);
  await c.nodeCall('NodeStageVolume', stageReq);
  const m = mountAt(await readMountInfo(), P.staging);
  must(m !== undefined && m.fstype === 'nfs', `no nfs mount at ${P.staging}`);
  const staged = m as MountInfo;
  must(/^127\.0\.0\.1:\/v-[0-9a-f]{32}$/.test(staged.source), `unexpected source ${staged.source}`);
  for (const opt of ['vers=3', 'hard', 'proto=tcp', 'port=20490', 'mountport=20490', 'local_lock=all', 'nolock']) {
    must(staged.superOptions.includes(opt), `${opt} missing from ${staged.superOptions.join(',')}`);
  }
  return { source: staged.source, superOptions: staged.superOptions };
}

/** Publish rw and ro, then rw again (OK): binds of the staged mount, ro only where asked. */
async function publishBoth(c: CsiClient): Promise<object> {
  await c.nodeCall('NodePublishVolume', publishReq(P.targetRw, false));
  await c.nodeCall('NodePublishVolume', publishReq(P.targetRo, true));
  await c.nodeCall('NodePublishVolume', publishReq(P.targetRw, false));
  const mounts = await readMountInfo();
  const [st, rw, ro] = [mountAt(mounts, P.staging), mountAt(mounts, P.targetRw), mountAt(mounts, P.targetRo)];
  must(!!st && !!rw && !!ro, 'a target is not mounted');
  must(rw?.device === st?.device && ro?.device === st?.device, 'targets are not binds of the staged mount');
  must(rw?.options.includes('rw') === true && ro?.options.includes('ro') === true, `per-mount options rw=${rw?.options} ro=${ro?.options}`);
  return { rw: rw?.options, ro: ro?.options };
}

/** What the tree under dir takes: bytes of its regular files (each rounded up to 4 KiB) and its entries. */
async function treeUsage(dir: string): Promise<{ bytes: number; entries: number }> {
  const sum = { bytes: 0, entries: 0 };
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    sum.entries += 1;
    if (e.isFile()) sum.bytes += Math.ceil((await stat(p)).size / 4096) * 4096;
    if (e.isDirectory()) {
      const sub = await treeUsage(p);
      sum.bytes += sub.bytes;
      sum.entries += sub.entries;
    }
  }
  return sum;
}

/**
 * NodeGetVolumeStats through both targets: BYTES total is the volume's capacity, used is what
 * the files under the mount take (within 1 MiB + 2%: directories and rounding), and INODES
 * used counts every entry plus the root.
 */
async function volumeStats(c: CsiClient): Promise<object> {
  type Usage = { unit: string; total: number; used: number; available: number };
  const tree = await treeUsage(P.targetRw);
  const res = await c.nodeCall<{ usage: Usage[] }>('NodeGetVolumeStats', statsReq(P.targetRw));
  const b = res.usage.find((u) => u.unit === 'BYTES');
  const i = res.usage.find((u) => u.unit === 'INODES');
  if (!b || !i) throw new Error(`usage lacks BYTES or INODES: ${JSON.stringify(res.usage)}`);
  must(b.total === E2E_VOLUME.capacityBytes, `BYTES total ${b.total}, want the capacity ${E2E_VOLUME.capacityBytes}`);
  must(b.used >= tree.bytes && b.used <= tree.bytes * 1.02 + (1 << 20), `BYTES used ${b.used}, but the files under the mount take ${tree.bytes}`);
  must(b.available > 0 && b.used + b.available <= b.total, `BYTES available ${b.available} with used ${b.used} of ${b.total}`);
  must(i.used === tree.entries + 1, `INODES used ${i.used}, but the mount holds ${tree.entries} entries + the root`);
  must(i.total > i.used && i.available > 0 && i.used + i.available <= i.total, `INODES ${JSON.stringify(i)}`);
  const viaRo = await c.nodeCall<{ usage: Usage[] }>('NodeGetVolumeStats', statsReq(P.targetRo));
  must(JSON.stringify(viaRo.usage) === JSON.stringify(res.usage), `stats through the ro target differ: ${JSON.stringify(viaRo.usage)}`);
  return { bytes: b, inodes: i, tree };
}

interface RestartOutcome {
  ackedAtKill: number;
  resumedAfterMs: number;
  finalAcked: number;
  stalls: unknown;
}

/**
 * restart-writer.py appends fsync'd records (plus unstable chunks, a held O_DIRECT fd and its
 * cwd) under the rw target; the plugin is SIGKILLed, stays down DOWN_MS, and starts again from
 * its cache dir. The writer must resume with the same open files and end without an error.
 */
async function restartUnderWriter(plugin: NodePlugin, out: string, setClient: (c: CsiClient) => void): Promise<RestartOutcome> {
  const progress = path.join(out, 'progress.json');
  const stopFile = path.join(out, 'stop-writer');
  await mkdir(path.join(P.targetRw, 'writer'));
  const writer = spawn('/usr/bin/python3', [
    path.join(env('WORKLOADS'), 'restart-writer.py'), path.join(P.targetRw, 'writer'),
    '--progress', progress, '--until', stopFile, '--bulk', '--drop-caches', '--min-records', '100', '--interval-ms', '5',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => writer.once('exit', (code) => { exitCode = code ?? -1; resolve(); }));
  try {
    const before = await waitAcked(progress, WRITER_RECORDS_BETWEEN, 120_000, () => exitCode !== undefined);
    await plugin.kill();
    await new Promise((r) => setTimeout(r, DOWN_MS)); // the writer blocks in fsync meanwhile
    setClient(await plugin.start());
    const restarted = Date.now();
    await waitAcked(progress, before.acked + WRITER_RECORDS_BETWEEN, 120_000, () => exitCode !== undefined);
    const resumedAfterMs = Date.now() - restarted;
    await writeFile(stopFile, 'stop\n');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 180_000))]);
    must(exitCode === 0, `writer exit status ${exitCode ?? '(still running)'}`);
    const final = await waitAcked(progress, 0, 1_000, () => false);
    must(final.done && final.ok && final.errors.length === 0, `writer did not finish cleanly: ${JSON.stringify(final)}`);
    return { ackedAtKill: before.acked, resumedAfterMs, finalAcked: final.acked, stalls: final.stalls };
  } finally {
    await writeFile(stopFile, 'stop\n').catch(() => undefined);
    if (exitCode === undefined) writer.kill('SIGKILL');
  }
}

/** Reads the ffmpeg outputs back from the restarted server (page cache dropped) into $OUT/got. */
async function copyOutputs(out: string): Promise<object> {
  await writeFile('/proc/sys/vm/drop_caches', '3\n');
  await mkdir(path.join(out, 'got'), { recursive: true });
  for (const name of FFMPEG_OUTPUTS) await copyFile(path.join(P.targetRw, 'ff', name), path.join(out, 'got', name));
  return { copied: FFMPEG_OUTPUTS.length };
}

async function expectCode(c: CsiClient, method: string, req: object, code: status): Promise<object> {
  const r = await c.nodeCallCode(method, req);
  must(r.code === code, `${method} answered ${status[r.code]} (${r.details}), want ${status[code]}`);
  return { details: r.details };
}

async function unpublishAll(c: CsiClient): Promise<object> {
  for (const t of [P.targetRw, P.targetRo]) {
    await c.nodeCall('NodeUnpublishVolume', { volume_id: E2E_VOLUME.id, target_path: t });
    must(!(await stat(t).catch(() => undefined)), `${t} still exists after NodeUnpublishVolume`);
  }
  await c.nodeCall('NodeUnpublishVolume', { volume_id: E2E_VOLUME.id, target_path: P.targetRw }); // gone target
  await c.nodeCall('NodeUnpublishVolume', { volume_id: E2E_VOLUME.id, target_path: '/run/kubelet/pods/never/mount' });
  return {};
}

/** The object put into the bucket before staging, read through the rw target: the bucket's bytes. */
async function objectPutBefore(out: string): Promise<object> {
  const data = await readFile(path.join(P.targetRw, E2E_PRE_OBJECT));
  await mkdir(path.join(out, 'got'), { recursive: true });
  await writeFile(path.join(out, 'got', 'put-before.bin'), data);
  must(md5(data) === env('PRE_MD5'), `${E2E_PRE_OBJECT}: md5 ${md5(data)} (${data.length} bytes) through the mount, ${env('PRE_MD5')} in the bucket`);
  return { bytes: data.length };
}

const STATUS_URL = `http://${P.statusListen}`;

async function volumeSeries(): Promise<string[]> {
  const text = await (await fetch(`${STATUS_URL}/metrics`)).text();
  return text.split('\n').filter((l) => l.includes(`export="${E2E_VOLUME.id}"`));
}

async function volumeState(): Promise<string | undefined> {
  const st = (await (await fetch(`${STATUS_URL}/status`)).json()) as { volumes: Record<string, { state?: string }> };
  return st.volumes[E2E_VOLUME.id]?.state;
}

const PUT_COUNTED = /^s3files_sync_operations_total\{[^}]*op="put"[^}]*\} [1-9]/;

/**
 * Before the restart: the node's /metrics has the volume's sync series with the files written
 * so far pending (the volume's syncDelay is an hour: nothing uploaded yet, none counted), and
 * /status the volume as staged.
 */
async function syncMetrics(): Promise<object> {
  const series = await volumeSeries();
  const pending = series.find((l) => l.startsWith('s3files_sync_pending_bytes{'));
  must(pending !== undefined && Number(pending.split(' ').pop()) > 0, `s3files_sync_pending_bytes of the volume: ${pending ?? 'missing'}`);
  must(!series.some((l) => PUT_COUNTED.test(l)), `uploads before the volume's sync delay: ${series.filter((l) => l.startsWith('s3files_sync_operations_total')).join(' | ')}`);
  const state = await volumeState();
  must(state === 'staged', `/status says the volume is ${state}`);
  return { pending: Number(pending?.split(' ').pop()), state };
}

/** After the restart: the reopened volume uploads what was pending at once (within 60 s). */
async function syncAfterRestart(): Promise<object> {
  const deadline = Date.now() + 60_000;
  let series = await volumeSeries();
  while (!series.some((l) => PUT_COUNTED.test(l)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    series = await volumeSeries();
  }
  const puts = series.filter((l) => l.startsWith('s3files_sync_operations_total'));
  must(series.some((l) => PUT_COUNTED.test(l)), `no upload counted 60 s after the restart: ${puts.join(' | ')}`);
  return { operations: puts };
}

let lastFile: Buffer | undefined;

/** A file written (and closed: NFS COMMIT) through the rw target right before unpublish + unstage. */
async function writeLastFile(): Promise<object> {
  const data = randomBytes(3 * 1024 * 1024 + 17);
  await mkdir(path.dirname(path.join(P.targetRw, E2E_LAST_FILE)), { recursive: true });
  await writeFile(path.join(P.targetRw, E2E_LAST_FILE), data);
  lastFile = data;
  return { bytes: data.length, md5: md5(data) };
}

/**
 * NodeUnstageVolume, then at once (no polling) the last file must be in the bucket with its
 * bytes: Unstage returns once the volume's changes are in S3 (S3 is up here), and the volume is
 * closed (not draining in the background).
 */
async function unstageSynced(c: CsiClient, store: S3Store): Promise<object> {
  const started = Date.now();
  await c.nodeCall('NodeUnstageVolume', { volume_id: E2E_VOLUME.id, staging_target_path: P.staging });
  const unstageMs = Date.now() - started;
  must(lastFile !== undefined, 'the last file was not written');
  const key = `${E2E_PREFIX}/${E2E_LAST_FILE}`;
  const got = await store.getBuffer(key).catch((err: Error) => {
    throw new Error(`${key} is not in the bucket when NodeUnstageVolume returned (${unstageMs} ms): ${err.message}`);
  });
  must(got.data.equals(lastFile as Buffer), `${key}: ${got.data.length} bytes in the bucket (md5 ${md5(got.data)}), want ${(lastFile as Buffer).length} (${md5(lastFile as Buffer)})`);
  const state = await volumeState();
  must(state === undefined, `after Unstage the node still holds the volume (${state})`);
  return { unstageMs, bytes: got.data.length };
}

async function unstageAgain(c: CsiClient): Promise<object> {
  await c.nodeCall('NodeUnstageVolume', { volume_id: E2E_VOLUME.id, staging_target_path: P.staging });
  return {};
}

/** After Unstage, the volume's series are gone from /metrics. */
async function metricsReleased(): Promise<object> {
  const series = await volumeSeries();
  must(series.length === 0, `series of the unstaged volume remain: ${series.slice(0, 3).join(' | ')}`);
  return {};
}

/** Nothing of ours in the guest's mount table: no NFS mount from the plugin, nothing under the kubelet dir. */
async function noLeftoverMounts(out: string): Promise<object> {
  const mounts = await readMountInfo();
  await writeFile(path.join(out, 'proc-mounts-after.txt'), mounts.map((m) => `${m.source} ${m.target} ${m.fstype} ${m.options.join(',')}`).join('\n'));
  const ours = mounts.filter((m) => m.source.startsWith('127.0.0.1:') || m.fstype.startsWith('nfs') || m.target.startsWith(`${P.kubeletRoot}/`));
  must(ours.length === 0, `left over: ${ours.map((m) => `${m.source} on ${m.target}`).join('; ')}`);
  return { mounts: mounts.length };
}

async function main(): Promise<void> {
  const out = env('OUT');
  const rec = new CheckRecorder(path.join(out, 'results.json'));
  await mkdir(P.kubeletRoot, { recursive: true });
  const plugin = new NodePlugin({
    socketPath: P.socket, nodeId: 'n1', cacheDir: P.cacheDir, nfsListen: P.nfsListen, logFile: path.join(out, 'node-plugin.log'),
    extraArgs: ['--status-listen', P.statusListen],
  });
  const store = new S3Store({ bucket: S3.bucket, endpoint: S3.endpoint, region: S3.region, forcePathStyle: true, credentials: { accessKeyId: S3.accessKeyId, secretAccessKey: S3.secretAccessKey } });
  let client: CsiClient | undefined;
  await rec.check('plugin-start', async () => {
    client = await plugin.start();
    return { pid: plugin.pid };
  });
  if (!client) return rec.finish();
  const c = (): CsiClient => client as CsiClient;
  await rec.check('identity-and-info', async () => {
    const info = await c().identityCall<{ name: string }>('GetPluginInfo', {});
    const node = await c().nodeCall<{ node_id: string }>('NodeGetInfo', {});
    const caps = await c().nodeCall<{ capabilities: { rpc: { type: string } }[] }>('NodeGetCapabilities', {});
    must(info.name === 's3files.csi.io' && node.node_id === 'n1', `GetPluginInfo ${info.name}, NodeGetInfo ${node.node_id}`);
    must(caps.capabilities.map((x) => x.rpc.type).join() === 'STAGE_UNSTAGE_VOLUME,GET_VOLUME_STATS', 'node capabilities');
    return { name: info.name, nodeId: node.node_id };
  });
  const staged = await rec.check('stage-twice', () => stageTwice(c()));
  const published = staged && (await rec.check('publish-rw-ro', () => publishBoth(c())));
  if (published) {
    await rec.check('object-put-before', () => objectPutBefore(out));
    await rec.check('coherence', () => checkCoherence(P.targetRw, P.targetRo));
    await rec.check('read-only-erofs', () => checkReadOnly(P.targetRw, P.targetRo));
    const sizes = await rec.check('ffmpeg', () => runFfmpeg(env('WORKLOADS'), env('FFMPEG_INPUT'), P.targetRw, P.targetRo, out, FFMPEG_OUTPUTS));
    await rec.check('volume-stats', () => volumeStats(c()));
    await rec.check('sync-metrics', () => syncMetrics());
    await rec.check('restart-under-writer', () => restartUnderWriter(plugin, out, (x) => {
      client?.close();
      client = x;
    }));
    await rec.check('idempotent-after-restart', async () => {
      await c().nodeCall('NodeStageVolume', stageReq);
      await c().nodeCall('NodePublishVolume', publishReq(P.targetRw, false));
      await c().nodeCall('NodePublishVolume', publishReq(P.targetRo, true));
      return {};
    });
    // The restarted plugin reopened the cache: its space accounting must still match the files.
    await rec.check('volume-stats-after-restart', () => volumeStats(c()));
    await rec.check('sync-after-restart', () => syncAfterRestart());
    if (sizes) await rec.check('copy-ffmpeg-outputs', () => copyOutputs(out));
    await rec.check('unstage-while-published', () => expectCode(c(), 'NodeUnstageVolume', { volume_id: E2E_VOLUME.id, staging_target_path: P.staging }, status.FAILED_PRECONDITION));
    await rec.check('write-before-unstage', () => writeLastFile());
  } else {
    for (const n of ['object-put-before', 'coherence', 'read-only-erofs', 'ffmpeg', 'volume-stats', 'sync-metrics', 'restart-under-writer']) rec.notRun(n, 'stage or publish failed');
  }
  // Clean-up runs whatever failed above, so that the mount-table check means something.
  await rec.check('unpublish', () => unpublishAll(c()));
  await rec.check('unstage-synced', () => unstageSynced(c(), store));
  await rec.check('unstage-again', () => unstageAgain(c()));
  await rec.check('metrics-released', () => metricsReleased());
  store.destroy();
  await rec.check('no-leftover-mounts', () => noLeftoverMounts(out));
  await rec.check('plugin-sigterm', async () => {
    c().close();
    const code = await plugin.stop();
    must(code === 0, `s3files node exited ${code} on SIGTERM`);
    return { starts: plugin.starts };
  });
  rec.finish();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`[driver] crashed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
