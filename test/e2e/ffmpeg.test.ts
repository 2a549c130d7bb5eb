// The FFmpeg test through the real Linux NFS client: a 20 s lavfi video made on local disk is
// transcoded to MP3 (the muxer seeks back to rewrite the Xing/Info header) and remuxed to MP4
// twice (plain, and +faststart, which re-reads the file and moves the moov atom to the front),
// writing onto the NFS mount. ffmpeg exits 0 even when its trailer write fails, so the outputs
// are compared byte for byte with the same commands run on the host's local disk.
import assert from 'assert';
import { execFileSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { requireE2E } from '../support/e2e';
import { assertStep, guestScript, mountCommand, startServerInNs, step, stepSummary, WORKLOADS } from '../support/e2e-steps';
import type { S3filesServer } from '../support/s3files-server';
import { runGuest, TestNetwork, type GuestResult } from '../support/uml';

const OUTPUTS = ['out.mp3', 'out.mp4', 'fs.mp4'];

function which(cmd: string): boolean {
  return (process.env.PATH ?? '/usr/bin').split(':').some((d) => existsSync(join(d, cmd)));
}

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

describe('e2e: ffmpeg writing onto s3files through the kernel NFS client', function () {
  this.timeout(600_000);
  let net: TestNetwork | undefined;
  let server: S3filesServer | undefined;
  let guest: GuestResult | undefined;
  let refDir = '';
  const steps = ['ff-local-input', 'copy-input', 'ff-nfs-input', 'remount', 'copy-out', 'umount'];

  before(async function () {
    requireE2E(this, [{ ok: which('ffmpeg'), what: 'ffmpeg (apt-get install ffmpeg)' }]);
    net = await TestNetwork.create();
    const work = net.makeTempDir('ffmpeg');
    const input = join(work, 'in.mp4');
    refDir = join(work, 'ref');
    // The input and the reference outputs, on the host's local disk.
    execFileSync('sh', [join(WORKLOADS, 'ffmpeg.sh'), 'gen', input], { stdio: 'pipe' });
    execFileSync('sh', [join(WORKLOADS, 'ffmpeg.sh'), 'run', input, refDir, join(work, 'ref-logs')], { stdio: 'pipe' });
    server = await startServerInNs(net);
    const script = guestScript(net, [
      step('ff-local-input', `sh "$W/ffmpeg.sh" run ${input} "$MNT/ff1" "$OUT/ff1-logs"`, 300),
      step('copy-input', `cp ${input} "$MNT/in.mp4" && cmp ${input} "$MNT/in.mp4"`, 120),
      step('ff-nfs-input', `sh "$W/ffmpeg.sh" run "$MNT/in.mp4" "$MNT/ff2" "$OUT/ff2-logs"`, 300),
      // Read the outputs back from the server, not from this client's page cache.
      step('remount', `umount "$MNT" && ${mountCommand(net, '$MNT')}`, 60),
      step('copy-out', 'cp -r "$MNT/ff1" "$OUT/got1" && cp -r "$MNT/ff2" "$OUT/got2"', 120),
    ]);
    guest = await runGuest(net, { script, timeoutMs: 540_000 });
    // eslint-disable-next-line no-console
    console.log(`    guest ${Math.round(guest.durationMs / 1000)} s; ${stepSummary(guest.outDir, steps)}`);
  });

  after(async () => {
    await server?.stop();
    await net?.destroy();
  });

  it('the ffmpeg runs and the copies completed in the guest', () => {
    for (const s of ['ff-local-input', 'copy-input', 'ff-nfs-input', 'remount', 'copy-out']) assertStep(guest, s, server);
  });

  for (const [label, dir] of [['input on local disk', 'got1'], ['input on the NFS mount', 'got2']] as const) {
    for (const name of OUTPUTS) {
      it(`${name} (${label}) is byte-identical to the local-disk run`, () => {
        assert.ok(guest, 'guest did not run');
        const gotPath = join(guest.outDir, dir, name);
        assert.ok(existsSync(gotPath), `${name} was not produced on the mount (${dir}); ${stepSummary(guest.outDir, steps)}`);
        const want = readFileSync(join(refDir, name));
        const got = readFileSync(gotPath);
        const at = firstDiff(got, want);
        assert.ok(
          got.equals(want),
          `${name}: ${got.length} bytes on NFS vs ${want.length} on local disk; first difference at byte ${at}` +
            ` (got ${got.subarray(at, at + 16).toString('hex')} want ${want.subarray(at, at + 16).toString('hex')})`,
        );
      });
    }
  }

  it('unmounts cleanly', () => {
    assertStep(guest, 'umount', server);
  });
});
