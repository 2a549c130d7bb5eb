// Builds lmdb-js's native addon from its (patched) source, as an optimised release build.
//
// Why: lmdb-js 3.5.6 ships prebuilt binaries compiled with -O0, and their LMDB formats
// some error messages with sprintf into a 100-byte malloc; the message of a failed page
// write (ENOSPC on a full cache disk) is longer than that, a heap overflow that kills the
// process now and then ("malloc(): invalid next size"). patches/lmdb+*.patch (applied by
// patch-package just before this) bounds those messages; this compiles the result. lmdb-js
// loads build/Release/lmdb.node in preference to its prebuilds.
//
// Runs as the postinstall step, on the project's Node (scripts/link-node.mjs): the addon is
// compiled for the Node that will load it, whichever node runs npm. Skips the build when build/Release holds a binary built
// from the same source for the same Node (lmdb version, patch, Node ABI, platform).
// S3FILES_LMDB_PREBUILT=1 skips it altogether and removes an earlier build, so that lmdb-js
// loads its prebuilt binary (unpatched: see above).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linkProjectNode, projectNode } from './link-node.mjs';

const log = (message) => process.stderr.write(`build-lmdb: ${message}\n`);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// A direct dependency: npm installs it at the top of node_modules.
const lmdbDir = join(root, 'node_modules', 'lmdb');

linkProjectNode();
const pinned = projectNode();
if (pinned && process.execPath !== pinned) {
  // npm itself runs on an older node: build for the one the tests and bin/s3files use.
  const run = spawnSync(pinned, [fileURLToPath(import.meta.url)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

if (process.env.S3FILES_LMDB_PREBUILT === '1') {
  // An earlier source build would still be loaded first: remove it.
  rmSync(join(lmdbDir, 'build'), { recursive: true, force: true });
  log('S3FILES_LMDB_PREBUILT=1: using the prebuilt binary');
  process.exit(0);
}
const version = JSON.parse(readFileSync(join(lmdbDir, 'package.json'), 'utf8')).version;
const patches = readdirSync(join(root, 'patches')).filter((name) => name.startsWith('lmdb+'));
// The binary is tied to the Node ABI it was compiled against (it uses V8's API), and to the
// machine: a Node upgrade must rebuild it, not load the old one.
const stamp = createHash('sha256')
  .update(`${version} ${process.versions.modules} ${process.platform} ${process.arch} ${process.env.ENABLE_V8_FUNCTIONS ?? ''}`)
  .update(patches.map((name) => readFileSync(join(root, 'patches', name))).join('\n'))
  .digest('hex');
const stampFile = join(lmdbDir, 'build', 'Release', 's3files-build-stamp');
const binary = join(lmdbDir, 'build', 'Release', 'lmdb.node');

if (existsSync(binary) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
  log(`lmdb ${version} already built from the patched source`);
  process.exit(0);
}

// Node's own headers, where the running node was installed (/usr on Debian's package,
// /usr/local in the node images): node-gyp would otherwise download them.
const prefix = dirname(dirname(process.execPath));
const nodedirArgs = existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
const nodeGyp = findNodeGyp();
log(`building lmdb ${version} (release, patched) with ${nodeGyp}`);
try {
  execFileSync(process.execPath, [nodeGyp, 'rebuild', '--release', '-j', '2', ...nodedirArgs], {
    cwd: lmdbDir,
    stdio: 'pipe',
    maxBuffer: 64 << 20,
  });
} catch (error) {
  // The compiler's warnings are noise when it works; its output is the diagnosis when not.
  process.stderr.write(String(error.stdout ?? '') + String(error.stderr ?? ''));
  log(`the build failed (${error.message}). It needs python3, make and g++ (Debian: ` +
    'apt-get install python3 make g++). S3FILES_LMDB_PREBUILT=1 skips it.');
  process.exit(1);
}
writeFileSync(stampFile, stamp);
log(`built ${binary}`);

/** npm's own node-gyp: npm names it to scripts, and ships it beside itself. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) {
    candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const found = candidates.find((path) => path.endsWith('.js') && existsSync(path));
  if (!found) {
    log(`no node-gyp found (looked at ${candidates.join(', ')})`);
    process.exit(1);
  }
  return found;
}
