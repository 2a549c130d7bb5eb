// End to end through the real Linux NFS client (User-Mode Linux) against `s3files serve`:
// the random-operation data-integrity checker (fsx), POSIX semantics checks, and tar x + git
// on a source tree. One guest runs every workload (each under its own timeout); each `it`
// asserts on one workload's recorded result.
import assert from 'assert';
import { execFileSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { requireE2E } from '../support/e2e';
import { assertStep, guestScript, readStep, skipUnlessSelected, startServerInNs, step, stepSummary, WORKLOADS } from '../support/e2e-steps';
import { REPO_ROOT, type S3filesServer } from '../support/s3files-server';
import { runGuest, TestNetwork, type GuestResult } from '../support/uml';

// A fixed seed (regression) and one that changes per run (new coverage); both are printed.
const FSX_SEEDS = [1, Number(process.env.S3FILES_FSX_SEED ?? Date.now() % 1_000_000)];
const FSX_OPS = Number(process.env.S3FILES_FSX_OPS ?? 3000);
// ~1,950 files and symlinks, 9 MB: big enough for readdir paging, git's object fan-out and
// hard links, small enough to keep the suite at a few minutes under UML. Archived relative to
// node_modules so every directory has its own entry (and mtime) in the archive.
const TREE_ROOT = join(REPO_ROOT, 'node_modules');
const TREE = (process.env.S3FILES_E2E_TREE ?? '@smithy .bin').split(/\s+/);

describe('e2e: kernel NFS client on s3files — fsx, POSIX semantics, tar + git', function () {
  this.timeout(900_000);
  let net: TestNetwork | undefined;
  let server: S3filesServer | undefined;
  let guest: GuestResult | undefined;
  const steps = ['fsx-a', 'fsx-b', 'fsx-small', 'semantics', 'gittar', 'umount'];

  before(async function () {
    requireE2E(this, [
      { ok: existsSync('/usr/bin/python3'), what: '/usr/bin/python3' },
      { ok: existsSync('/usr/bin/git'), what: 'git' },
      { ok: existsSync('/usr/bin/setpriv'), what: 'setpriv (util-linux)' },
    ]);
    net = await TestNetwork.create();
    const work = net.makeTempDir('posix');
    const tarball = join(work, 'tree.tar');
    const ref = join(work, 'gittar-ref');
    execFileSync('tar', ['cf', tarball, '-C', TREE_ROOT, ...TREE]);
    // The reference extraction, repo and commit id, on the host's local disk.
    execFileSync('sh', [join(WORKLOADS, 'gittar.sh'), 'prepare', tarball, ref], { stdio: 'pipe' });
    server = await startServerInNs(net);
    const [seedA, seedB] = FSX_SEEDS;
    const fsx = (seed: number, extra: string): string =>
      `$PY "$W/fsx.py" "$MNT" --seed ${seed} --ops ${FSX_OPS} --direct --drop-caches --check-every 500 ${extra}`;
    const script = guestScript(net, [
      step('fsx-a', fsx(seedA as number, ''), 400),
      step('fsx-b', fsx(seedB as number, ''), 400),
      // Small file, small ops: many partial pages, page-straddling mmap windows, EOF edges.
      step('fsx-small', fsx((seedB as number) + 1, '--maxlen 20000 --maxop 3000'), 400),
      step('semantics', 'sh "$W/semantics.sh" "$MNT"', 400),
      step('gittar', `sh "$W/gittar.sh" run ${tarball} "$MNT" ${ref}`, 600),
    ]);
    guest = await runGuest(net, { script, timeoutMs: 840_000 });
    // eslint-disable-next-line no-console
    console.log(`    guest ${Math.round(guest.durationMs / 1000)} s; ${stepSummary(guest.outDir, steps)}; fsx seeds ${FSX_SEEDS.join(', ')}`);
    // eslint-disable-next-line no-console
    console.log(`    gittar phases: ${phaseTimes(readStep(guest.outDir, 'gittar').log)}`);
  });

  after(async () => {
    await server?.stop();
    await net?.destroy();
  });

  it('mounts the export with the DESIGN.md options', () => {
    assert.ok(guest, 'guest did not run');
    const rc = existsSync(join(guest.outDir, 'mount.rc')) ? readFileSync(join(guest.outDir, 'mount.rc'), 'utf8').trim() : 'none';
    const log = existsSync(join(guest.outDir, 'mount.log')) ? readFileSync(join(guest.outDir, 'mount.log'), 'utf8') : '';
    assert.strictEqual(rc, '0', `mount failed (rc ${rc}): ${log}\nserver log:\n${server?.logTail(20)}\nconsole:\n${guest.log.slice(-3000)}`);
    const mounts = readFileSync(join(guest.outDir, 'mounts.txt'), 'utf8');
    for (const opt of ['vers=3', 'hard', 'proto=tcp', 'local_lock=all']) assert.ok(mounts.includes(opt), `${opt} missing: ${mounts}`);
  });

  it(`fsx: ${FSX_OPS} random ops (pwrite/pread/truncate/mmap/O_DIRECT/drop_caches), seed ${FSX_SEEDS[0]}`, function () {
    skipUnlessSelected(this, 'fsx-a');
    assertStep(guest, 'fsx-a', server);
  });

  it(`fsx: ${FSX_OPS} random ops, seed ${FSX_SEEDS[1]}`, function () {
    skipUnlessSelected(this, 'fsx-b');
    assertStep(guest, 'fsx-b', server);
  });

  it(`fsx: ${FSX_OPS} random small ops on a file under 20 kB, seed ${(FSX_SEEDS[1] as number) + 1}`, function () {
    skipUnlessSelected(this, 'fsx-small');
    assertStep(guest, 'fsx-small', server);
  });

  it('POSIX semantics: rename, links, symlinks, modes/ownership, permissions, fifo, truncate, append, times, silly rename, readdir', function () {
    skipUnlessSelected(this, 'semantics');
    assertStep(guest, 'semantics', server);
  });

  it('tar x matches the archive (data, modes, owners, mtimes, links); git init/add/commit/fsck/repack/clone match local disk', function () {
    skipUnlessSelected(this, 'gittar');
    assertStep(guest, 'gittar', server);
  });

  it('unmounts cleanly (no busy files, no hang)', () => {
    assertStep(guest, 'umount', server);
  });

  it('the server is still running', () => {
    assert.ok(server?.running, `server exited:\n${server?.logTail(30)}`);
  });
});

/** "# phase" / "# ... took N s" pairs from gittar.sh's log, as "phase N s, ...". */
function phaseTimes(log: string): string {
  const out: string[] = [];
  let phase = '';
  for (const line of log.split('\n')) {
    const took = /^# \.\.\. took ([\d.]+) s/.exec(line);
    if (took) out.push(`${phase} ${Number(took[1]).toFixed(1)} s`);
    else if (line.startsWith('# ') && !line.startsWith('# gittar')) phase = line.slice(2);
  }
  return out.join(', ') || '-';
}
