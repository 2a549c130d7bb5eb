// The CSI node plugin end to end under User-Mode Linux: `s3files node` runs INSIDE the guest
// with the real ExecMounter (mount -t nfs against its own NFS server on the guest's loopback,
// bind mounts for publish), driven over its CSI socket by csi-node-driver.ts as kubelet would.
// The guest runs no rpc.statd (as the plugin's container does not), so the NFS mount only works
// with the `nolock` s3files passes. The volume is linked to a bucket of Ceph RGW on the host:
// a namespace bridge listens on the namespace's side of the tap (HOST_IP), the volume context
// names http://HOST_IP:PORT with path-style, and the node-stage secrets carry the RGW keys.
// The driver records each check in $OUT/results.json; this file asserts on them, compares the
// ffmpeg outputs with a local-disk run byte for byte, and reads the bucket after the guest:
// the outputs and the file written right before NodeUnstageVolume must be there with the same
// bytes (the driver already checked that file the moment Unstage returned).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Store } from '../../pkg/s3/s3-store';
import { skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import {
  type CheckResult, type DriverResults, E2E_CAPACITY, E2E_LAST_FILE, E2E_PRE_OBJECT, E2E_PREFIX, E2E_S3_ENV, FFMPEG_OUTPUTS,
} from '../support/csi-guest';
import { requireE2E } from '../support/e2e';
import { tail, WORKLOADS } from '../support/e2e-steps';
import { bridgeIntoNs, type NsBridge } from '../support/ns-bridge';
import { REPO_ROOT } from '../support/s3files-server';
import { runGuest, shellQuote, TestNetwork, type GuestResult } from '../support/uml';

const rgw = skipS3() ? undefined : useSharedRgw(); // top level: one gateway for the whole run
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

const DRIVER = join(REPO_ROOT, 'dist', 'test', 'e2e', 'csi-node-driver.js');

function which(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/bin').split(':').some((d) => existsSync(join(d, cmd)));
}

(skipS3() ? describe.skip : describe)('e2e: CSI node plugin in a UML guest, linked to Ceph RGW (stage, publish, ffmpeg, SIGKILL + restart, unstage synced, clean-up)', function () {
  this.timeout(600_000);
  let net: TestNetwork | undefined;
  let guest: GuestResult | undefined;
  let results: DriverResults | undefined;
  let refDir = '';
  let gw: CephRgw;
  let store: S3Store | undefined;
  let bridge: NsBridge | undefined;
  const bucket = `csi-e2e-${Date.now().toString(36)}`;
  const preObject = randomBytes(100_000); // under the 128 KiB prefetch size: cached when listed

  before(async function () {
    requireE2E(this, [
      { ok: which('ffmpeg'), what: 'ffmpeg (apt-get install ffmpeg)' },
      { ok: existsSync('/usr/bin/python3'), what: '/usr/bin/python3' },
      { ok: existsSync(DRIVER), what: `${DRIVER} (run npx tsc -p .)` },
    ]);
    gw = await rgw!();
    await gw.createBucket(bucket);
    store = new S3Store({ bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true, credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey } });
    await store.put(`${E2E_PREFIX}/${E2E_PRE_OBJECT}`, preObject);
    net = await TestNetwork.create();
    // The guest reaches the namespace only at HOST_IP: the bridge to RGW listens there.
    bridge = await bridgeIntoNs(net, gw.port, gw.port, net.hostIp);
    const work = net.makeTempDir('csi-node');
    const input = join(work, 'in.mp4');
    refDir = join(work, 'ref');
    // The ffmpeg input and the reference outputs, made on the host's local disk.
    execFileSync('sh', [join(WORKLOADS, 'ffmpeg.sh'), 'gen', input], { stdio: 'pipe' });
    execFileSync('sh', [join(WORKLOADS, 'ffmpeg.sh'), 'run', input, refDir, join(work, 'ref-logs')], { stdio: 'pipe' });
    const script = `cd ${shellQuote(REPO_ROOT)}\nexec ${shellQuote(process.execPath)} ${shellQuote(DRIVER)}\n`;
    guest = await runGuest(net, {
      script,
      timeoutMs: 480_000,
      statd: false, // as in the plugin's container: the mount must work without rpc.statd
      env: {
        FFMPEG_INPUT: input,
        WORKLOADS,
        PRE_MD5: md5(preObject),
        [E2E_S3_ENV.bucket]: bucket,
        [E2E_S3_ENV.endpoint]: `http://${bridge.host}:${bridge.port}`,
        [E2E_S3_ENV.region]: gw.region,
        [E2E_S3_ENV.accessKeyId]: gw.accessKeyId,
        [E2E_S3_ENV.secretAccessKey]: gw.secretAccessKey,
      },
    });
    const file = join(guest.outDir, 'results.json');
    results = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as DriverResults) : undefined;
    const summary = (results?.checks ?? []).map((c) => `${c.name} ${c.ok ? 'ok' : 'FAIL'} ${(c.ms / 1000).toFixed(1)}s`).join(', ');
    // eslint-disable-next-line no-console
    console.log(`    guest ${Math.round(guest.durationMs / 1000)} s: ${summary}`);
  });

  after(async () => {
    await bridge?.close();
    await net?.destroy();
    store?.destroy();
  });

  /** The named check, asserted ok; the failure message carries the driver's error and log tails. */
  function passed(name: string): CheckResult {
    assert.ok(guest, 'the guest did not run');
    assert.ok(results, `no results.json from the driver; guest console tail:\n${tail(guest.log, 40)}`);
    const c = results.checks.find((x) => x.name === name);
    const pluginLog = existsSync(join(guest.outDir, 'node-plugin.log')) ? tail(readFileSync(join(guest.outDir, 'node-plugin.log'), 'utf8'), 15) : '(none)';
    assert.ok(c, `check ${name} did not run (driver finished: ${results.finished}); console tail:\n${tail(guest.log, 20)}`);
    assert.ok(c.ok, `${name}: ${c.error}\nnode plugin log tail:\n${pluginLog}\nconsole tail:\n${tail(guest.log, 15)}`);
    return c;
  }

  it('the node plugin starts in the guest and answers Identity, NodeGetInfo and NodeGetCapabilities', () => {
    passed('plugin-start');
    assert.deepEqual(passed('identity-and-info').data, { name: 's3files.csi.io', nodeId: 'n1' });
  });

  it('NodeStageVolume twice: OK both times; an NFSv3 mount from loopback with hard, local_lock=all and nolock (no statd)', () => {
    const data = passed('stage-twice').data as { source: string; superOptions: string[] };
    for (const opt of ['vers=3', 'hard', 'proto=tcp', 'local_lock=all', 'nolock']) assert.ok(data.superOptions.includes(opt), `${opt}: ${data.superOptions}`);
  });

  it('NodePublishVolume to a read-write and a read-only target (and a repeat) bind the staged mount', () => {
    const data = passed('publish-rw-ro').data as { rw: string[]; ro: string[] };
    assert.ok(data.rw.includes('rw') && data.ro.includes('ro'));
  });

  it('an object put into the bucket before staging shows through the published path with its bytes', () => {
    passed('object-put-before');
    assert.ok(readFileSync(join((guest as GuestResult).outDir, 'got', 'put-before.bin')).equals(preObject));
  });

  it('the two publishes see each other\'s writes at once (create, append on an open fd, rename, unlink)', () => {
    passed('coherence');
  });

  it('the read-only publish refuses every write with EROFS', () => {
    const data = passed('read-only-erofs').data as { refused: string[] };
    assert.deepEqual(data.refused, ['create', 'open for append', 'truncate', 'mkdir', 'unlink', 'rename', 'chmod', 'utimes']);
  });

  it('ffmpeg writes through the published path; the outputs, read back after the restart, equal a local-disk run', () => {
    passed('ffmpeg');
    passed('copy-ffmpeg-outputs');
    for (const name of FFMPEG_OUTPUTS) {
      const got = readFileSync(join((guest as GuestResult).outDir, 'got', name));
      const want = readFileSync(join(refDir, name));
      assert.ok(got.equals(want), `${name}: ${got.length} bytes through the CSI mount vs ${want.length} on local disk`);
    }
  });

  it('NodeGetVolumeStats: capacity = the volume\'s capacityBytes, used = what the files take, sane inodes', () => {
    type Usage = { total: number; used: number; available: number };
    const { bytes, inodes, tree } = passed('volume-stats').data as { bytes: Usage; inodes: Usage; tree: { bytes: number; entries: number } };
    assert.equal(bytes.total, E2E_CAPACITY);
    assert.ok(bytes.used >= tree.bytes && bytes.used + bytes.available <= bytes.total, JSON.stringify(bytes));
    assert.equal(inodes.used, tree.entries + 1);
    assert.ok(inodes.used < inodes.total, JSON.stringify(inodes));
  });

  it('NodeGetVolumeStats after the restart still matches the files (space accounting survives a reopen)', () => {
    passed('volume-stats-after-restart');
  });

  it('SIGKILL + restart of the node plugin while a process writes with fsync: the writer carries on without error', () => {
    const data = passed('restart-under-writer').data as { ackedAtKill: number; finalAcked: number; resumedAfterMs: number };
    assert.ok(data.finalAcked > data.ackedAtKill, JSON.stringify(data));
    // eslint-disable-next-line no-console
    console.log(`      writer: killed at ${data.ackedAtKill} records, resumed ${data.resumedAfterMs} ms after the restart, ended at ${data.finalAcked}`);
  });

  it('after the restart, stage and publish again are OK (the plugin restored its exports)', () => {
    passed('idempotent-after-restart');
  });

  it('NodeUnstageVolume while published is FAILED_PRECONDITION', () => {
    passed('unstage-while-published');
  });

  it('the node\'s /metrics has the volume\'s sync series while staged (pending bytes, then uploads once the restarted plugin reopened it), none after Unstage', () => {
    passed('sync-metrics');
    passed('sync-after-restart');
    passed('metrics-released');
  });

  it('a file written right before NodeUnpublish + NodeUnstage is in the bucket the moment NodeUnstageVolume returns', async () => {
    passed('write-before-unstage');
    const { unstageMs } = passed('unstage-synced').data as { unstageMs: number };
    // eslint-disable-next-line no-console
    console.log(`      NodeUnstageVolume (drain included) took ${unstageMs} ms`);
    const want = passed('write-before-unstage').data as { bytes: number; md5: string };
    const got = await (store as S3Store).getBuffer(`${E2E_PREFIX}/${E2E_LAST_FILE}`);
    assert.deepEqual({ bytes: got.data.length, md5: md5(got.data) }, want);
  });

  it('the FFmpeg outputs are in the bucket under the volume\'s prefix with the bytes of the local-disk run', async () => {
    passed('ffmpeg');
    for (const name of FFMPEG_OUTPUTS) {
      const got = (await (store as S3Store).getBuffer(`${E2E_PREFIX}/ff/${name}`)).data;
      const want = readFileSync(join(refDir, name));
      assert.ok(got.equals(want), `${name}: ${got.length} bytes in the bucket vs ${want.length} on local disk`);
    }
  });

  it('NodeUnpublishVolume ×2 (+ a gone target) and NodeUnstageVolume ×2 are OK, and no mount of ours is left', () => {
    passed('unpublish');
    passed('unstage-synced');
    passed('unstage-again');
    passed('no-leftover-mounts');
  });

  it('the node-stage secret never appears in the plugin\'s log', () => {
    const log = readFileSync(join((guest as GuestResult).outDir, 'node-plugin.log'), 'utf8');
    assert.ok(log.length > 0);
    assert.ok(!log.includes(gw.secretAccessKey), 'the secret key is in node-plugin.log');
  });

  it('the plugin exits 0 on SIGTERM, and the driver reached its end', () => {
    passed('plugin-sigterm');
    assert.ok(results?.finished, 'driver did not finish');
    assert.equal(guest?.exitCode, 0, `guest exit ${guest?.exitCode}`);
  });
});
