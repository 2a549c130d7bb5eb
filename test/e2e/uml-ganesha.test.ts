// Proves the UML harness end to end against a reference server (nfs-ganesha), independently
// of our own NFS server: the real Linux NFS client writes through the mount, the host checks
// the bytes that landed in the exported directory.
import assert from 'assert';
import { createHash } from 'crypto';
import { existsSync, mkdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { GaneshaServer, startGanesha } from '../support/ganesha';
import { requireE2E } from '../support/e2e';
import { assertGuestSucceeded, nfsMountCommand, runGuest, TestNetwork } from '../support/uml';
import { runCommand } from '../support/proc';

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

describe('nfsMountCommand', () => {
  it('produces the DESIGN.md option set plus extras', () => {
    const cmd = nfsMountCommand({
      host: '10.213.1.1', port: 2050, exportPath: '/vol', mountPoint: '/tmp/x y', options: ['nconnect=4'],
    });
    assert.strictEqual(cmd, 'mount -t nfs -o vers=3,proto=tcp,port=2050,mountport=2050,mountproto=tcp,' +
      'local_lock=all,hard,nconnect=4 10.213.1.1:/vol "/tmp/x y"');
  });

  it('leaves guest variables in the mount point to the guest shell', () => {
    const cmd = nfsMountCommand({ host: 'h', port: 1, exportPath: '/e', mountPoint: '$OUT/m"n' });
    assert.ok(cmd.endsWith(' h:/e "$OUT/m\\"n"'), cmd);
  });

  it('uses a separate MOUNT port when given', () => {
    const cmd = nfsMountCommand({ host: 'h', port: 2049, mountPort: 20048, exportPath: '/e', mountPoint: '/m' });
    assert.match(cmd, /port=2049,mountport=20048,/);
  });
});

describe('UML kernel NFS client against nfs-ganesha (e2e)', function () {
  this.timeout(300_000);
  let net: TestNetwork | undefined;
  let ganesha: GaneshaServer | undefined;
  let exportDir = '';

  before(async function () {
    requireE2E(this, [{ ok: existsSync('/usr/bin/ganesha.nfsd'), what: 'ganesha.nfsd (apt-get install nfs-ganesha nfs-ganesha-vfs)' }]);
    net = await TestNetwork.create();
    exportDir = join(net.makeTempDir('export'), 'data');
    mkdirSync(exportDir);
    ganesha = await startGanesha(net, { exportDir });
  });

  after(async () => {
    await ganesha?.stop();
    await net?.destroy();
  });

  function mount(): string {
    const g = ganesha as GaneshaServer;
    return nfsMountCommand({
      host: g.host, port: g.nfsPort, mountPort: g.mountPort, exportPath: g.exportPath, mountPoint: '$OUT/mnt',
    });
  }

  it('writes with dd + fsync through the kernel client; host and re-read checksums match', async () => {
    const script = `
mkdir -p "$OUT/mnt"
${mount()}
grep " $OUT/mnt nfs " /proc/mounts > "$OUT/mounts.txt"
head -c 8388608 /dev/urandom > /run/src
sha256sum < /run/src | cut -d' ' -f1 > "$OUT/src.sha256"
dd if=/run/src of="$OUT/mnt/data.bin" bs=1M conv=fsync
umount "$OUT/mnt"
${mount()}
sha256sum < "$OUT/mnt/data.bin" | cut -d' ' -f1 > "$OUT/readback.sha256"
umount "$OUT/mnt"
`;
    const r = await runGuest(net as TestNetwork, { script, timeoutMs: 120_000, trace: true });
    assertGuestSucceeded(r);
    const src = readFileSync(join(r.outDir, 'src.sha256'), 'utf8').trim();
    assert.match(src, /^[0-9a-f]{64}$/);
    assert.strictEqual(sha256File(join(exportDir, 'data.bin')), src, 'bytes on the server differ from what the guest wrote');
    assert.strictEqual(readFileSync(join(r.outDir, 'readback.sha256'), 'utf8').trim(), src, 'read-back differs');
    const mounts = readFileSync(join(r.outDir, 'mounts.txt'), 'utf8');
    for (const opt of ['vers=3', 'hard', 'proto=tcp', 'local_lock=all', 'mountproto=tcp']) {
      assert.ok(mounts.includes(opt), `negotiated options lack ${opt}: ${mounts}`);
    }
  });

  it('reports a failing script with its exit status and stops at the failing command', async () => {
    const r = await runGuest(net as TestNetwork, { script: 'echo before-fail\nsh -c "exit 3"\necho after-fail\n', timeoutMs: 60_000 });
    assert.strictEqual(r.exitCode, 3, r.log);
    assert.strictEqual(r.timedOut, false);
    assert.ok(r.log.includes('before-fail'));
    assert.ok(!r.log.includes('after-fail'));
  });

  it('kills a guest that overruns its timeout and leaves no UML process behind', async () => {
    const started = Date.now();
    const r = await runGuest(net as TestNetwork, { script: 'echo sleeping-forever\nsleep 600\n', timeoutMs: 8_000 });
    assert.strictEqual(r.timedOut, true);
    assert.strictEqual(r.exitCode, -1);
    assert.ok(Date.now() - started < 20_000, 'timeout not enforced');
    assert.ok(r.log.includes('sleeping-forever'));
    const pids = (await runCommand('ip', ['netns', 'pids', (net as TestNetwork).name])).stdout.split(/\s+/).filter(Boolean);
    const uml = pids.filter((p) => {
      try {
        return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'linux.uml';
      } catch {
        return false;
      }
    });
    assert.deepStrictEqual(uml, [], 'UML processes survived the timeout');
  });
});
