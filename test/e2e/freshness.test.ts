// Freshness and S3 Files' metadata keys through the real Linux NFS client (UML):
//   - `s3files serve --dir-ttl 1h --events-listen …` inside the test network; Ceph RGW on the
//     host (its own gateway, civetweb: see bucket-events.test.ts) with a real topic pushing the
//     bucket's notifications to the server's events endpoint (through a bridge out of the
//     namespace). An object created, overwritten and deleted with an S3 client from the host
//     must be seen by the guest within 2 s each (measured in the guest from the moment the S3
//     call returned); with a TTL of an hour only the event can have done it. The guest mounts
//     with actimeo=1: the kernel client's own attribute cache is part of what it sees.
//   - `--metadata-style s3files`: objects put with S3 Files' keys show their owner and mode in
//     the guest (defaults root:root 0644 / 0755 without); what the guest writes carries exactly
//     S3 Files' keys in the bucket.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UPLOAD_TOKEN } from '../../pkg/reconcile/object-meta';
import { S3Store } from '../../pkg/s3/s3-store';
import { skipS3, startCephRgw, type CephRgw } from '../support/ceph-rgw';
import { requireE2E } from '../support/e2e';
import { assertStep, E2E_EXPORT, E2E_PORT, startServerInNs, step } from '../support/e2e-steps';
import { bridgeIntoNs, bridgeOutOfNs, type NsBridge, type NsBridgeOut } from '../support/ns-bridge';
import { createPushTopic, notifyBucket } from '../support/rgw-notifications';
import { S3filesServer } from '../support/s3files-server';
import { nfsMountCommand, runGuest, TestNetwork, type GuestResult } from '../support/uml';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const PREFIX = 'fresh/';
const TOKEN = 'e2e-events-token-abcdef0123456789';
const EVENTS_PORT = 20491;
const LIMIT_MS = 2000;
const PHASES = ['create', 'overwrite', 'delete'] as const;
const DONE: Record<(typeof PHASES)[number], string> = { create: 'created', overwrite: 'overwritten', delete: 'deleted' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Guest lines: tell the host we are ready for PHASE, wait for its go, then time until `visible` holds. */
function timedPhase(phase: string, visible: string): string {
  return [
    `echo ready > "$OUT/ready-${phase}"`,
    `n=0; while [ ! -e "$OUT/go-${phase}" ] && [ $n -lt 1200 ]; do sleep 0.05; n=$((n+1)); done`,
    `t0=$(date +%s%N); ok=0`,
    `while [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 15000 ]; do if ${visible}; then ok=1; break; fi; sleep 0.05; done`,
    `echo "$ok $(( ($(date +%s%N) - t0) / 1000000 ))" > "$OUT/${phase}.ms"`,
  ].join('\n');
}

(skipS3() ? describe.skip : describe)('e2e: bucket events and S3 Files metadata through the kernel NFS client', function () {
  this.timeout(600_000);
  let gw: CephRgw | undefined;
  let store: S3Store;
  let net: TestNetwork | undefined;
  let bridge: NsBridge | undefined;
  let out: NsBridgeOut | undefined;
  let server: S3filesServer | undefined;
  let guest: GuestResult | undefined;
  const bucket = `fresh-${Date.now().toString(36)}`;
  const hostErrors: string[] = [];

  before(async function () {
    requireE2E(this);
    gw = await startCephRgw(2, 'civetweb');
    await gw.createBucket(bucket);
    store = new S3Store({ bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true, credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey } });
    // Shaped as S3 Files documents them.
    await store.put(`${PREFIX}meta/owned.txt`, Buffer.from('owned\n'), { metadata: { 'file-owner': '1000', 'file-group': '1001', 'file-permissions': '0100640' } });
    await store.put(`${PREFIX}meta/dir/`, Buffer.alloc(0), { metadata: { 'file-owner': '1002', 'file-group': '1003', 'file-permissions': '0040750' }, contentType: 'application/x-directory' });
    await store.put(`${PREFIX}meta/plain.txt`, Buffer.from('plain\n'));
    await store.put(`${PREFIX}meta/implicit/inner.txt`, Buffer.from('i\n'));
    await store.put(`${PREFIX}live/existing.txt`, Buffer.from('version 1\n'));

    net = await TestNetwork.create();
    bridge = await bridgeIntoNs(net, gw.port);
    server = await startServerInNs(net, {
      link: {
        gw, bucket, prefix: PREFIX, bridge,
        args: ['--sync-delay', '1s', '--dir-ttl', '1h', '--metadata-style', 's3files', '--events-listen', `127.0.0.1:${EVENTS_PORT}`],
        env: { S3FILES_EVENTS_TOKEN: TOKEN },
      },
    });
    out = await bridgeOutOfNs(net, EVENTS_PORT);
    const arn = await createPushTopic(gw, `fresh-${bucket}`, `http://127.0.0.1:${out.port}/events?token=${TOKEN}`);
    await notifyBucket(gw, bucket, arn);

    const mount = nfsMountCommand({ host: net.hostIp, port: E2E_PORT, exportPath: `/${E2E_EXPORT}`, mountPoint: '$OUT/mnt', options: ['actimeo=1'] });
    const script = [
      'set +e',
      'export MNT="$OUT/mnt"',
      'mkdir -p "$MNT"',
      `if ${mount} > "$OUT/mount.log" 2>&1; then echo 0 > "$OUT/mount.rc"; else echo $? > "$OUT/mount.rc"; exit 1; fi`,
      step('meta', [
        `stat -c '%n %F %a %u %g' "$MNT/meta/owned.txt" "$MNT/meta/dir" "$MNT/meta/plain.txt" "$MNT/meta/implicit" | sed "s|$MNT/||" > "$OUT/meta.stat"`,
        `mkdir "$MNT/meta/made" && chmod 711 "$MNT/meta/made" && chown 1234:1235 "$MNT/meta/made"`,
        `echo written > "$MNT/meta/written.txt" && chmod 604 "$MNT/meta/written.txt" && chown 1234:1235 "$MNT/meta/written.txt"`,
      ].join(' && '), 120),
      step('fresh', [
        `ls "$MNT/live" > "$OUT/live-before.txt"`,
        `cat "$MNT/live/existing.txt" > /dev/null`,
        timedPhase('create', `[ -e "$MNT/live/new.txt" ]`),
        timedPhase('overwrite', `[ "$(cat "$MNT/live/existing.txt" 2>/dev/null)" = "version 2" ]`),
        timedPhase('delete', `[ ! -e "$MNT/live/existing.txt" ]`),
        `cat "$MNT/live/new.txt" > "$OUT/new.txt"`,
      ].join('\n'), 200),
      step('umount', `umount "$MNT"`, 60),
      'exit 0',
      '',
    ].join('\n');
    const outDir = net.makeTempDir('guest');
    const running = runGuest(net, { script, timeoutMs: 480_000, outDir });
    // The host's side of the timed phases: act on the bucket when the guest is ready.
    const actions: Record<(typeof PHASES)[number], () => Promise<unknown>> = {
      create: () => store.put(`${PREFIX}live/new.txt`, Buffer.from('brand new\n')),
      overwrite: () => store.put(`${PREFIX}live/existing.txt`, Buffer.from('version 2\n')),
      delete: () => store.delete(`${PREFIX}live/existing.txt`),
    };
    let done = false;
    void running.then(() => (done = true));
    for (const phase of PHASES) {
      while (!done && !existsSync(join(outDir, `ready-${phase}`))) await sleep(50);
      if (done) break;
      try {
        await actions[phase]();
      } catch (err) {
        hostErrors.push(`${phase}: ${String(err)}`);
      }
      writeFileSync(join(outDir, `go-${phase}`), 'go\n');
    }
    guest = await running;
  });

  after(async () => {
    await server?.stop();
    await out?.close();
    await bridge?.close();
    await net?.destroy();
    store?.destroy();
    await gw?.stop();
  });

  it('objects with S3 Files keys have their owner and mode in the guest; without, root:root 0644/0755', () => {
    assertStep(guest, 'meta', server);
    const lines = readFileSync(join(guest!.outDir, 'meta.stat'), 'utf8').trim().split('\n');
    assert.deepEqual(lines, [
      'meta/owned.txt regular file 640 1000 1001',
      'meta/dir directory 750 1002 1003',
      'meta/plain.txt regular file 644 0 0',
      'meta/implicit directory 755 0 0',
    ]);
  });

  for (const phase of PHASES) {
    it(`an object ${DONE[phase]} in the bucket is seen by the guest within ${LIMIT_MS} ms (TTL one hour)`, () => {
      assert.deepEqual(hostErrors, []);
      assertStep(guest, 'fresh', server);
      const [ok, ms] = readFileSync(join(guest!.outDir, `${phase}.ms`), 'utf8').trim().split(' ');
      // eslint-disable-next-line no-console
      console.log(`      ${phase}: visible in the guest after ${ms} ms`);
      assert.equal(ok, '1', `${phase}: never visible (waited ${ms} ms)\n${server?.logTail(30)}`);
      assert.ok(Number(ms) <= LIMIT_MS, `${phase}: visible after ${ms} ms`);
    });
  }

  it('what the guest wrote carries exactly S3 Files keys', async () => {
    assertStep(guest, 'umount', server);
    assert.equal(readFileSync(join(guest!.outDir, 'new.txt'), 'utf8'), 'brand new\n');
    const want = ['file-group', 'file-mtime', 'file-owner', 'file-permissions', UPLOAD_TOKEN].sort();
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const file = await store.head(`${PREFIX}meta/written.txt`);
        const dir = await store.head(`${PREFIX}meta/made/`);
        if (file.metadata['file-owner'] === '1234' && dir.metadata['file-owner'] === '1234') {
          assert.deepEqual(Object.keys(file.metadata).sort(), want);
          assert.deepEqual([file.metadata['file-permissions'], file.metadata['file-group']], ['0100604', '1235']);
          assert.deepEqual(Object.keys(dir.metadata).filter((k) => k !== UPLOAD_TOKEN).sort(), want.filter((k) => k !== UPLOAD_TOKEN));
          assert.deepEqual([dir.metadata['file-permissions'], dir.metadata['file-group']], ['0040711', '1235']);
          return;
        }
      } catch {
        // not uploaded yet
      }
      if (Date.now() > deadline) assert.fail(`the guest's files are not in the bucket with S3 Files keys after 30 s\n${server?.logTail(20)}`);
      await sleep(500);
    }
  });
});
