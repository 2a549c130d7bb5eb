import assert from 'node:assert/strict';
import { FakeMounter } from './fake-mounter';
import { MountError, NotMountedError } from './mounter';

describe('FakeMounter', () => {
  it('models a bind of a subdirectory as the kernel does: same device and source, root = subtree', async () => {
    const m = new FakeMounter();
    await m.mount('127.0.0.1:/vol-a', '/stage', 'nfs', ['vers=3']);
    await m.mount('/stage/sub', '/pod/target', '', ['bind', 'ro']);
    const [stage, bind] = await m.list();
    assert.equal(bind?.device, stage?.device);
    assert.equal(bind?.source, '127.0.0.1:/vol-a');
    assert.equal(bind?.root, '/sub');
    assert.deepEqual(bind?.options, ['ro']);
    assert.equal(await m.isMountPoint('/pod/target'), true);
    assert.equal(await m.isMountPoint('/pod'), false);
  });

  it('fails only where failOn says, by operation or by operation and target', async () => {
    const m = new FakeMounter();
    m.failOn.set('mount:/b', new MountError('no'));
    await m.mount('s:/x', '/a', 'nfs', []);
    await assert.rejects(m.mount('s:/x', '/b', 'nfs', []), /no/);
    m.failOn.set('unmount', new MountError('busy'));
    await assert.rejects(m.unmount('/a'), /busy/);
    m.failOn.clear();
    await m.unmount('/a');
    await assert.rejects(m.unmount('/a'), NotMountedError);
    assert.deepEqual(m.actions.map((a) => `${a.op} ${a.target}`), ['mount /a', 'unmount /a']);
  });
});
