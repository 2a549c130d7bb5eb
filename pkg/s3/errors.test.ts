import assert from 'node:assert/strict';
import { sanitizeCause, scrubSecrets } from './errors';
import { toDomainError } from './sdk-errors';
import { AccessDeniedError, NoSuchBucketError, NotFoundError, PreconditionFailedError, ThrottledError } from './errors';

const sdkError = (name: string, status: number, message = name) =>
  Object.assign(new Error(message), { name, Code: name, $metadata: { httpStatusCode: status, requestId: 'req-1' }, $response: { secret: 'raw response' } });

describe('object store errors', () => {
  it('scrubs signatures, credentials, presigned query strings and configured secrets', () => {
    const text = 'GET https://b.s3.amazonaws.com/k?X-Amz-Signature=abc&X-Amz-Credential=AKIAABCDEFGHIJKLMNOP%2F20240101 ' +
      'Credential=AKIAABCDEFGHIJKLMNOP/20240101/us-east-1/s3/aws4_request, Signature=0123456789abcdef0123456789abcdef secret=my-secret-key';
    const out = scrubSecrets(text, ['my-secret-key']);
    for (const bad of ['abc', 'AKIAABCDEFGHIJKLMNOP', '0123456789abcdef0123', 'my-secret-key']) assert.ok(!out.includes(bad), `${bad} in ${out}`);
    assert.ok(out.includes('https://b.s3.amazonaws.com/k?[redacted]'));
  });

  it('keeps only safe fields of an SDK error as the cause', () => {
    const cause = sanitizeCause(sdkError('AccessDenied', 403, 'denied for my-secret-key'), ['my-secret-key']);
    assert.equal(cause.code, 'AccessDenied');
    assert.equal(cause.httpStatusCode, 403);
    assert.equal(cause.requestId, 'req-1');
    assert.ok(!cause.message.includes('my-secret-key'));
    assert.ok(!('$response' in cause));
  });

  const table: Array<[string, unknown, 'fatal' | 'throttle' | 'transient', new (...a: never[]) => Error]> = [
    ['NoSuchKey → NotFoundError', sdkError('NoSuchKey', 404), 'fatal', NotFoundError],
    ['HEAD 404 NotFound → NotFoundError', sdkError('NotFound', 404), 'fatal', NotFoundError],
    ['NoSuchUpload → NotFoundError', sdkError('NoSuchUpload', 404), 'fatal', NotFoundError],
    ['NoSuchBucket → NoSuchBucketError', sdkError('NoSuchBucket', 404), 'fatal', NoSuchBucketError],
    ['412 → PreconditionFailedError', sdkError('PreconditionFailed', 412), 'fatal', PreconditionFailedError],
    ['409 ConditionalRequestConflict → PreconditionFailedError', sdkError('ConditionalRequestConflict', 409), 'fatal', PreconditionFailedError],
    ['SignatureDoesNotMatch → AccessDeniedError', sdkError('SignatureDoesNotMatch', 403), 'fatal', AccessDeniedError],
    ['SlowDown given up → ThrottledError', sdkError('SlowDown', 503), 'throttle', ThrottledError],
  ];
  for (const [name, err, kind, cls] of table) {
    it(name, () => {
      const mapped = toDomainError(err, kind, { operation: 'get', key: 'a/b' }, [], 1);
      assert.ok(mapped instanceof cls, mapped.name);
      assert.match(mapped.message, /^get "a\/b": /);
    });
  }
});
