// kill -9 in the middle of a directory move (reconcile-move-crash.fixture.ts), while its copies
// are landing and after the move was recorded but before the old keys were deleted; then the
// export is opened again. The move resumes from its record in LMDB: afterwards the bucket holds
// every object under the new name with its bytes and metadata, nothing under the old one, and
// the file system shows the new name only. On Ceph RGW.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLinkedExport } from '../../pkg/reconcile';
import { S3Store } from '../../pkg/s3/s3-store';
import { readAcks } from '../support/acks';
import { rgwStore, skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { bucketKeys, listNames, quietLog, readFile } from '../support/linked-fs';
import { mapLimit } from '../support/sdk-floor';
import { linkIdOf, type MoveCrashConfig } from './reconcile-move-crash.fixture';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

async function killAt(cfg: MoveCrashConfig): Promise<void> {
  const child = spawn(process.execPath, [path.join(__dirname, 'reconcile-move-crash.fixture.js'), JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: string[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-20_000)));
  readAcks<{ op: string }>(child.stdout, ({ op }) => {
    acks.push(op);
    if (op === cfg.at) child.kill('SIGKILL');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  await new Promise((r) => child.once('exit', r));
  clearTimeout(timer);
  assert.ok(acks.includes(cfg.at), `the move never reached "${cfg.at}" (acks ${acks.join(',')}): ${stderr}`);
}

(skipS3() ? describe.skip : describe)('reconciler: kill -9 during a directory move (Ceph RGW)', function () {
  this.timeout(300_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let direct: S3Store;
  let tmp: string;
  const bucket = `move-crash-${Date.now().toString(36)}`;
  const n = 200;

  before(async () => {
    gw = await rgw();
    await gw.createBucket(bucket);
    direct = rgwStore(gw, bucket);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-move-crash-'));
  });
  after(() => {
    direct?.destroy();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const at of ['copying', 'deleting'] as const) {
    it(`killed while ${at === 'copying' ? 'the copies land' : 'the old keys are about to be deleted'}: the move completes after the restart`, async () => {
      const prefix = `${at}-${Date.now().toString(36)}/`;
      const bodies = new Map<string, Buffer>();
      await mapLimit(Array.from({ length: n }, (_, i) => i), 16, async (i) => {
        const name = `${i % 3 === 0 ? 'sub/' : ''}f${i}`;
        const data = randomBytes(500 + i);
        bodies.set(name, data);
        await direct.put(`${prefix}src/${name}`, data, { metadata: { mode: '33152', uid: '42', gid: '43', mtime: String(1700000000 + i) } });
      });
      // In the second case src/ is an implicit directory (no marker object), so no tombstone
      // sits at src/ itself: only the ones under it keep the old name from showing as a ghost.
      const marker = at === 'copying';
      if (marker) await direct.put(`${prefix}src/`, Buffer.alloc(0), { metadata: { mode: '16832' }, contentType: 'application/x-directory' });
      const cfg: MoveCrashConfig = {
        at, copies: n / 2, endpoint: gw.endpoint, bucket, region: gw.region, accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey,
        cacheDir: path.join(tmp, at), prefix,
      };
      await killAt(cfg);
      const before = await bucketKeys(direct, prefix);
      if (at === 'copying') assert.ok(before.has('src/f1') && Array.from(before.keys()).some((k) => k.startsWith('dst/')), 'killed half-way through the copies');
      else assert.equal(Array.from(before.keys()).filter((k) => k.startsWith('src/')).length, n, 'killed before any old key was deleted');

      const ex = await openLinkedExport({ cacheDir: cfg.cacheDir, store: direct, prefix, linkId: linkIdOf(prefix), syncDelayMs: 20, dirTtlMs: 0, logger: quietLog });
      try {
        // Listed again at once (TTL 0), before the old keys are gone: no ghost of the old name.
        assert.deepEqual(await listNames(ex.fs, ''), ['dst']);
        await ex.reconciler.drain(120_000);
        assert.deepEqual(await listNames(ex.fs, ''), ['dst']);
        assert.equal(md5(await readFile(ex.fs, 'dst/sub/f3')), md5(bodies.get('sub/f3')!));
        assert.equal(ex.reconciler.status().stats.conflicts, 0);
      } finally {
        await ex.close();
      }
      const after = await bucketKeys(direct, prefix);
      // sub/ had no marker object (an implicit directory) and still has none.
      assert.deepEqual(Array.from(after.keys()).sort(), ['dst/', ...Array.from(bodies.keys(), (k) => `dst/${k}`)].sort());
      await mapLimit(Array.from(bodies), 16, async ([name, data]) => {
        const got = await direct.getBuffer(`${prefix}dst/${name}`);
        assert.equal(md5(got.data), md5(data), name);
        const i = Number(name.replace(/.*f/, ''));
        assert.deepEqual([got.info.metadata.mode, got.info.metadata.uid, got.info.metadata.gid, got.info.metadata.mtime], ['33152', '42', '43', String(1700000000 + i)], name);
      });
      assert.equal((await direct.head(`${prefix}dst/`)).metadata.mode, marker ? '16832' : String(0o40755));
    });
  }
});
