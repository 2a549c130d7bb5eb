import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { expandBasePrefix, ExtraMetadata } from './prefix-pattern';
import { planCreate } from './volume-spec';

/** CreateVolume parameters as csi-provisioner sends them with --extra-create-metadata. */
const META = { [ExtraMetadata.pvcName]: 'uploads', [ExtraMetadata.pvcNamespace]: 'media', [ExtraMetadata.pvName]: 'pvc-0f1e2d3c' };

function invalid(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: { code?: number; message: string }) => e.code === status.INVALID_ARGUMENT && message.test(e.message));
}

describe('basePrefix patterns', () => {
  it('${.PVC.namespace}/${.PVC.name} is the whole prefix: no volume name appended', () => {
    const plan = planCreate('pvc-0f1e2d3c', { bucket: 'media', basePrefix: 'volumes/${.PVC.namespace}/${.PVC.name}', ...META });
    assert.equal(plan.location.prefix, 'volumes/media/uploads');
    assert.equal(plan.dynamic, true);
  });

  it('${.PV.name} names the volume too; a pattern with the namespace alone gets the volume name appended', () => {
    assert.equal(planCreate('pvc-0f1e2d3c', { bucket: 'media', basePrefix: '${.PVC.namespace}-${.PV.name}', ...META }).location.prefix, 'media-pvc-0f1e2d3c');
    assert.equal(planCreate('pvc-0f1e2d3c', { bucket: 'media', basePrefix: 'ns/${.PVC.namespace}/', ...META }).location.prefix, 'ns/media/pvc-0f1e2d3c');
  });

  it('a basePrefix without variables is unchanged (the volume name appended), with or without the metadata', () => {
    assert.equal(planCreate('pvc-1', { bucket: 'media', basePrefix: 'volumes', ...META }).location.prefix, 'volumes/pvc-1');
    assert.equal(planCreate('pvc-1', { bucket: 'media', basePrefix: 'volumes' }).location.prefix, 'volumes/pvc-1');
  });

  it('missing metadata (csi-provisioner without --extra-create-metadata) is INVALID_ARGUMENT naming the flag', () => {
    invalid(() => planCreate('pvc-1', { bucket: 'media', basePrefix: '${.PVC.namespace}/${.PVC.name}' }), /no csi\.storage\.k8s\.io\/pvc\/namespace parameter \(csi-provisioner needs --extra-create-metadata\)/);
  });

  it('unknown or unterminated variables are refused, naming the known ones', () => {
    invalid(() => expandBasePrefix('v/${.PVC.labels.team}', META, 'basePrefix'), /unknown variable \$\{\.PVC\.labels\.team\} \(known: \$\{\.PVC\.name\}, \$\{\.PVC\.namespace\}, \$\{\.PV\.name\}\)/);
    invalid(() => expandBasePrefix('v/${.PVC.name', META, 'basePrefix'), /unterminated/);
  });

  it('values that are not Kubernetes names never reach the prefix (no "..", "/", upper case, control characters)', () => {
    for (const bad of ['..', 'a/../b', 'a/b', 'UP', 'x\ny', '.hidden', 'a..b', '']) {
      const params = { ...META, [ExtraMetadata.pvcName]: bad };
      invalid(() => planCreate('pvc-1', { bucket: 'media', basePrefix: 'v/${.PVC.name}', ...params }), bad === '' ? /no csi\.storage\.k8s\.io\/pvc\/name/ : /is not a Kubernetes name/);
    }
  });

  it('the expanded prefix is still checked as a prefix (empty segments)', () => {
    invalid(() => planCreate('pvc-1', { bucket: 'media', basePrefix: 'v//${.PVC.name}', ...META }), /must not contain empty/);
  });

  it('a pattern and prefix still exclude each other', () => {
    invalid(() => planCreate('pvc-1', { bucket: 'media', prefix: 'x', basePrefix: '${.PVC.name}', ...META }), /exclude each other/);
  });
});
