// The export linked to a real bucket, through the real Linux NFS client (UML): `s3files serve
// --bucket` inside the test network reaches Ceph RGW on the host through a namespace bridge.
// The guest reads objects that were put into the bucket directly (with and without metadata),
// writes a tree (files, chmod, symlink, rename, rm, mkdir) and the FFmpeg outputs; then every
// one of them must appear in the bucket under the right key, with identical bytes and the
// s3fs metadata keys, and nothing removed or renamed away may be left.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Store } from '../../pkg/s3/s3-store';
import { skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { requireE2E } from '../support/e2e';
import { assertStep, guestScript, startServerInNs, step, stepSummary, WORKLOADS } from '../support/e2e-steps';
import { bucketKeys } from '../support/linked-fs';
import { bridgeIntoNs, type NsBridge } from '../support/ns-bridge';
import { S3filesServer } from '../support/s3files-server';
import { runGuest, TestNetwork, type GuestResult } from '../support/uml';

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');
const FF_OUTPUTS = ['out.mp3', 'out.mp4', 'fs.mp4'];
const PREFIX = 'e2e/';

function which(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/bin').split(':').some((d) => existsSync(join(d, cmd)));
}

/** Polls until every key of `want` is in the bucket with the wanted bytes (the upload is async). */
async function waitForObjects(store: S3Store, want: Map<string, Buffer>, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const done = new Set<string>();
  for (;;) {
    const keys = await bucketKeys(store, PREFIX);
    for (const [k, data] of want) {
      if (done.has(k) || keys.get(k) !== data.length) continue;
      const head = await store.head(PREFIX + k);
      // A single-part ETag is the MD5; a multipart one is not: read those back.
      const same = head.etag.includes('-') ? md5((await store.getBuffer(PREFIX + k)).data) === md5(data) : head.etag === md5(data);
      if (same) done.add(k);
    }
    const missing = Array.from(want.keys()).filter((k) => !done.has(k));
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await new Promise((r) => setTimeout(r, 500));
  }
}

(skipS3() ? describe.skip : describe)('e2e: an export linked to Ceph RGW through the kernel NFS client', function () {
  this.timeout(900_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let store: S3Store;
  let net: TestNetwork | undefined;
  let bridge: NsBridge | undefined;
  let server: S3filesServer | undefined;
  let guest: GuestResult | undefined;
  let work = '';
  const bucket = `e2e-${Date.now().toString(36)}`;
  const files = new Map<string, Buffer>();
  const steps = ['import', 'write-tree', 'ffmpeg', 'umount'];

  before(async function () {
    requireE2E(this, [{ ok: which('ffmpeg'), what: 'ffmpeg (apt-get install ffmpeg)' }]);
    gw = await rgw();
    await gw.createBucket(bucket);
    store = new S3Store({
      bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    });
    // Objects put directly: with s3fs metadata, with none, a directory marker, a symlink.
    await store.put(`${PREFIX}pre/with-meta.txt`, Buffer.from('with metadata\n'), { metadata: { mode: '33184', uid: '1000', gid: '1000', mtime: '1600000000' } });
    await store.put(`${PREFIX}pre/plain.bin`, randomBytes(3 * 1024 * 1024 + 5));
    await store.put(`${PREFIX}pre/dir/`, Buffer.alloc(0), { metadata: { mode: '16872' } });
    await store.put(`${PREFIX}pre/link`, Buffer.from('with-meta.txt'), { metadata: { mode: '41471' } });

    net = await TestNetwork.create();
    work = net.makeTempDir('s3link');
    // Content the guest copies in, and the FFmpeg input and reference outputs, on local disk.
    for (const [name, size] of [['small.txt', 1000], ['one-mib.bin', 1 << 20], ['big.bin', 21 * (1 << 20) + 7]] as const) {
      const data = randomBytes(size);
      writeFileSync(join(work, name), data);
      files.set(`tree/${name}`, data);
    }
    const input = join(work, 'in.mp4');
    execFileSync('sh', [join(WORKLOADS, 'ffmpeg.sh'), 'gen', input], { stdio: 'pipe' });
    execFileSync('sh', [join(WORKLOADS, 'ffmpeg.sh'), 'run', input, join(work, 'ref'), join(work, 'ref-logs')], { stdio: 'pipe' });
    for (const f of FF_OUTPUTS) files.set(`ff/${f}`, readFileSync(join(work, 'ref', f)));

    bridge = await bridgeIntoNs(net, gw.port);
    server = await startServerInNs(net, { link: { gw, bucket, prefix: PREFIX, bridge, args: ['--sync-delay', '1s'] } });
    const W = work;
    const script = guestScript(net, [
      step('import', [
        `cat "$MNT/pre/with-meta.txt" > "$OUT/with-meta.txt"`,
        `stat -c '%a %u %g %s %Y' "$MNT/pre/with-meta.txt" > "$OUT/with-meta.stat"`,
        `stat -c '%a %s' "$MNT/pre/plain.bin" > "$OUT/plain.stat"`,
        `md5sum "$MNT/pre/plain.bin" | cut -d' ' -f1 > "$OUT/plain.md5"`,
        `stat -c '%F %a' "$MNT/pre/dir" > "$OUT/dir.stat"`,
        `readlink "$MNT/pre/link" > "$OUT/link.target"`,
      ].join(' && '), 120),
      step('write-tree', [
        `mkdir -p "$MNT/tree/sub/deeper" "$MNT/tree/empty"`,
        `cp ${W}/small.txt ${W}/one-mib.bin ${W}/big.bin "$MNT/tree/"`,
        `chmod 600 "$MNT/tree/small.txt"`,
        `ln -s small.txt "$MNT/tree/link"`,
        `cp ${W}/small.txt "$MNT/tree/sub/to-rename.txt" && mv "$MNT/tree/sub/to-rename.txt" "$MNT/tree/sub/deeper/renamed.txt"`,
        `cp ${W}/small.txt "$MNT/tree/doomed.txt" && sync && rm "$MNT/tree/doomed.txt"`,
        `echo appended >> "$MNT/pre/with-meta.txt"`,
      ].join(' && '), 300),
      step('ffmpeg', `sh "$W/ffmpeg.sh" run ${input} "$MNT/ff" "$OUT/ff-logs"`, 400),
    ]);
    guest = await runGuest(net, { script, timeoutMs: 840_000 });
    // eslint-disable-next-line no-console
    console.log(`    guest ${Math.round(guest.durationMs / 1000)} s; ${stepSummary(guest.outDir, steps)}`);
    files.set('tree/sub/deeper/renamed.txt', files.get('tree/small.txt')!);
    files.set('pre/with-meta.txt', Buffer.from('with metadata\nappended\n'));
  });

  after(async () => {
    await server?.stop();
    await bridge?.close();
    await net?.destroy();
    store?.destroy();
  });

  it('the guest read the objects put directly, with their attributes', () => {
    assertStep(guest, 'import', server);
    const out = guest!.outDir;
    assert.equal(readFileSync(join(out, 'with-meta.txt'), 'utf8'), 'with metadata\n');
    assert.equal(readFileSync(join(out, 'with-meta.stat'), 'utf8').trim(), '640 1000 1000 14 1600000000');
    assert.equal(readFileSync(join(out, 'plain.stat'), 'utf8').trim(), `644 ${3 * 1024 * 1024 + 5}`);
    assert.equal(readFileSync(join(out, 'dir.stat'), 'utf8').trim(), 'directory 750');
    assert.equal(readFileSync(join(out, 'link.target'), 'utf8').trim(), 'with-meta.txt');
  });

  it('the tree and the FFmpeg outputs were written in the guest', () => {
    assertStep(guest, 'write-tree', server);
    assertStep(guest, 'ffmpeg', server);
    assertStep(guest, 'umount', server);
  });

  it('every file written through NFS is in the bucket with identical bytes', async () => {
    const missing = await waitForObjects(store, files, 60_000);
    assert.deepEqual(missing, [], `not in the bucket (or different) after 60 s:\n${server?.logTail(20)}`);
    for (const [k, data] of files) assert.equal(md5((await store.getBuffer(PREFIX + k)).data), md5(data), k);
  });

  it('keys, markers, symlink and metadata are as DESIGN.md decision 3 says; removed and renamed names are gone', async () => {
    const keys = await bucketKeys(store, PREFIX);
    for (const k of ['tree/', 'tree/sub/', 'tree/sub/deeper/', 'tree/empty/', 'ff/', 'tree/link']) assert.ok(keys.has(k), `${k} missing`);
    assert.ok(!keys.has('tree/doomed.txt'), 'removed file still in the bucket');
    assert.ok(!keys.has('tree/sub/to-rename.txt'), 'renamed file still under its old name');
    const small = await store.head(`${PREFIX}tree/small.txt`);
    assert.equal(small.metadata.mode, String(0o100600));
    assert.match(small.metadata.mtime ?? '', /^\d+$/);
    assert.equal((await store.head(`${PREFIX}tree/link`)).metadata.mode, String(0o120777));
    assert.equal((await store.getBuffer(`${PREFIX}tree/link`)).data.toString(), 'small.txt');
    const edited = await store.head(`${PREFIX}pre/with-meta.txt`);
    assert.deepEqual([edited.metadata.mode, edited.metadata.uid, edited.metadata.gid], ['33184', '1000', '1000']);
  });
});
