import assert from 'node:assert/strict';
import { parseMountInfo, parseMountInfoLine, unescapeMountField } from './mountinfo';

describe('mountinfo', () => {
  it('parses the example line of proc(5)', () => {
    const m = parseMountInfoLine('36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue');
    assert.deepEqual(m, {
      id: 36,
      parentId: 35,
      device: '98:0',
      root: '/mnt1',
      target: '/mnt2',
      options: ['rw', 'noatime'],
      fstype: 'ext3',
      source: '/dev/root',
      superOptions: ['rw', 'errors=continue'],
    });
  });

  it('parses a line without optional fields', () => {
    const m = parseMountInfoLine('120 25 0:52 / /var/lib/kubelet/plugins/kubernetes.io/csi/s3files.csi.io/abc/globalmount rw,relatime - nfs 127.0.0.1:/vol-abc rw,vers=3,port=20490');
    assert.equal(m?.fstype, 'nfs');
    assert.equal(m?.source, '127.0.0.1:/vol-abc');
    assert.deepEqual(m?.superOptions, ['rw', 'vers=3', 'port=20490']);
  });

  it('undoes octal escapes of space, tab, newline and backslash', () => {
    assert.equal(unescapeMountField('/a\\040b\\011c\\012d\\134e'), '/a b\tc\nd\\e');
    const m = parseMountInfoLine('7 1 0:5 /sub\\040dir /mnt/my\\040vol rw shared:2 - nfs 127.0.0.1:/x rw');
    assert.equal(m?.root, '/sub dir');
    assert.equal(m?.target, '/mnt/my vol');
  });

  it('skips blank and malformed lines', () => {
    const text = '\n22 1 0:21 / /proc rw - proc proc rw\nnot a mount line\n23 22 0:22 / /sys rw - sysfs sys rw\n';
    assert.deepEqual(parseMountInfo(text).map((m) => m.target), ['/proc', '/sys']);
  });
});
