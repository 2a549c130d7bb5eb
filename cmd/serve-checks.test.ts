// The checks `s3files serve` makes before touching its cache directory, and the exact messages
// a user reads when one fails.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { parseLogLevel } from './mode-flags';
import { checkCacheDir, checkEndpoint, checkExportNames, checkListen, explainLinkConflict, exposureWarning } from './serve-checks';
import { explainStoreFailure } from './serve-link';

describe('serve: checks before the cache is touched, and their messages', () => {
  it('warns when listening beyond loopback without root or all squash', () => {
    const none = { rootSquash: false, allSquash: false };
    assert.equal(
      exposureWarning('0.0.0.0', none),
      'listening on 0.0.0.0, reachable from other hosts, without --root-squash or --all-squash: NFS AUTH_SYS trusts the uid a client sends, so any host that can reach the port can act as root on the exports',
    );
    assert.ok(exposureWarning('10.1.2.3', none));
    assert.equal(exposureWarning('127.0.0.1', none), undefined);
    assert.equal(exposureWarning('::1', none), undefined);
    assert.equal(exposureWarning('localhost', none), undefined);
    assert.equal(exposureWarning('0.0.0.0', { rootSquash: true, allSquash: false }), undefined);
    assert.equal(exposureWarning('0.0.0.0', { rootSquash: false, allSquash: true }), undefined);
  });

  it('--log-level: one of the listed levels, else an error listing them', () => {
    assert.equal(parseLogLevel('DEBUG'), 'debug');
    assert.throws(() => parseLogLevel('verbose'), { message: '--log-level must be one of error, warn, info, debug; got "verbose"' });
  });

  it('--endpoint: host:port alone is named as the flag, with the URL it probably meant', () => {
    assert.throws(() => checkEndpoint('minio:9000'), { message: '--endpoint must be an http:// or https:// URL such as http://minio:9000, got "minio:9000"' });
    assert.throws(() => checkEndpoint('ftp://x'), { message: '--endpoint must be an http:// or https:// URL such as http://127.0.0.1:7480, got "ftp://x"' });
    assert.equal(checkEndpoint('http://127.0.0.1:7480'), 'http://127.0.0.1:7480');
  });

  it('--export: invalid and repeated names', () => {
    assert.throws(() => checkExportNames(['data', 'a b']), { message: '--export "a b" is not a valid export name (letters, digits, . _ - and / between parts)' });
    assert.throws(() => checkExportNames(['data', '/data/']), { message: '--export names /data twice' });
    checkExportNames(['data', 'team/logs']);
  });

  it('--listen: a busy port and a foreign address say so', async () => {
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const { port } = busy.address() as net.AddressInfo;
    try {
      await assert.rejects(checkListen('127.0.0.1', port, '--listen'), { message: `--listen 127.0.0.1:${port}: cannot listen there: the port is in use (another s3files serve?)` });
    } finally {
      busy.close();
    }
    await assert.rejects(checkListen('10.255.255.254', 20490, '--listen'), { message: '--listen 10.255.255.254:20490: cannot listen there: no interface of this machine has that address' });
  });

  it('--cache-dir: unusable directories are named with the reason, not a raw errno on a temporary file', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 's3files-checks-'));
    writeFileSync(path.join(tmp, 'file'), '');
    await assert.rejects(checkCacheDir(path.join(tmp, 'file', 'cache')), {
      message: `--cache-dir ${path.join(tmp, 'file', 'cache')} is not usable: a part of the path is a file, not a directory; pass a writable directory`,
    });
    await assert.rejects(checkCacheDir('/proc/s3files-cache'), { message: '--cache-dir /proc/s3files-cache is not usable: the directory cannot be created there; pass a writable directory' });
    try {
      await checkCacheDir(path.join(tmp, 'a', 'b'));
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('a cache linked elsewhere: says where, and what to do', () => {
    const err = new Error('cache directory is linked to folder:/srv/c/objects/, not s3://photos/');
    assert.equal(
      explainLinkConflict(err, '/srv/c', 'data')?.message,
      '--cache-dir /srv/c already holds export "data" linked to folder:/srv/c/objects/; a cache directory stays linked to one place, so it cannot serve s3://photos/. ' +
        'Pass another --cache-dir for s3://photos/, or serve this one as before (without --bucket).',
    );
    assert.equal(explainLinkConflict(new Error('disk full'), '/srv/c', 'data'), undefined);
  });

  it('an unreachable endpoint: named, with the errno spelled out', () => {
    const sdkError = Object.assign(new Error('list "": transient failure: Error after 8 attempts'), { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });
    assert.equal(
      explainStoreFailure(sdkError, { bucket: 'b', endpoint: 'http://127.0.0.1:9' }).message,
      'cannot reach the S3 endpoint http://127.0.0.1:9 for bucket b: ECONNREFUSED (connection refused: nothing listens there); check --endpoint and that the server is up',
    );
    assert.equal(explainStoreFailure(new Error('access denied'), { bucket: 'b', region: 'eu-west-1' }).message, 'bucket b at AWS S3 (region eu-west-1): access denied');
  });
});
