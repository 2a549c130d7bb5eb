// A full cache disk under a linked export, for real: the fixture runs in a private mount
// namespace with its cache on a 16 MiB tmpfs (needs root and unshare(1), as
// pkg/cache/disk.test.ts; the mount goes with the process) and its bucket, a FolderStore, on the
// ordinary disk. Reads of remote data are served without caching when nothing can be cached
// (and clean cached files are evicted to make room),
// other operations fail cleanly (ENOSPC/EIO), nothing committed is lost, and everything works
// again once there is space.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { canUnshare } from '../../pkg/cache/test-helpers';


describe('linked export: a full cache disk', function () {
  this.timeout(120_000);

  it('[error] reads go through to the bucket, the rest fails cleanly, committed data reaches the bucket once space is back', function () {
    if (!canUnshare()) this.skip();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-linked-full-'));
    try {
      const mnt = path.join(tmp, 'mnt');
      fs.mkdirSync(mnt);
      const script = path.join(__dirname, 'reconcile-disk-full.fixture.js');
      const cmd = `mount -t tmpfs -o size=16m tmpfs "$1" && exec "$2" "$3" "$1/cache" "$4"`;
      const r = spawnSync('unshare', ['-m', 'sh', '-c', cmd, 'sh', mnt, process.execPath, script, path.join(tmp, 'bucket')], { encoding: 'utf8' });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      assert.equal(r.status, 0, `fixture failed: ${line} ${r.stderr.slice(-2000)}`);
      const out = JSON.parse(line) as Record<string, unknown> & { whenFull: Record<string, string> };
      assert.equal(out.cachedRead, 'bytes-ok');
      assert.equal(out.writeError, 'ENOSPC', 'local writes stop with ENOSPC');
      assert.equal(out.commit, 'ok', 'what was written can be committed');
      // Clean cached data (r0) makes room for what is read now; failing that, it is read through.
      assert.equal(out.readWhenDataFull, 'bytes-ok');
      assert.equal(out.listWhenDataFull, '20 names');
      // That read found no room: clean cached data was evicted, and reads are cached again.
      assert.ok((out.evictedWhenDataFull as number) >= 1, 'nothing clean was evicted to make room');
      assert.equal(out.readAfterRelief, 'bytes-ok');
      assert.equal(out.readAfterReliefAgain, 'bytes-ok');
      assert.equal(out.cachedAfterRelief, true, 'reads are cached again after the relief');
      const w = out.whenFull;
      assert.equal(w.read, 'bytes-ok', 'a read of uncached data on a full disk');
      assert.equal(w.readAgain, 'bytes-ok');
      assert.equal(w.localRead, 'bytes-ok');
      assert.ok(['ok', 'ENOSPC'].includes(w.mkdir!), `mkdir on a full disk: ${w.mkdir}`);
      assert.ok(['5 names', 'ENOSPC', 'EIO'].includes(w.list!), `first listing on a full disk: ${w.list}`);
      assert.equal(out.listAfter, '5 names');
      assert.equal(out.uploaded, true, 'the committed local file is in the bucket once there is space');
      assert.equal(out.afterRead, 'bytes-ok');
      assert.equal(out.afterReadAgain, 'bytes-ok');
      assert.equal(out.cachedAfter, true, 'reads are cached again once there is space');
      assert.equal(out.afterMkdir, 'ok');
      const dirs = out.dirsInBucket as string[];
      assert.ok(dirs.includes('after/') && dirs.includes('sub/'), dirs.join(' '));
      assert.equal(dirs.includes('newdir/'), w.mkdir === 'ok', 'a mkdir acknowledged on a full disk reached the bucket');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
