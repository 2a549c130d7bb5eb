import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { csiProtoPath, loadCsi } from './proto';

describe('csi.proto', () => {
  it('loads, with the three services kubelet and the sidecars call', () => {
    const csi = loadCsi();
    assert.ok(csi.Identity.service.Probe);
    assert.ok(csi.Controller.service.CreateVolume);
    assert.ok(csi.Node.service.NodeStageVolume);
  });

  it('pkg/csi/generated is what scripts/gen-csi.sh generates from it (npm run gen:csi)', function () {
    this.timeout(60_000);
    const root = path.resolve(path.dirname(csiProtoPath()), '..');
    const out = execFileSync('bash', [path.join(root, 'scripts/gen-csi.sh'), '--check'], { cwd: root, encoding: 'utf8' });
    assert.match(out, /is current/);
  });
});
