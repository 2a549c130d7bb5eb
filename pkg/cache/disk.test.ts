import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canUnshare, tempDir } from './test-helpers';

// A full cache disk, for real: the fixture runs in a private mount namespace on an 8 MiB tmpfs
// (needs root and unshare(1); the mount disappears with the process).

describe('cache file system: a full cache disk', function () {
  this.timeout(60_000);

  it('[error] ENOSPC reaches the caller as FsError; nothing crashes or gets corrupted', function () {
    if (!canUnshare()) this.skip();
    const mnt = tempDir();
    try {
      const script = path.join(__dirname, 'disk-full.fixture.js');
      const cmd = `mount -t tmpfs -o size=8m tmpfs "$1" && exec "$2" "$3" "$1/cache"`;
      const r = spawnSync('unshare', ['-m', 'sh', '-c', cmd, 'sh', mnt, process.execPath, script], { encoding: 'utf8' });
      const line = r.stdout.trim().split('\n').pop() ?? '';
      assert.equal(r.status, 0, `fixture failed: ${line} ${r.stderr.slice(-2000)}`);
      const out = JSON.parse(line) as Record<string, unknown>;
      assert.equal(out.writeError, 'ENOSPC', 'data writes stop with ENOSPC');
      assert.equal(out.commit, 'ok', 'what was written before can be committed');
      assert.deepEqual(out.creates, ['ok'], 'metadata keeps working on the reserve left for it');
      assert.ok((out.metadataWhenFull as string[]).every((c) => c === 'ok' || c === 'ENOSPC'), String(out.metadataWhenFull));
      assert.ok((out.metadataWhenFull as string[]).includes('ENOSPC'), 'a completely full disk fails metadata commits');
      assert.equal(out.sizeOk, true);
      assert.equal(out.dataFileSize, true, 'no partial write left past the end of the file');
      assert.equal(out.dataOk, true);
      assert.equal(out.stillThere, true);
      assert.equal(out.dirsConsistent, true, 'exactly the operations that succeeded are there after a reopen');
      assert.equal(out.afterReopen, 'after the disk was full');
    } finally {
      fs.rmSync(mnt, { recursive: true, force: true });
    }
  });
});
