// NfsServer over a real TCP socket with a real cache file system: the composition of MOUNT,
// NFS, exports and the duplicate request cache.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import winston from 'winston';
import { openCacheFileSystem } from '../cache';
import { RpcTestClient } from '../../test/support/rpc-client';
import { metrics } from '../metrics/registry';
import { XdrWriter } from './xdr';
import { NfsServer } from './server';

const quiet = winston.createLogger({ silent: true });
const NFS = 100003;
const MOUNT = 100005;
const LOOKUP = 3;
const CREATE = 8;
const REMOVE = 12;
const NFS3_OK = 0;
const NFS3ERR_NOENT = 2;
const NFS3ERR_STALE = 70;

describe('NfsServer', () => {
  let dir: string;
  let server: NfsServer;
  let client: RpcTestClient;
  let root: Buffer;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 's3files-server-'));
    server = await NfsServer.create({ stateDir: dir, logger: quiet });
    server.addExport('data', await openCacheFileSystem({ dir: path.join(dir, 'data'), logger: quiet }));
    const { port } = await server.listen('127.0.0.1', 0);
    client = await RpcTestClient.connect(port);
    const mnt = await client.call(MOUNT, 3, 1, new XdrWriter().string('/data').toBuffer());
    assert.equal(mnt.results.uint32(), 0);
    root = Buffer.from(mnt.results.opaque(64));
  });

  afterEach(async () => {
    client.socket.destroy();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const dirop = (name: string): Buffer => new XdrWriter().opaque(root).string(name).toBuffer();

  async function createFile(name: string): Promise<void> {
    // CREATE3args: where (dir, name), createhow3 UNCHECKED with an empty sattr3 (six FALSEs).
    const w = new XdrWriter().opaque(root).string(name).uint32(0);
    for (let i = 0; i < 6; i++) w.uint32(0);
    const r = await client.call(NFS, 3, CREATE, w.toBuffer());
    assert.equal(r.results.uint32(), NFS3_OK);
  }

  it('replays a retransmitted REMOVE (same xid) instead of answering NOENT', async () => {
    await createFile('victim');
    const first = await client.call(NFS, 3, REMOVE, dirop('victim'), { xid: 4242 });
    const again = await client.call(NFS, 3, REMOVE, dirop('victim'), { xid: 4242 });
    assert.equal(first.results.uint32(), NFS3_OK);
    assert.equal(again.results.uint32(), NFS3_OK, 'the retransmission got the first reply');
    assert.deepEqual(again.raw, first.raw);
    const fresh = await client.call(NFS, 3, REMOVE, dirop('victim'), { xid: 4243 });
    assert.equal(fresh.results.uint32(), NFS3ERR_NOENT, 'a new call (new xid) really runs');
  });

  it('handles of a removed export become STALE; the export can come back', async () => {
    await createFile('f');
    const lookup = async (): Promise<number> =>
      (await client.call(NFS, 3, LOOKUP, dirop('f'))).results.uint32();
    assert.equal(await lookup(), NFS3_OK);
    assert.equal(await server.removeExport('data'), true);
    assert.equal(await lookup(), NFS3ERR_STALE);
    server.addExport('data', await openCacheFileSystem({ dir: path.join(dir, 'data'), logger: quiet }));
    assert.equal(await lookup(), NFS3_OK, 'same export name and tree: the old handle is valid again');
  });

  it('counts and times every call by program, procedure and outcome', async () => {
    const m = metrics();
    const count = async (labels: Record<string, string>): Promise<number> =>
      (await m.rpcCalls.get()).values.find((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, unknown>)[k] === x))?.value ?? 0;
    const lookups = await count({ program: 'nfs', procedure: 'lookup', outcome: 'success' });
    const nulls = await count({ program: 'nfs', procedure: 'null', outcome: 'success' });
    await createFile('counted');
    for (let i = 0; i < 3; i++) await client.call(NFS, 3, LOOKUP, dirop('counted'));
    await client.call(NFS, 3, 0);
    await client.call(NFS, 3, LOOKUP, Buffer.alloc(2)); // truncated arguments
    assert.equal(await count({ program: 'nfs', procedure: 'lookup', outcome: 'success' }), lookups + 3);
    assert.equal(await count({ program: 'nfs', procedure: 'null', outcome: 'success' }), nulls + 1);
    assert.ok((await count({ program: 'nfs', procedure: 'lookup', outcome: 'garbage_args' })) >= 1);
    const text = await m.registry.getSingleMetricAsString('s3files_rpc_call_duration_seconds');
    assert.match(text, /s3files_rpc_call_duration_seconds_count\{program="nfs",procedure="lookup"\} [1-9]/);
  });
});
