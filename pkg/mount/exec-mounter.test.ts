import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ExecMounter, type CommandResult, type CommandRunner } from './exec-mounter';
import { NotMountedError } from './mounter';

/** Records command lines and answers from a script of results (exit 0 by default). */
class RecordingRunner implements CommandRunner {
  readonly calls: string[] = [];
  readonly results: Partial<CommandResult>[] = [];
  async run(command: string, args: string[]): Promise<CommandResult> {
    this.calls.push([command, ...args].join(' '));
    return { code: 0, stdout: '', stderr: '', timedOut: false, ...this.results.shift() };
  }
}

describe('ExecMounter', () => {
  let dir: string;
  let mountinfo: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exec-mounter-'));
    mountinfo = path.join(dir, 'mountinfo');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('mounts NFS with -t and -o', async () => {
    const runner = new RecordingRunner();
    await new ExecMounter({ runner, mountInfoPath: mountinfo }).mount('127.0.0.1:/vol-a', '/stage', 'nfs', ['vers=3', 'port=20490']);
    assert.deepEqual(runner.calls, ['mount -t nfs -o vers=3,port=20490 127.0.0.1:/vol-a /stage']);
  });

  it('makes a read-only bind in two steps, as the kernel requires', async () => {
    const runner = new RecordingRunner();
    await new ExecMounter({ runner, mountInfoPath: mountinfo }).mount('/stage/sub', '/target', '', ['bind', 'ro']);
    assert.deepEqual(runner.calls, ['mount --bind /stage/sub /target', 'mount -o remount,bind,ro /target']);
  });

  it('undoes the bind when the read-only remount fails', async () => {
    const runner = new RecordingRunner();
    runner.results.push({}, { code: 32, stderr: 'remount failed' });
    await assert.rejects(new ExecMounter({ runner, mountInfoPath: mountinfo }).mount('/s', '/t', '', ['bind', 'ro']), /remount failed/);
    assert.deepEqual(runner.calls, ['mount --bind /s /t', 'mount -o remount,bind,ro /t', 'umount /t']);
  });

  it('reports NotMountedError without running umount when the target is not in mountinfo', async () => {
    await writeFile(mountinfo, '22 1 0:21 / /proc rw - proc proc rw\n');
    const runner = new RecordingRunner();
    await assert.rejects(new ExecMounter({ runner, mountInfoPath: mountinfo }).unmount('/nowhere'), NotMountedError);
    assert.deepEqual(runner.calls, []);
  });

  it('detaches a mount whose umount times out (dead NFS server)', async () => {
    await writeFile(mountinfo, '30 1 0:40 / /stage rw - nfs 127.0.0.1:/v rw\n');
    const runner = new RecordingRunner();
    runner.results.push({ code: null, timedOut: true });
    const mounter = new ExecMounter({ runner, mountInfoPath: mountinfo });
    assert.equal(await mounter.isMountPoint('/stage'), true);
    await mounter.unmount('/stage');
    assert.deepEqual(runner.calls, ['umount /stage', 'umount -f -l /stage']);
  });
});
