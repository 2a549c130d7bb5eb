// MOUNT v3 over a real RPC server on 127.0.0.1, checked byte for byte against RFC 1813 §5.2.
import assert from 'node:assert/strict';
import { FsError } from '../../vfs';
import { ExportRegistry } from '../exports';
import { HandleCodec } from '../handles';
import { RpcServer } from '../rpc';
import { XdrWriter } from '../xdr';
import { FakeRootOnlyFs } from '../../../test/support/fake-root-only-fs';
import { NONE_AUTH, RpcTestClient, type ParsedReply } from '../../../test/support/rpc-client';
import { captureLogger } from '../../../test/support/rpc-test-program';
import { MOUNT_PROGRAM, MOUNT_V3, MountProc, createMountProgram } from '.';

const hex = (s: string): string => s.replace(/\s+/g, '');
const dirpath = (p: string): Buffer => Buffer.from(new XdrWriter().string(p).toBuffer());
/** xid, REPLY, MSG_ACCEPTED, verifier AUTH_NONE, SUCCESS. */
const success = (xid: number): string => `${xid.toString(16).padStart(8, '0')} 00000001 00000000 00000000 00000000 00000000`;

const HOST = '00000009 3132372e302e302e31000000'; // "127.0.0.1"
const DATA = '00000005 2f64617461000000'; // "/data"
const LOGS = '00000005 2f6c6f6773000000'; // "/logs"

describe('MOUNT v3 (RFC 1813 appendix I)', () => {
  const handles = new HandleCodec(Buffer.alloc(32, 9));
  const logs = captureLogger();
  let exports: ExportRegistry;
  let dataFs: FakeRootOnlyFs;
  let server: RpcServer;
  let client: RpcTestClient;
  let xid = 100;

  function call(proc: number, args: Buffer = Buffer.alloc(0), vers = MOUNT_V3): Promise<ParsedReply> {
    return client.call(MOUNT_PROGRAM, vers, proc, args, { xid: ++xid });
  }
  async function raw(proc: number, args?: Buffer): Promise<string> {
    return (await call(proc, args)).raw.toString('hex');
  }

  beforeEach(async () => {
    exports = new ExportRegistry();
    dataFs = new FakeRootOnlyFs(1, 7);
    exports.add('data', dataFs.asFileSystem());
    exports.add('/logs', new FakeRootOnlyFs(5, 0xfffffffe).asFileSystem());
    server = new RpcServer({ programs: [createMountProgram({ exports, handles, logger: logs.logger })], logger: logs.logger });
    const { port } = await server.listen('127.0.0.1', 0);
    client = await RpcTestClient.connect(port);
  });

  afterEach(async () => {
    client.close();
    await server.close();
  });

  it('NULL returns nothing', async () => {
    assert.equal(await raw(MountProc.NULL), hex(success(xid)));
  });

  it('MNT of an export returns MNT3_OK, the root handle and [AUTH_SYS]', async () => {
    const fh = handles.encode(exports.byName('/data')!.id, 1, 7);
    const got = await raw(MountProc.MNT, dirpath('/data'));
    //                              MNT3_OK  fhandle3 (40 bytes)                         auth_flavors<> = {AUTH_SYS}
    assert.equal(got, hex(`${success(xid)} 00000000 00000028 ${fh.toString('hex')} 00000001 00000001`));
    assert.deepEqual(handles.decode(fh), { exportId: exports.byName('/data')!.id, ino: 1, generation: 7 });
  });

  it('MNT carries the root generation into the handle', async () => {
    const r = await call(MountProc.MNT, dirpath('/logs'));
    assert.equal(r.results.uint32(), 0);
    assert.deepEqual(handles.decode(r.results.opaque(64)), { exportId: exports.byName('logs')!.id, ino: 5, generation: 0xfffffffe });
  });

  it('MNT accepts the export name without a leading slash or with a trailing one', async () => {
    const a = (await call(MountProc.MNT, dirpath('data/'))).raw.subarray(24);
    const b = (await call(MountProc.MNT, dirpath('/data'))).raw.subarray(24);
    assert.ok(a.equals(b));
  });

  it('MNT is accepted from AUTH_NONE callers too', async () => {
    const r = await client.call(MOUNT_PROGRAM, MOUNT_V3, MountProc.MNT, dirpath('/data'), { cred: NONE_AUTH });
    assert.equal(r.results.uint32(), 0);
  });

  it('[error] MNT of an unknown export → MNT3ERR_NOENT and no body', async () => {
    assert.equal(await raw(MountProc.MNT, dirpath('/nope')), hex(`${success(xid)} 00000002`));
  });

  it('[error] MNT of a subdirectory of an export → MNT3ERR_NOENT (only export roots)', async () => {
    assert.equal(await raw(MountProc.MNT, dirpath('/data/sub')), hex(`${success(xid)} 00000002`));
  });

  it('[error] MNT of a 1025-byte dirpath → GARBAGE_ARGS (dirpath<MNTPATHLEN>)', async () => {
    assert.equal(await raw(MountProc.MNT, dirpath(`/${'a'.repeat(1024)}`)), hex(`${success(xid).slice(0, -8)} 00000004`));
  });

  it('MNT of a 1024-byte dirpath decodes (and is not an export)', async () => {
    assert.equal(await raw(MountProc.MNT, dirpath(`/${'a'.repeat(1023)}`)), hex(`${success(xid)} 00000002`));
  });

  const failures: Array<[string, Error, string]> = [
    ['[error] root getattr EIO → MNT3ERR_IO', new FsError('EIO'), '00000005'],
    ['[error] root getattr EACCES → MNT3ERR_ACCES', new FsError('EACCES'), '0000000d'],
    ['[error] root getattr ESTALE → MNT3ERR_NOENT', new FsError('ESTALE'), '00000002'],
    ['[error] root getattr ENOSPC → MNT3ERR_SERVERFAULT', new FsError('ENOSPC'), '00002716'],
  ];
  for (const [name, err, status] of failures) {
    it(name, async () => {
      dataFs.failWith = err;
      assert.equal(await raw(MountProc.MNT, dirpath('/data')), hex(`${success(xid)} ${status}`));
      assert.equal(await raw(MountProc.DUMP), hex(`${success(xid)} 00000000`), 'a failed MNT is not recorded');
    });
  }

  it('[error] root getattr throwing a non-FsError → SYSTEM_ERR', async () => {
    dataFs.failWith = new TypeError('bug');
    assert.equal(await raw(MountProc.MNT, dirpath('/data')), hex(`${success(xid).slice(0, -8)} 00000005`));
  });

  it('DUMP is empty before any MNT', async () => {
    assert.equal(await raw(MountProc.DUMP), hex(`${success(xid)} 00000000`));
  });

  it('DUMP lists each (host, export) once after MNTs', async () => {
    await call(MountProc.MNT, dirpath('/data'));
    await call(MountProc.MNT, dirpath('data'));
    await call(MountProc.MNT, dirpath('/logs'));
    assert.equal(await raw(MountProc.DUMP), hex(`${success(xid)} 00000001 ${HOST} ${DATA} 00000001 ${HOST} ${LOGS} 00000000`));
  });

  it('UMNT removes one entry (returning void) and UMNTALL the rest', async () => {
    await call(MountProc.MNT, dirpath('/data'));
    await call(MountProc.MNT, dirpath('/logs'));
    assert.equal(await raw(MountProc.UMNT, dirpath('data/')), hex(success(xid)));
    assert.equal(await raw(MountProc.DUMP), hex(`${success(xid)} 00000001 ${HOST} ${LOGS} 00000000`));
    assert.equal(await raw(MountProc.UMNTALL), hex(success(xid)));
    assert.equal(await raw(MountProc.DUMP), hex(`${success(xid)} 00000000`));
  });

  it('a flood of MNT/UMNT calls from one client logs a line a minute, not one per call', async () => {
    logs.entries.length = 0;
    for (let i = 0; i < 200; i++) {
      await call(MountProc.MNT, dirpath('/data'));
      await call(MountProc.UMNT, dirpath('/data'));
      await call(MountProc.MNT, dirpath('/nope'));
    }
    const lines = logs.entries.filter((e) => e.level === 'info' || e.level === 'warn');
    assert.deepEqual(lines.map((e) => e.message).sort(), ['mount refused: no such export', 'mounted', 'unmounted']);
  });

  it('UMNT of something never mounted is not an error', async () => {
    assert.equal(await raw(MountProc.UMNT, dirpath('/nope')), hex(success(xid)));
  });

  it('EXPORT lists every export with an empty group list', async () => {
    //                                    exportnode: dir  groups=NULL   next...
    assert.equal(await raw(MountProc.EXPORT), hex(`${success(xid)} 00000001 ${DATA} 00000000 00000001 ${LOGS} 00000000 00000000`));
  });

  it('EXPORT follows exports added and removed at run time', async () => {
    exports.remove('data');
    assert.equal(await raw(MountProc.EXPORT), hex(`${success(xid)} 00000001 ${LOGS} 00000000 00000000`));
  });

  for (const vers of [1, 2, 4]) {
    it(`[error] MOUNT version ${vers} → PROG_MISMATCH low 3 high 3`, async () => {
      const r = await call(MountProc.NULL, Buffer.alloc(0), vers);
      assert.equal(r.raw.toString('hex'), hex(`${success(xid).slice(0, -8)} 00000002 00000003 00000003`));
    });
  }

  it('[error] unknown MOUNT procedure → PROC_UNAVAIL', async () => {
    assert.equal(await raw(6), hex(`${success(xid).slice(0, -8)} 00000003`));
  });
});
