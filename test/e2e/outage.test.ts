// An S3 outage seen through the real Linux NFS client (UML): `s3files serve` reaches Ceph RGW
// through the fault proxy. The guest makes a directory per outage mode and files in it; once
// they are in the bucket and the listings are past their TTL, the host makes S3 hang (requests
// taken, never answered) and then refuse connections, and in each phase the guest uses its
// directory: list, stat, read, a missing name (ENOENT: a directory made here is fully known),
// create, mkdir, remove, rename. Every call must answer, right, well within the client's
// timeo. Once S3 is back, what was done during the outage must reach the bucket.
//
// Host and guest take turns through files in $OUT/ctl (the guest sees the host's / by hostfs):
// the guest writes ready-PHASE and waits for go-PHASE, which the host writes after switching
// the proxy; the guest writes done-PHASE when its commands have run.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { S3Store } from '../../pkg/s3/s3-store';
import { skipS3, useSharedRgw, type CephRgw } from '../support/ceph-rgw';
import { requireE2E } from '../support/e2e';
import { E2E_EXPORT, mountLines, startServerInNs, tail } from '../support/e2e-steps';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy';
import { bucketKeys } from '../support/linked-fs';
import { bridgeIntoNs, type NsBridge } from '../support/ns-bridge';
import { S3filesServer } from '../support/s3files-server';
import { runGuest, shellQuote, TestNetwork, type GuestResult } from '../support/uml';
import { until } from '../support/proc';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const PREFIX = 'outage/';
const PHASES = ['hang', 'refuse'] as const;
type Phase = (typeof PHASES)[number];
/**
 * A bound on how long one command may block during the outage: far below the mount's timeo
 * (60 s for TCP), so no call ever reaches a retransmission; slack for a loaded 2-core machine.
 */
const BOUND_SECS = 5;
const BODIES: Record<string, string> = { f1: 'one\n', f2: 'two\n', f3: 'three\n' };
/** The commands each phase runs in its directory, in order: name and shell command. */
const COMMANDS: Array<[string, string]> = [
  ['ls1', 'ls -l "$D"'],
  ['stat-f1', `stat -c '%s %F' "$D/f1"`],
  ['cat-f1', 'cat "$D/f1"'],
  ['stat-missing', 'stat "$D/missing"'],
  ['touch-new', 'touch "$D/new"'],
  ['mkdir-sub', 'mkdir "$D/sub"'],
  ['rm-f2', 'rm "$D/f2"'],
  ['mv-f3', 'mv "$D/f3" "$D/f3b"'],
  ['ls2', 'ls -l "$D"'],
];

interface CommandResult { rc: number; secs: number; out: string }

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The guest's script: mount, make both directories, then one outage phase at a time. */
function outageScript(net: TestNetwork): string {
  const fill = PHASES.flatMap((p) => [
    `mkdir "$MNT/made-${p}"`,
    ...Object.entries(BODIES).map(([f, body]) => `printf '${body.replace(/\n/g, '\\n')}' > "$MNT/made-${p}/${f}"`),
  ]);
  const phase = (p: Phase) => [
    `echo > "$OUT/ctl/ready-${p}"`,
    `waitgo go-${p} || { echo "[outage] no go-${p}"; exit 1; }`,
    `export D="$MNT/made-${p}"`,
    ...COMMANDS.map(([name, cmd]) => `run ${p} ${name} ${shellQuote(cmd)}`),
    `echo > "$OUT/ctl/done-${p}"`,
  ];
  return [
    'set +e',
    `export MNT="$OUT/mnt"`,
    mountLines(net, '$OUT/mnt', E2E_EXPORT),
    // Polls by listing the directory: hostfs reads a directory from the host each time.
    'waitgo() { i=0; until ls "$OUT/ctl" | grep -qx "$1"; do sleep 0.2; i=$((i+1)); [ $i -lt 1500 ] || return 1; done; }',
    // run PHASE NAME CMD...: output, exit status and seconds of one command, killable when hung.
    'run() { ph=$1; n=$2; shift 2; t0=$(date +%s.%N); timeout -s KILL 120 sh -c "$1" > "$OUT/$ph.$n.out" 2>&1; rc=$?; ' +
      't1=$(date +%s.%N); echo "$n $rc $(echo "$t1 $t0" | awk \'{printf "%.3f", $1 - $2}\')" >> "$OUT/$ph.results"; ' +
      'echo "[outage] $ph $n rc=$rc"; }',
    `if { ${fill.join(' && ')}; } > "$OUT/fill.log" 2>&1; then echo 0 > "$OUT/fill.rc"; else echo $? > "$OUT/fill.rc"; exit 1; fi`,
    ...PHASES.flatMap(phase),
    'timeout -s KILL 60 umount "$MNT"; echo $? > "$OUT/umount.rc"',
    'exit 0',
    '',
  ].join('\n');
}

function readResults(outDir: string, p: Phase): Map<string, CommandResult> {
  const file = join(outDir, `${p}.results`);
  const results = new Map<string, CommandResult>();
  if (!existsSync(file)) return results;
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const [name, rc, secs] = line.split(' ');
    results.set(name, { rc: Number(rc), secs: Number(secs), out: readFileSync(join(outDir, `${p}.${name}.out`), 'utf8') });
  }
  return results;
}

/** The names `ls -l` printed (its first line is "total N"). */
function lsNames(out: string): string[] {
  return out.trim().split('\n').filter((l) => !l.startsWith('total')).map((l) => l.split(/\s+/).pop() ?? '').sort();
}

(skipS3() ? describe.skip : describe)('e2e: an S3 outage through the kernel NFS client (Ceph RGW, fault proxy)', function () {
  this.timeout(600_000);
  const rgw = useSharedRgw();
  let gw: CephRgw;
  let direct: S3Store;
  let proxy: FaultProxy | undefined;
  let net: TestNetwork | undefined;
  let bridge: NsBridge | undefined;
  let server: S3filesServer | undefined;
  let guest: GuestResult | undefined;
  let outDir = '';
  const hostError: string[] = [];
  /** Per phase: requests hung or connections refused by the proxy, and the bucket's keys at its end. */
  const outageMet = new Map<Phase, number>();
  const bucketDuringOutage = new Map<Phase, string[]>();
  const bucket = `outage-e2e-${Date.now().toString(36)}`;

  async function keysNow(): Promise<Map<string, number>> {
    return bucketKeys(direct, PREFIX);
  }

  /** The host's side of the handshake: switch the proxy when the guest is ready for a phase. */
  async function drivePhases(): Promise<void> {
    const ctl = join(outDir, 'ctl');
    for (const p of PHASES) {
      await until(`the guest's ready-${p}`, () => existsSync(join(ctl, `ready-${p}`)), 240_000, 200);
      if (p === PHASES[0]) {
        // Everything the guest made is in the bucket (listed directly, not through the proxy).
        const want = PHASES.flatMap((q) => [`made-${q}/`, ...Object.keys(BODIES).map((f) => `made-${q}/${f}`)]);
        await until('the files made in the guest to reach the bucket', async () => {
          const keys = await keysNow();
          return want.every((k) => keys.has(k));
        }, 60_000, 200);
        await sleep(2500); // every listing is past its TTL (1 s) now
      }
      proxy!.setMode(p);
      const met = () => (p === 'hang' ? proxy!.hung : proxy!.refused);
      const before = met();
      writeFileSync(join(ctl, `go-${p}`), '');
      await until(`the guest's done-${p}`, () => existsSync(join(ctl, `done-${p}`)), 240_000, 200);
      // The outage was real: the server's uploads of the changes met it, and none got through.
      await until(`the server to meet the outage (${p})`, () => met() > before, 10_000, 200);
      outageMet.set(p, met() - before);
      bucketDuringOutage.set(p, Array.from((await keysNow()).keys()).filter((k) => k.startsWith(`made-${p}/`)).sort());
    }
    proxy!.setMode('forward');
  }

  before(async function () {
    requireE2E(this);
    gw = await rgw();
    await gw.createBucket(bucket);
    direct = new S3Store({
      bucket, endpoint: gw.endpoint, region: gw.region, forcePathStyle: true,
      credentials: { accessKeyId: gw.accessKeyId, secretAccessKey: gw.secretAccessKey },
    });
    proxy = await startFaultProxy({ target: gw.endpoint });
    net = await TestNetwork.create();
    outDir = net.makeTempDir('guest');
    mkdirSync(join(outDir, 'ctl'));
    bridge = await bridgeIntoNs(net, proxy.port);
    server = await startServerInNs(net, { link: { gw, bucket, prefix: PREFIX, bridge, args: ['--sync-delay', '500ms', '--dir-ttl', '1s'] } });
    const running = runGuest(net, { script: outageScript(net), timeoutMs: 540_000, outDir });
    await drivePhases().catch((err: Error) => {
      hostError.push(err.message);
      proxy!.setMode('forward');
    });
    guest = await running;
    for (const p of PHASES) {
      const line = Array.from(readResults(outDir, p)).map(([n, r]) => `${n} ${r.rc === 0 ? '' : `rc=${r.rc} `}${r.secs.toFixed(2)} s`);
      // eslint-disable-next-line no-console
      console.log(`    ${p}: ${line.join(', ')}; ${outageMet.get(p) ?? 0} S3 connections/requests ${p === 'hang' ? 'hung' : 'refused'}`);
    }
  });

  after(async () => {
    if (proxy) proxy!.setMode('forward');
    await server?.stop();
    await bridge?.close();
    await proxy?.close();
    await net?.destroy();
    direct?.destroy();
  });

  function assertGuestRan(): void {
    const why = () => `host: ${hostError.join('; ') || 'ok'}\nguest console tail:\n${tail(guest?.log ?? '', 20)}\nserver log tail:\n${server?.logTail(20)}`;
    assert.equal(hostError.length, 0, why());
    assert.equal(readFileSync(join(outDir, 'mount.rc'), 'utf8').trim(), '0', why());
    assert.equal(readFileSync(join(outDir, 'fill.rc'), 'utf8').trim(), '0', why());
  }

  for (const p of PHASES) {
    it(`${p}: in a directory made here, every command answers right, each within ${BOUND_SECS} s`, () => {
      assertGuestRan();
      const r = readResults(outDir, p);
      assert.deepEqual(Array.from(r.keys()), COMMANDS.map(([n]) => n), `commands that ran in ${p}`);
      const slow = Array.from(r).filter(([, c]) => c.secs >= BOUND_SECS).map(([n, c]) => `${n} ${c.secs} s (rc ${c.rc})`);
      assert.deepEqual(slow, [], `blocked during the S3 outage (${p}):\n${server?.logTail(20)}`);
      for (const [name, c] of r) {
        if (name === 'stat-missing') {
          assert.equal(c.rc, 1, `stat of a missing name: ${c.out}`);
          assert.match(c.out, /No such file or directory/);
        } else {
          assert.equal(c.rc, 0, `${name}: rc ${c.rc}: ${c.out}`);
        }
      }
      assert.deepEqual(lsNames(r.get('ls1')!.out), ['f1', 'f2', 'f3']);
      assert.equal(r.get('stat-f1')!.out, `${BODIES.f1.length} regular file\n`);
      assert.equal(r.get('cat-f1')!.out, BODIES.f1);
      assert.deepEqual(lsNames(r.get('ls2')!.out), ['f1', 'f3b', 'new', 'sub']);
      // Nothing reached the bucket during the outage: the bucket still has what was there before.
      assert.deepEqual(bucketDuringOutage.get(p), [`made-${p}/`, `made-${p}/f1`, `made-${p}/f2`, `made-${p}/f3`]);
    });
  }

  it('once S3 is back, what was done during the outage reaches the bucket', async () => {
    assertGuestRan();
    const want = (q: Phase) => [`made-${q}/`, `made-${q}/f1`, `made-${q}/f3b`, `made-${q}/new`, `made-${q}/sub/`];
    const expected = PHASES.flatMap(want).sort();
    let keys: string[] = [];
    await until('the outage changes in the bucket', async () => {
      keys = Array.from((await keysNow()).keys()).sort();
      return JSON.stringify(keys) === JSON.stringify(expected);
    }, 90_000, 200).catch(() => undefined);
    assert.deepEqual(keys, expected, `bucket after the outage:\n${server?.logTail(20)}`);
    for (const q of PHASES) {
      assert.equal((await direct.getBuffer(`${PREFIX}made-${q}/f1`)).data.toString(), BODIES.f1);
      assert.equal((await direct.getBuffer(`${PREFIX}made-${q}/f3b`)).data.toString(), BODIES.f3);
      assert.equal((await direct.getBuffer(`${PREFIX}made-${q}/new`)).data.length, 0);
    }
  });
});
