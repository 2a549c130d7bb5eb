import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { aborted, NotFoundError, PermissionError, toGrpcStatus, UnavailableError } from './errors';
import { collectSecrets, redactRequest } from './log-grpc';

describe('toGrpcStatus and request redaction', () => {
  it('maps CSI and domain errors to the codes the spec names', () => {
    assert.deepEqual(toGrpcStatus(aborted('busy')), { code: status.ABORTED, details: 'busy' });
    assert.equal(toGrpcStatus(new NotFoundError('x')).code, status.NOT_FOUND);
    assert.equal(toGrpcStatus(new PermissionError('x')).code, status.PERMISSION_DENIED);
    assert.equal(toGrpcStatus(new UnavailableError('x')).code, status.UNAVAILABLE);
    assert.deepEqual(toGrpcStatus('weird'), { code: status.INTERNAL, details: 'internal error: weird' });
  });

  it('never lets a secret, an AWS key id or a secret-shaped string into the details', () => {
    const err = new Error('signing failed for AKIAABCDEFGHIJKLMNOP with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and pw hunter22');
    assert.equal(toGrpcStatus(err, ['hunter22']).details, 'internal error: Error: signing failed for *** with *** and pw ***');
  });

  it('redacts secrets and mount flags from logged requests, keeps the rest', () => {
    const req = { volume_id: 'v', secrets: { accessKeyId: 'AKID', secretAccessKey: 's3cr3t' }, volume_capability: { mount: { mount_flags: ['password=x'] } } };
    assert.deepEqual(redactRequest(req), { volume_id: 'v', secrets: { accessKeyId: '***', secretAccessKey: '***' }, volume_capability: { mount: { mount_flags: ['***'] } } });
    assert.deepEqual(collectSecrets(req), ['AKID', 's3cr3t']);
  });
});
